"""The gateway: the one door of untrusted remote workers (trusted side).

Remote workers hold no broker, Redis or database credentials. Each keeps one authenticated
WebSocket session with a gateway (``server``, ``sessions``); the gateway consumes from Celery
the replicas dispatch assigned to its sessions (``shardy.relay`` on its own queue, ``tasks``),
relays each order to its session and turns the answer into a replica result (``relay``), so
chords, settle and SQL stay inside the trusted zone. Several gateways can serve one cluster.
"""
