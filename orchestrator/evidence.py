"""Settle's attestation step (I/O around the pure `shardy.attestations`): resolve batch
proofs (once per batch id), judge the new attestations, apply the replay guard, and assemble
the evidence that is published with a verified result, and publish it."""

from __future__ import annotations

import functools
import json
import logging
import time

import orjson
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from shardy import attestations, statement
from shardy.attestations import BatchPart, BatchProof, BatchReceipt, Claim
from shardy.blobs import BlobRef
from shardy.celery_app import VERIFIED_STREAM, ShardyCelery
from shardy.errors import ShardyError
from shardy.orchestrator import judging, keys, precheck, reputation, signing
from shardy.orchestrator.timer import PROOF_VERIFY_SECONDS
from shardy.statement import Subject
from shardy.store import AttestationBatch, Replica, Task, Worker
from shardy.store.db import read_once

log = logging.getLogger("shardy.orchestrator")

# settle's queries, built once (building one costs about as much as running it)
_OWNERS = select(Worker.commitment, Worker.id).where(
    Worker.commitment.in_(bindparam("commitments", expanding=True))
)
_BATCHES = select(AttestationBatch).where(AttestationBatch.id.in_(bindparam("ids", expanding=True)))
_ALIASES = select(AttestationBatch.signals_hash, AttestationBatch.id).where(
    AttestationBatch.signals_hash.in_(bindparam("hashes", expanding=True))
)
_TAKEN = select(Replica.task_id, Replica.replica, Replica.commitment, Replica.signals_hash).where(
    or_(
        (Replica.task_id == bindparam("task"))
        & Replica.commitment.in_(bindparam("commitments", expanding=True)),
        Replica.signals_hash.in_(bindparam("hashes", expanding=True)),
    )
)


def judge(
    app: ShardyCelery,
    session: Session,
    task: Task,
    fresh: list[Replica],
    receipts: dict[int, BatchReceipt],
) -> tuple[list[Replica], dict[str, BatchProof]]:
    """Check the new attestations; refuse bad ones against their worker.

    Args:
        fresh: new ok replica rows, not yet written (settle writes everything at its commit).
        receipts: replica → its batch receipt (batched attestations only).

    Returns:
        The valid rows, and the batch proofs behind the fresh rows by batch id.
    """
    if not fresh:
        return [], {}
    workers = {r.worker_id: reputation.worker_row(session, r.worker_id) for r in fresh}
    batches, known, refused = _resolve(app, session, fresh, receipts)
    claims = [_claim(r, batches.get(r.batch_id), receipts.get(r.replica)) for r in fresh
              if r.replica not in refused]  # fmt: skip
    commitments = {statement.commitment_signal(r.public_signals) for r in fresh}
    commitments.update(statement.commitment_signal(b.public_signals) for b in batches.values())
    commitments.discard(None)
    owners = read_once(session, "owners", commitments, lambda wanted: dict(session.execute(
        _OWNERS, {"commitments": wanted}
    ).all()))  # fmt: skip
    bound = _pending(session, "bound")  # bound earlier in this transaction, not yet flushed
    owners.update((c, bound[c]) for c in commitments & bound.keys())
    start = time.perf_counter()
    verdicts, proven = attestations.check(
        subject(task),
        claims,
        _accepted(session),
        {wid: w.commitment for wid, w in workers.items()},
        known,
        owners,
        functools.partial(precheck.known, app.redis),
    )
    session.info.setdefault("verify_seconds", []).append(time.perf_counter() - start)
    verdicts.update(refused)
    for batch_id, reason in proven.items():
        _store_batch(session, batches[batch_id], fresh, reason)
    replayed = _replay_guard(session, task, [r for r in fresh if verdicts[r.replica] is None])
    valid = []
    for row in fresh:
        reason = verdicts[row.replica] or replayed.get(row.replica)
        if reason is None:
            valid.append(row)
            workers[row.worker_id].commitment = row.commitment  # bound on first valid proof
            bound[row.commitment] = row.worker_id
            continue
        row.proof_valid, row.verdict = False, "invalid"
        row.commitment = row.signals_hash = None
        row.error = f"attestation refused: {reason}"
        reputation.record(session, row.worker_id, status="", verdict="invalid")
        log.warning("worker %s: %s (task %s)", row.worker_id, row.error, task.id)
    return valid, batches


def _pending(session: Session, name: str) -> dict:
    """What this transaction wrote and later reads must see before it is flushed (settle
    flushes once, before its commit: `announce`): ``bound`` (commitment → worker id),
    ``batches`` (batch id → its new `AttestationBatch` row), ``attested`` (the replay
    guard's keys of accepted rows → replica)."""
    return session.info.setdefault(f"pending_{name}", {})


def _accepted(session: Session) -> dict[str, dict]:
    """`keys.accepted`, read once per session (the rounds of a collect share it)."""
    if "accepted_keys" not in session.info:
        session.info["accepted_keys"] = keys.accepted(session)
    return session.info["accepted_keys"]


def _claim(row: Replica, proof: BatchProof | None, receipt: BatchReceipt | None) -> Claim:
    """A fresh row's claim: its own proof, or its batch's proof and its place in the batch."""
    if proof is None or receipt is None:
        return Claim(row.worker_id, row.digest, row.key_id, row.proof, row.public_signals,
                     replica=row.replica, round=row.round)  # fmt: skip
    return Claim(row.worker_id, row.digest, proof.key_id, proof.proof, proof.public_signals,
                 batch=receipt.part, replica=row.replica, round=row.round)  # fmt: skip


def subject(task: Task) -> Subject:
    """What the task's replicas attest to, from its row (`shardy.statement`)."""
    return Subject(task.id, task.seed, task.output_len, task.kernel, dict(task.params or {}),
                   task.payload_sha256)  # fmt: skip


def _resolve(app, session, fresh, receipts):
    """Batch proofs behind the fresh rows: from the table (verified before) or the blob store.

    Returns (batches by id, verdicts already recorded by batch id, refused replicas).
    """
    batches: dict[str, BatchProof] = {}
    known: dict[str, str | None] = {}
    refused: dict[int, str] = {}
    ids = {r.part.id for r in receipts.values()}
    stored = read_once(session, "batches", ids, lambda wanted: {b.id: b for b in session.scalars(
        _BATCHES, {"ids": wanted}
    )})  # fmt: skip
    new = _pending(session, "batches")
    stored.update((i, new[i]) for i in ids & new.keys())
    fetched = _fetch(app, [r for r in receipts.values() if r.part.id not in stored])
    for row in fresh:
        receipt = receipts.get(row.replica)
        if receipt is None:
            continue
        part = receipt.part
        claimed = (part.id, part.root, part.size, row.key_id)
        batch = batches.get(part.id) or _load(stored, receipt, known, fetched)
        if receipt.key_id != row.key_id:
            refused[row.replica] = "the replica names another key than its batch receipt"
        elif batch is None:
            refused[row.replica] = "batch proof is missing or malformed"
        elif (batch.id, batch.root, batch.size, batch.key_id) != claimed:
            refused[row.replica] = "batch proof re-used for a different batch, root or key"
        else:
            batches[batch.id] = batch
            row.public_signals = batch.public_signals
    for batch_id in _aliases(session, [b for b in batches.values() if b.id not in stored]):
        del batches[batch_id]  # one bad batch is refused; the rest of the settle goes on
        for row in fresh:
            if row.batch_id == batch_id:
                refused[row.replica] = "batch statement already recorded under another batch id"
    return batches, known, refused


def _aliases(session: Session, new: list[BatchProof]) -> set[str]:
    """Ids of new batches whose statement is recorded under another id already."""
    hashes: dict[str, str] = {}
    for b in new:
        try:
            hashes[attestations.signals_hash(b.public_signals)] = b.id
        except TypeError:  # malformed signals: the check refuses them later
            continue
    if not hashes:
        return set()
    taken = session.execute(_ALIASES, {"hashes": list(hashes)}).all()
    taken += [(b.signals_hash, b.id) for b in _pending(session, "batches").values()
              if b.signals_hash in hashes]  # fmt: skip
    return {hashes[h] for h, owner in taken if owner != hashes[h]}


def _fetch(app, receipts: list[BatchReceipt]) -> dict[tuple[str, int], bytes | ShardyError]:
    """The stored batch proofs these receipts name, read in one round trip: by (sha256, size),
    the bytes or why they could not be read."""
    refs = list({(r.proof_sha256, r.proof_size) for r in receipts})
    try:
        blobs: list = app.blobs.get_many([BlobRef(sha, size) for sha, size in refs])
    except ShardyError as exc:  # Redis unreadable: each batch is unusable, as one read fails
        blobs = [exc] * len(refs)
    return dict(zip(refs, blobs, strict=True))


def _load(stored_batches, receipt: BatchReceipt, known, fetched) -> BatchProof | None:
    stored = stored_batches.get(receipt.part.id)
    if stored is not None:
        known[stored.id] = None if stored.valid else stored.reason
        return BatchProof(
            stored.id, stored.root, stored.size, stored.key_id, stored.proof, stored.public_signals
        )
    try:
        data = fetched[receipt.proof_sha256, receipt.proof_size]
        if isinstance(data, ShardyError):
            raise data
        return BatchProof.from_json(orjson.loads(data))
    except (ShardyError, ValueError, orjson.JSONDecodeError) as exc:
        log.warning("batch %s unusable: %s", receipt.part.id, exc)
        return None


def _store_batch(session, batch: BatchProof, fresh, reason: str | None) -> None:
    """Record a batch proof's verdict once; later replicas of the batch reuse it."""
    worker = next(r.worker_id for r in fresh if r.batch_id == batch.id)
    _pending(session, "batches")[batch.id] = row = AttestationBatch(
            id=batch.id,
            worker_id=worker,
            commitment=str(batch.public_signals[-1]),
            root=batch.root,
            size=batch.size,
            key_id=batch.key_id,
            proof=batch.proof,
            public_signals=batch.public_signals,
            signals_hash=attestations.signals_hash(batch.public_signals),
            valid=reason is None,
            reason=reason,
        )  # fmt: skip
    session.add(row)


def _replay_guard(session: Session, task: Task, rows: list[Replica]) -> dict[int, str]:
    """The replay guard: one accepted attestation per (task, commitment) and per statement
    (a replica's signals, or a batch's signals and leaf index), in one query.

    Marks each row that holds its keys accepted (unique keys set; the table's unique
    constraints back this up at the commit); returns the refused rows' reasons by replica.
    """
    keys = {}
    for row in rows:
        signals = row.public_signals
        if row.batch_id is not None:
            signals = [*signals, f"leaf:{row.batch_index}"]
        keys[row.replica] = (str(row.public_signals[-1]), attestations.signals_hash(signals))
    if not keys:
        return {}
    commitments = {c for c, _ in keys.values()}
    hashes = {h for _, h in keys.values()}
    taken_by: dict[tuple[str, str], int] = {}  # ("c", commitment) / ("h", hash) → replica
    for task_id, replica, commitment, digest in session.execute(
        _TAKEN, {"task": task.id, "commitments": list(commitments), "hashes": list(hashes)}
    ):
        if task_id == task.id and commitment is not None:
            taken_by.setdefault(("c", commitment), replica)
        if digest is not None:
            taken_by.setdefault(("h", digest), replica)
    attested = _pending(session, "attested")  # accepted earlier in this transaction
    for c in commitments:
        if (key := ("c", task.id, c)) in attested:
            taken_by.setdefault(("c", c), attested[key])
    for h in hashes:
        if ("h", h) in attested:
            taken_by.setdefault(("h", h), attested["h", h])
    refused = {}
    for row in rows:
        commitment, digest = keys[row.replica]
        clash = taken_by.get(("c", commitment), taken_by.get(("h", digest)))
        if clash is not None:
            refused[row.replica] = f"replay of the attestation already accepted for replica {clash}"
            continue
        row.proof_valid, row.commitment, row.signals_hash = True, commitment, digest
        taken_by[("c", commitment)] = taken_by[("h", digest)] = row.replica
        attested["c", task.id, commitment] = attested["h", digest] = row.replica
    return refused


def published(session: Session, rows: list[Replica], batches: dict[str, BatchProof]) -> list[dict]:
    """The agreeing attestations among a task's ``rows``, as peers re-verify them (the JSON
    form of each `Claim`); ``batches`` are batch proofs at hand (others are read)."""
    agreeing = [r for r in rows if r.verdict == "agree"]
    found = dict(batches)
    missing = {r.batch_id for r in agreeing if r.batch_id is not None} - found.keys()
    new = _pending(session, "batches")
    for b in (new[i] for i in missing & new.keys()):
        found[b.id] = BatchProof(b.id, b.root, b.size, b.key_id, b.proof, b.public_signals)
    missing -= found.keys()
    if missing:
        for b in session.scalars(select(AttestationBatch).where(AttestationBatch.id.in_(missing))):
            found[b.id] = BatchProof(b.id, b.root, b.size, b.key_id, b.proof, b.public_signals)
    claims = (_published_claim(r, found) for r in agreeing)
    return [c.to_json() for c in claims if c is not None]


def _published_claim(row: Replica, batches: dict[str, BatchProof]) -> Claim | None:
    if row.batch_id is None:
        return Claim(row.worker_id, row.digest, row.key_id, row.proof, row.public_signals or [],
                     replica=row.replica, round=row.round)  # fmt: skip
    b = batches.get(row.batch_id)
    if b is None:  # judged valid, so recorded: only a damaged table gets here
        log.error("batch %s of an agreeing replica is not recorded", row.batch_id)
        return None
    steps = tuple((bool(left), str(sibling)) for left, sibling in row.batch_path or [])
    part = BatchPart(b.id, row.batch_index, b.size, b.root, steps)
    return Claim(row.worker_id, row.digest, b.key_id, b.proof, b.public_signals, batch=part,
                 replica=row.replica, round=row.round)  # fmt: skip


def publish(
    app: ShardyCelery,
    session: Session,
    task: Task,
    rows: list[Replica],
    batches: dict[str, BatchProof],
    tolerance: bool,
) -> None:
    """Prepare the announcement of a verified task on the verified stream, once
    (``tolerance``: it was decided within the kernel's tolerance); `announce` adds it inside
    settle's transaction.

    The entry is signed with the orchestrator's key (`orchestrator.signing`), with the
    enrolled commitment and voter of each agreeing worker, so gossip peers can tell it from a
    forgery.
    """
    if task.published:
        return
    task.published = True
    fields = {
        "task_id": task.id,
        "kernel": task.kernel,
        "seed": str(task.seed),
        "output_len": str(task.output_len),
        "params": json.dumps(task.params or {}, sort_keys=True, separators=(",", ":")),
        "payload_sha256": task.payload_sha256,
        "tolerance": "1" if tolerance else "0",
        "digest": task.digest or "",
        "quorum": str(task.quorum),
        "agreeing": str(task.agreeing),
        "attestations": json.dumps(published(session, rows, batches)),
    }
    enrolled = [(r.commitment, judging.voter(app, session, r.worker_id)) for r in rows
                if r.verdict == "agree" and r.commitment]  # fmt: skip
    fields.update(signing.sign_entry(app, fields, enrolled))
    session.info.setdefault("announcements", []).append(fields)


def announce(app: ShardyCelery, session: Session) -> None:
    """Flush every write of settle's transaction, then add the entries `publish` prepared
    to the verified stream (one pipeline), before the commit.

    A write that fails (the replay guard's unique keys included, and the marks that the tasks
    are published) stops the announcements. If the commit fails, settle runs again and an
    entry may appear twice (readers key on the task id), but it is never missing."""
    session.flush()
    entries = session.info.pop("announcements", [])
    timings = session.info.pop("verify_seconds", [])  # the rounds' attestation checks
    if not entries:  # the timings alone, best effort
        PROOF_VERIFY_SECONDS.observe_many(timings, app.redis)
        return
    pipe = app.redis.pipeline(transaction=True)  # the histogram's fields change together
    for fields in entries:
        pipe.xadd(VERIFIED_STREAM, fields, maxlen=100_000, approximate=True)
    PROOF_VERIFY_SECONDS.stage_many(pipe, timings)  # in the same round trip
    replies = pipe.execute(raise_on_error=False)
    for reply in replies[: len(entries)]:
        if isinstance(reply, Exception):
            raise reply
    if any(isinstance(reply, Exception) for reply in replies[len(entries) :]):
        log.warning("could not record %d proof verification timings", len(timings))
