"""Known-answer spot checks: tasks whose answer the orchestrator computed itself.

With SHARDY_SPOT_CHECK_RATE > 0, dispatch adds to a submission, per task and at that rate,
a copy of one of its tasks (the same kernel, params, seed and payload) whose output it has
computed with the kernel's numpy reference, sent among them in random order. The copy
travels like any task (R replicas to workers routing picks, the same order frames but for
the task id), so a worker that gets one of the two cannot know which carries the known
answer. Settle judges every vote against it, no quorum needed: a wrong answer is a fault on
its own (`shardy.orchestrator.standing`: quarantine), and a failed replica counts as a fault
(else a worker could decline what it suspects is a check at no cost).

Only exact built-in kernels are checked: float kernels agree within a tolerance, and a
shipped kernel carries no reference.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from shardy.errors import KernelError
from shardy.kernels import Kernel

log = logging.getLogger("shardy.orchestrator")


def checkable(kernel: Kernel) -> bool:
    """Whether spot checks can use ``kernel`` (exact, built in, with a numpy reference)."""
    return kernel.spec is None and kernel.determinism.mode == "exact"


def known_answer(kernel: Kernel, data: bytes, params: Mapping[str, Any], seed: int) -> str | None:
    """The digest (sha256 of the output bytes) the kernel must produce for ``data``, or None
    when its reference cannot say (then no check is sent: a wrong expectation would punish
    honest workers)."""
    try:
        plan = kernel.make_plan(len(data), params, seed)
        out = np.ascontiguousarray(kernel.reference(data, params, seed), dtype=plan.dtype)
    except (KernelError, ValueError, TypeError) as exc:
        log.info("no spot check for %s: its reference cannot answer (%s)", kernel.name, exc)
        return None
    if out.nbytes != plan.output_len:
        log.warning("no spot check for %s: its reference gives %d bytes, the plan %d",
                    kernel.name, out.nbytes, plan.output_len)  # fmt: skip
        return None
    return hashlib.sha256(out.tobytes()).hexdigest()


class Check(NamedTuple):
    """One spot check: the payload, the digest the kernel must produce, and the index of the
    submitted task it copies (whose result the check's answer then confirms)."""

    data: bytes
    digest: str
    original: int


def draw(
    kernel: Kernel,
    params: Mapping[str, Any],
    seed: int,
    payloads: Sequence[bytes | memoryview],
    rate: float,
    rng: random.Random | None = None,
) -> list[Check]:
    """The spot checks for a submission of ``payloads``: about ``rate`` per task, each an
    exact copy of one of the submission's payloads with the digest it must produce."""
    if rate <= 0 or not payloads or not checkable(kernel):
        return []
    rng = rng or random.SystemRandom()
    out = []
    for _ in range(sum(rng.random() < rate for _ in payloads)):
        index = rng.randrange(len(payloads))
        data = bytes(payloads[index])
        digest = known_answer(kernel, data, params, seed)
        if digest is None:
            return []
        out.append(Check(data, digest, index))
    return out


def twin(checks: list[Check], tasks: list[Any]) -> None:
    """Link each checked task to its known-answer copy: ``tasks`` are the submission's rows
    followed by the checks' (in ``checks`` order). The link rides in the original's
    assurance (``spot_twin``: the copy's id and answer) until settle judges it."""
    base = len(tasks) - len(checks)
    for j, check in enumerate(checks):
        original = tasks[check.original]
        if original.assurance is None:
            original.assurance = {"spot_twin": {"task": tasks[base + j].id,
                                                "digest": check.digest}}  # fmt: skip


def confirmation(task: Any, digest: str | None) -> dict[str, Any] | None:
    """Whether a verified result equals the answer of its known-answer copy: ``{"task": the
    copy's id, "agrees": bool}``, or None when no copy of it was sent."""
    found = (task.assurance or {}).get("spot_twin")
    if not isinstance(found, dict):
        return None
    agrees = found.get("digest") == digest
    if not agrees:
        log.error("task %s verified %s, but the kernel's own reference gives %s (its spot "
                  "check %s): the agreeing voters may collude", task.id, digest,
                  found.get("digest"), found.get("task"))  # fmt: skip
    return {"task": found.get("task"), "agrees": agrees}
