"""A submission checked whole before anything of it is stored or sent (`dispatch_many`): its
seed, kernel and params, R and quorum, and each payload's size and plan."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from shardy.celery_app import ShardyCelery
from shardy.config import quorum_for
from shardy.errors import ConfigError, KernelError, PayloadError
from shardy.kernels import catalog
from shardy.kernels.shipped import WgslKernel

#: Seeds are recorded in a signed 64-bit column: 0 <= seed < SEED_LIMIT.
SEED_LIMIT = 1 << 63


class Submission(NamedTuple):
    """A checked submission: its kernel, resolved params, seed, (R, quorum), and each
    payload's bytes with its plan, in order."""

    kernel: Any
    params: dict
    seed: int
    replication: tuple[int, int]
    datas: list[memoryview]
    plans: list[Any]


def check(
    app: ShardyCelery,
    kernel: str | WgslKernel,
    payloads: Sequence[bytes | bytearray | memoryview | Mapping[str, Any]],
    seed: Any,
    output_len: int | None,
    params: Mapping[str, Any] | None,
    redundancy: int | None,
    quorum: int | None,
) -> Submission:
    """Check a submission (see `dispatch_many` for what raises which error). A `WgslKernel`
    is recorded here (`catalog.save`); inputs by name are packed by its typed layout."""
    s = app.settings
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise KernelError(f"seed must be an int in [0, 2**63), got {seed!r:.60}")
    seed = int(seed)  # a numpy integer too
    if not 0 <= seed < SEED_LIMIT:  # a BIGINT column holds it
        raise KernelError(f"seed must be an int in [0, 2**63), got {seed}")
    shipped = isinstance(kernel, WgslKernel)
    k = catalog.save(app, kernel) if shipped else catalog.lookup(app, kernel)  # type: ignore[arg-type]
    resolved = k.resolve_params(params)
    r, q = replication(s, redundancy, quorum)
    datas, plans = [], []
    for payload in payloads:
        if isinstance(payload, Mapping):
            if k.spec is None:
                raise KernelError("inputs by name need a WgslKernel; pass the payload as bytes")
            size = k.spec.offsets(resolved)[1]
            if size > s.max_payload:
                raise PayloadError(
                    f"inputs of {size} bytes exceed SHARDY_MAX_PAYLOAD={s.max_payload}; "
                    "split them over several tasks or raise the limit"
                )
            payload = k.spec.pack(payload, resolved)
        try:
            data = memoryview(payload).cast("B")  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise PayloadError(
                f"a payload must be bytes-like (bytes, memoryview, a numpy array) or, for a "
                f"WgslKernel, its inputs by name; got {type(payload).__name__}"
            ) from exc
        if len(data) > s.max_payload:
            raise PayloadError(
                f"payload of {len(data)} bytes exceeds SHARDY_MAX_PAYLOAD={s.max_payload}; "
                "split it with shardy.map or raise the limit"
            )
        plan = k.make_plan(len(data), resolved, seed)
        if output_len is not None and output_len != plan.output_len:
            raise KernelError(
                f"kernel {k.name!r} produces {plan.output_len} bytes for this payload; "
                f"output_len={output_len} was given (omit it or fix it)"
            )
        if plan.output_len > s.max_output:
            raise PayloadError(f"output of {plan.output_len} bytes exceeds SHARDY_MAX_OUTPUT")
        datas.append(data)
        plans.append(plan)
    return Submission(k, resolved, seed, (r, q), datas, plans)


def replication(s: Any, redundancy: int | None, quorum: int | None) -> tuple[int, int]:
    """(R, quorum) of a submission, checked."""
    r = redundancy if redundancy is not None else s.redundancy_factor
    if r < 1:
        raise ConfigError(f"redundancy must be >= 1, got {r}")
    if quorum is None and r == s.redundancy_factor:
        quorum = s.quorum  # SHARDY_QUORUM belongs to SHARDY_REDUNDANCY_FACTOR
    q = quorum_for(r, quorum)  # unset: a strict majority of r
    if not 1 <= q <= r:
        raise ConfigError(f"quorum must be between 1 and redundancy={r}, got {q}")
    return r, q
