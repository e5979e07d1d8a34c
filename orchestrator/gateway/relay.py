"""Relaying one replica (in a Celery pool thread of the gateway): send the order to the
assignee's session (payload inline up to one `shardy.session.CHUNK`; larger, read from the blob
store and sent in ``order_chunk`` messages one chunk at a time, never held whole here), and
turn its answer into a replica result the trusted side vouches for: the worker id is the
session's, the output is stored here and its sha256 is the digest, and a batch proof is stored
here (its sha256 checked against the receipt).

A session that is gone gets ``SHARDY_SESSION_GRACE`` seconds to come back, once; then the
replica goes to another live remote worker (the assignment row follows it), at most
`MAX_REASSIGN` times, or comes back ``skipped`` for settle to replace. Every path is bounded:
a worker that reconnects on every order, or never reads, cannot keep a replica out of its
round. Nothing a worker sends names a replica it does not hold. A replica dispatch could not
assign (fewer distinct live workers than R and no fleet worker to take it from the shared
queue) comes here unassigned and waits, with backoff, about a minute for an eligible remote
worker (one restarting, say) before it is handed back.

The common case (the assignee's session open, the payload inline, the kernel registered) is
`_direct`: this thread hands the order to the loop and waits once; whether the task was
decided meanwhile, and the storing of the answer, go to Redis in the gateway's batches
(`shardy.orchestrator.gateway.batch`) with other relays' commands. A grouped relay
(`shardy.orchestrator.gateway.many`) takes the same path in two halves, `start_direct` for
every order of its group and then `finish_direct` for each.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from shardy import arrivals, deadletter, routing
from shardy import session as wire
from shardy.blobs import BlobRef
from shardy.errors import BlobError, BlobNotFound, GatewayError, PayloadError
from shardy.kernels.catalog import blob_loader
from shardy.kernels.shipped import PREFIX, is_shipped
from shardy.messages import ReplicaOrder, ReplicaResult
from shardy.orchestrator import homogeneous
from shardy.orchestrator.gateway import answers, handoff
from shardy.orchestrator.gateway.server import Gateway
from shardy.orchestrator.gateway.sessions import Session, SessionLost
from shardy.store import Assignment, Task

log = logging.getLogger("shardy.gateway")

#: The most workers a replica goes to after its first assignee is lost.
MAX_REASSIGN = 3
#: Tries of an unassigned replica to find an eligible remote worker (backoff 0.25 s .. 5 s).
UNASSIGNED_TRIES = 16


class Reassign(Exception):  # noqa: N818 - a control-flow signal, like Celery's Retry
    """Send the replica, with a new assignee, to the gateway queue that serves it."""

    def __init__(self, frame: bytes, queue: str, reassigned: int) -> None:
        super().__init__(queue)
        self.frame = frame
        self.queue = queue
        self.reassigned = reassigned


class Retry(Exception):  # noqa: N818
    """Ask the Celery task to try the same assignee again after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(countdown)
        self.countdown = countdown


def relay(gw: Gateway, frame: bytes, attempt: int = 0, reassigned: int = 0) -> dict[str, Any]:
    """Relay one order; returns its `ReplicaResult` as a dict. Raises only `Reassign` and
    `Retry` (the Celery task re-publishes then).

    Args:
        attempt: sends of this order to its current assignee before this one.
        reassigned: how often the replica went to another worker already.
    """
    order = ReplicaOrder.decode(frame)  # our own dispatch's frame
    s = gw.settings
    session = direct_session(gw, order)  # open now, and nothing to read first
    if session is not None:
        return _direct(gw, order, frame, session, attempt, reassigned)
    if gw.app.redis.exists(arrivals.decided_key(order.task_id)):  # an early quorum decided it
        return ReplicaResult.decided(order, order.assignee)
    if order.assignee is None:  # no distinct worker was live at dispatch: wait for one
        return _elsewhere(gw, order, "no distinct worker was live", reassigned, attempt)
    session = gw.sessions.wait_for(order.assignee, s.session_grace)
    if session is None:
        return _elsewhere(gw, order, "its session did not come back", reassigned)
    try:
        ref, pieces = order.payload, ()
        streams = session.protocol >= 2 and wire.chunk_count(ref.size) > 0
        if ref.inline is None and not streams:  # fits one message (or an old worker's way)
            ref = BlobRef(ref.sha256, ref.size, gw.app.blobs.get(ref))
        elif ref.inline is None:  # read chunk by chunk as they are sent (checked at the end);
            reader = gw.app.blobs.chunks(ref, wire.CHUNK)  # the first before the header: a
            pieces = itertools.chain([next(reader)], reader)  # missing blob sends nothing
        spec = None
        if is_shipped(order.kernel):  # the worker never saw it: it travels with the order
            spec = blob_loader(gw.app.redis)(order.kernel[len(PREFIX) :])
            if spec is None:
                raise BlobNotFound(f"shipped kernel {order.kernel[5:17]} is not in the store")
        out = replace(order, payload=ref, kernel_spec=spec, with_order_hash=True)
        key = (order.task_id, order.round, order.replica)
        started = time.perf_counter()
        messages = wire.order_messages(out, pieces) if streams else [out.encode()]
        answer = gw.sessions.call(session, key, messages, order.output_len,
                                  float(s.task_time_limit))  # fmt: skip
    except SessionLost as exc:
        return _lost(gw, order, exc, attempt, reassigned)
    except (BlobError, PayloadError) as exc:
        return _dead(gw, order, frame, f"payload or kernel unavailable: {exc}", attempt)
    if isinstance(answer, wire.Failure):
        return _failed(gw, order, frame, session.worker_id, answer, attempt)
    try:
        return answers.accept(gw, order, frame, session.worker_id, answer,
                              time.perf_counter() - started)  # fmt: skip
    except GatewayError as exc:  # the answer is malformed: it does not count, the worker pays
        return _refuse(gw, order, session.worker_id, exc)


def direct_session(gw: Gateway, order: ReplicaOrder) -> Session | None:
    """The assignee's open session when ``order`` can take `_direct` (the common case: the
    session open, the payload inline, nothing to read first), else None."""
    ref = order.payload
    if order.assignee is None or ref.inline is None or wire.chunk_count(ref.size):
        return None
    session = gw.sessions.get(order.assignee)
    if session is None or session.closed or is_shipped(order.kernel):
        return None
    return session


@dataclass(frozen=True)
class Sent:
    """An order `start_direct` handed to its session; `finish_direct` waits for it."""

    order: ReplicaOrder
    frame: bytes
    session: Session
    reply: handoff.Reply
    started: float


def _direct(
    gw: Gateway,
    order: ReplicaOrder,
    frame: bytes,
    session: Session,
    attempt: int,
    reassigned: int,
) -> dict[str, Any]:
    """`relay` when the assignee's session is open and the order needs nothing read first
    (the common case): whether the task was decided, the send, the answer and its storage
    run on the gateway's loop and Redis batches while this thread waits once."""
    return finish_direct(gw, start_direct(gw, order, frame, session), attempt, reassigned)


def start_direct(gw: Gateway, order: ReplicaOrder, frame: bytes, session: Session) -> Sent:
    """`_direct`'s first half: hand the order to the loop (returns at once)."""
    started = time.perf_counter()

    def then(answer: Any) -> handoff.Staged | None:
        if isinstance(answer, wire.Failure):
            return None
        return answers.staged(
            gw, order, frame, session.worker_id, answer, time.perf_counter() - started
        )

    around = handoff.Around(skip_if=arrivals.decided_key(order.task_id), then=then)
    out = replace(order, with_order_hash=True)
    key = (order.task_id, order.round, order.replica)
    reply = gw.sessions.start(session, key, [out.encode()], order.output_len,
                              float(gw.settings.task_time_limit), around)  # fmt: skip
    return Sent(order, frame, session, reply, started)


def finish_direct(
    gw: Gateway,
    sent: Sent,
    attempt: int,
    reassigned: int,
    *,
    deadline: float | None = None,
    grace: bool = True,
) -> dict[str, Any]:
    """`_direct`'s second half: wait for the answer (until ``deadline``, a `time.monotonic`
    time; default the task time limit and a margin) and make the replica's result of it.
    Raises `Retry` and `Reassign` as `relay` does; without ``grace`` a lost session raises
    `Retry` at once (the relay sent again waits for the session to come back)."""
    order, session = sent.order, sent.session
    key = (order.task_id, order.round, order.replica)
    if deadline is None:
        deadline = time.monotonic() + gw.settings.task_time_limit + 35
    try:
        answer = gw.sessions.wait(session, key, sent.reply, deadline - time.monotonic())
    except SessionLost as exc:
        if not grace:
            log.warning("%s: %s", order.summary(), exc)
            raise Retry(0.0) from None
        return _lost(gw, order, exc, attempt, reassigned)
    except answers.Unstored as exc:
        raise exc.cause from None  # as when it was stored in this thread
    except GatewayError as exc:  # the answer is malformed: it does not count, the worker pays
        return _refuse(gw, order, session.worker_id, exc)
    if answer is handoff.SKIPPED:  # an early quorum decided it
        return ReplicaResult.decided(order, order.assignee)
    if isinstance(answer, wire.Failure):
        return _failed(gw, order, sent.frame, session.worker_id, answer, attempt)
    return answer


def _lost(
    gw: Gateway, order: ReplicaOrder, exc: SessionLost, attempt: int, reassigned: int
) -> dict[str, Any]:
    """The assignee's session was lost with the order: if it comes back within the grace,
    send it the order again (once, raising `Retry`), else the replica goes elsewhere."""
    log.warning("%s: %s", order.summary(), exc)
    if attempt == 0 and gw.sessions.wait_for(order.assignee or "", gw.settings.session_grace):
        raise Retry(0.0) from None
    return _elsewhere(gw, order, str(exc), reassigned)


def _failed(
    gw: Gateway, order: ReplicaOrder, frame: bytes, worker_id: str, answer: Any, attempt: int
) -> dict[str, Any]:
    """The worker reported a failure: dead-lettered when permanent or out of retries, else
    retried with backoff (raising `Retry`)."""
    s = gw.settings
    if answer.permanent or attempt >= s.retry_max:
        return _dead(gw, order, frame, f"{worker_id}: {answer.error}", attempt)
    raise Retry(min(s.backoff_max, s.backoff_base * 2**attempt))


def _refuse(gw: Gateway, order: ReplicaOrder, worker_id: str, refused: GatewayError) -> dict:
    gw.sessions.run(lambda: _close(gw, worker_id, refused))
    return ReplicaResult("failed", order.task_id, order.replica, worker_id=worker_id,
                         error=f"refused at the gateway: {refused}").to_dict()  # fmt: skip


async def _close(gw: Gateway, worker_id: str, exc: GatewayError) -> None:
    from shardy.orchestrator.gateway.sessions import close

    s = gw.sessions.get(worker_id)
    if s is not None:
        await close(s, exc.code, str(exc))


def _elsewhere(
    gw: Gateway, order: ReplicaOrder, why: str, reassigned: int, waited: int | None = None
) -> dict[str, Any]:
    """Give the replica to another live remote worker, or hand it back to settle. An
    unassigned replica (``waited``: its tries so far) waits for one with backoff, about a
    minute in all, before it is handed back."""
    if reassigned >= MAX_REASSIGN:
        log.warning("%s: %s; reassigned %d times, handed back", order.summary(), why, reassigned)
        return ReplicaResult("skipped", order.task_id, order.replica, worker_id=order.assignee,
                             error=f"{why}; handed back after {reassigned} reassignments"
                             ).to_dict()  # fmt: skip
    with gw.app.store.session() as session:
        row = session.get(Assignment, (order.task_id, order.round, order.replica))
        taken = set(session.scalars(select(Assignment.worker_id).where(
            Assignment.task_id == order.task_id, Assignment.round == order.round)))  # fmt: skip
        live = routing.live_workers(gw.app.redis)
        gone = taken | set(order.exclude) | {order.assignee}
        # no orders for quarantined voters; a homogeneous task stays on its platform
        pool = [w for w in routing.eligible(gw.app.redis, live).values()
                if w.kind == "remote" and w.worker_id not in gone]  # fmt: skip
        task = session.get(Task, order.task_id)
        if task is not None and task.platform is not None:
            same = homogeneous.members(gw.app, task.platform, [w.worker_id for w in pool],
                                       session)  # fmt: skip
            pool = [w for w in pool if w.worker_id in same]
        voters = {w.voter for w in live.values() if w.worker_id in gone}
        chosen = routing.choose(pool, routing.load(gw.app.redis, [w.worker_id for w in pool]),
                                1, avoid_voters=voters)  # fmt: skip
        if not chosen and waited is not None and waited < UNASSIGNED_TRIES and row is not None:
            raise Retry(min(5.0, 0.25 * 2**waited))
        if row is None or not chosen or row.worker_id != order.assignee:
            log.warning("%s: %s; no other remote worker takes it", order.summary(), why)
            return ReplicaResult(
                "skipped",
                order.task_id,
                order.replica,
                worker_id=order.assignee,
                error=f"{why}; reassign",
            ).to_dict()
        new = chosen[0]
        row.worker_id = new.worker_id
    key = routing.assignment_key(order.task_id, order.round, order.replica)
    routing.untrack(gw.app.redis, [(order.assignee or "", key)])
    routing.track(gw.app.redis, [(new.worker_id, key)], time.time() + gw.settings.task_time_limit)
    log.warning("%s: %s; reassigned to %s", order.summary(), why, new.worker_id)
    raise Reassign(replace(order, assignee=new.worker_id).encode(), new.queue, reassigned + 1)


def _dead(gw: Gateway, order: ReplicaOrder, frame: bytes, reason: str, attempt: int) -> dict:
    entry = deadletter.new_entry("replica", reason, task_id=order.task_id,
                                 replica=order.replica, worker_id=order.assignee,
                                 attempts=attempt + 1, frame=frame)  # fmt: skip
    deadletter.publish(gw.app, entry)
    log.error("dead-lettered %s: %s", order.summary(), reason)
    return ReplicaResult("failed", order.task_id, order.replica, worker_id=order.assignee,
                         attempts=attempt + 1, error=reason,
                         dead_letter_id=entry["id"]).to_dict()  # fmt: skip
