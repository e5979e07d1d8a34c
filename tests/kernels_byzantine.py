"""Test-only: makes this worker Byzantine for `histogram` (every non-empty bin counts one more)."""

from dataclasses import replace

from shardy.kernels import registry

_honest = registry.get("histogram")
_source = _honest.source().replace(
    "atomicAdd(&bins[lid], total)", "atomicAdd(&bins[lid], select(total, total + 1u, total > 0u))"
)
assert _source != _honest.source(), "the histogram shader changed; update the Byzantine patch"
registry.register(replace(_honest, source_override=_source), replace=True)
