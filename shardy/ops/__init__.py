"""Operator tools: the `shardy` CLI, the local cluster, the demo, Flower, status views, the
metrics exporter, the configuration page generator, PNG output. Tools may import the wings
(`shardy.orchestrator`, `shardy.workers`); the core never imports tools."""
