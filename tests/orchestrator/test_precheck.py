"""The prechecker (`shardy.orchestrator.precheck`): fresh proofs are verified before their
settle, and a sender holding Redis credentials can neither make settle skip the check of a
bad proof (forged or moved tags) nor stop the prechecker (junk notes)."""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
from cluster_support import make_settings
from proof_support import batch_proof, replica_proof

from shardy import attestations, merkle, prechecks, zk
from shardy.attestations import BatchPart, BatchProof, Claim
from shardy.blobs import BlobRef
from shardy.celery_app import ShardyCelery
from shardy.embedded import EmbeddedRedis
from shardy.keyring import default_build
from shardy.orchestrator import keys, precheck
from shardy.orchestrator.precheck import Prechecker
from shardy.statement import Subject
from shardy.zk import load_circuit, new_worker_secret

SECRET = new_worker_secret()
WORKER = "w@test"


@pytest.fixture(scope="module")
def circuit():
    return load_circuit(default_build())


@pytest.fixture
def app(home) -> Iterator[ShardyCelery]:
    """An app on its own embedded Redis and SQLite (the keys seeded), with no workers."""
    settings = make_settings(home)
    with EmbeddedRedis(settings):
        app = ShardyCelery(settings)
        keys.active_key(app)
        yield app
        app.redis.close()
        app.store.close()


def one_replica_batch(app, circuit, *, valid: bool = True) -> tuple[Subject, Claim, BlobRef]:
    """A batch of one replica, its proof stored as a worker stores it; ``valid=False``: the
    proof's pi_a is another genuine proof's, so its signals are right but it fails."""
    subject = Subject(str(uuid.uuid4()), 3, 1024, "histogram", {}, "ab" * 32)
    digest = os.urandom(32).hex()
    leaves = [subject.leaf(circuit.statement, digest, 1, 0)]
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    proof, signals = batch_proof(circuit, batch_id, 1, root, SECRET)
    if not valid:
        other, _ = batch_proof(circuit, str(uuid.uuid4()), 1, root, SECRET)
        proof = {**proof, "pi_a": other["pi_a"]}
    kid = keys.active_key(app)
    ref = app.blobs.put(orjson.dumps(BatchProof(batch_id, root, 1, kid, proof, signals).to_json()),
                        inline=False)  # fmt: skip
    part = BatchPart(batch_id, 0, 1, root, ())
    claim = Claim(WORKER, digest, kid, proof, signals, batch=part, replica=0, round=1)
    return subject, claim, ref


def note(app, claim: Claim, ref: BlobRef) -> bytes:
    pipe = app.redis.pipeline()
    prechecks.announce(pipe, claim.key_id, ref=ref)
    pipe.execute()
    return app.redis.lpop(prechecks.NOTES_KEY)


def note_again(app, claim: Claim, ref: BlobRef) -> None:
    """Note the claim's batch proof for a running prechecker."""
    pipe = app.redis.pipeline()
    prechecks.announce(pipe, claim.key_id, ref=ref)
    pipe.execute()


def wait_until(done, deadline: float, failure: str) -> None:
    while not done():
        assert time.monotonic() < deadline, failure
        time.sleep(0.02)


def judged(app, subject: Subject, claim: Claim) -> str | None:
    """Settle's verdict on the claim (`attestations.check`, with the prechecker's tags)."""
    with app.store.read() as session:
        accepted = keys.accepted(session)
    verdict, _ = attestations.check(
        subject, [claim], accepted, {WORKER: None},  # its commitment not yet bound
        prechecked=functools.partial(precheck.known, app.redis),
    )  # fmt: skip
    return verdict[claim.replica]


def test_a_noted_proof_is_verified_once_and_settle_skips_its_pairings(app, circuit, monkeypatch):
    subject, claim, ref = one_replica_batch(app, circuit)
    checker = Prechecker(app)
    raw = note(app, claim, ref)
    assert checker.check(raw) and checker.checked == 1
    item = (claim.proof, claim.public_signals)
    assert precheck.known(app.redis, claim.key_id, [item, ({"x": 1}, ["1"])]) == {0}
    assert not checker.check(raw) and checker.checked == 1  # noted again: not verified again

    def no_pairings(*_):
        raise AssertionError("a prechecked proof was verified again")

    monkeypatch.setattr(zk, "find_invalid", no_pairings)
    assert judged(app, subject, claim) is None  # valid, and only its pairings were skipped
    other = Subject(subject.task_id, 4, 1024, "histogram", {}, "ab" * 32)  # another seed
    assert judged(app, other, claim).startswith("Merkle path does not lead")  # still judged


def test_forged_and_moved_tags_do_not_pass_a_bad_proof(app, circuit):
    _, good, good_ref = one_replica_batch(app, circuit)
    assert Prechecker(app).check(note(app, good, good_ref))
    subject, bad, bad_ref = one_replica_batch(app, circuit, valid=False)
    assert not Prechecker(app).check(note(app, bad, bad_ref))  # verified: no tag
    assert judged(app, subject, bad) == "proof does not verify"

    def tag_key(c: Claim) -> str:
        return precheck.TAG_PREFIX + prechecks.digest(c.key_id, c.proof, c.public_signals).hex()

    for forged in (os.urandom(32), app.redis.get(tag_key(good))):  # made up, or a valid one moved
        app.redis.set(tag_key(bad), forged)
        assert precheck.known(app.redis, bad.key_id, [(bad.proof, bad.public_signals)]) == set()
        assert judged(app, subject, bad) == "proof does not verify"


def test_a_lone_replica_s_own_proof_noted_inline_is_checked_like_a_batch_s(app, circuit):
    """A fleet worker notes a lone replica's own proof inline (proof and signals in the note,
    as the gateway notes a remote worker's). A genuine one is verified and tagged; an invalid
    one a sender notes is verified, left untagged, and refused by settle."""
    subject = Subject(str(uuid.uuid4()), 3, 1024, "histogram", {}, "ab" * 32)
    digest, kid = os.urandom(32).hex(), keys.active_key(app)
    proof, signals = replica_proof(circuit, subject, digest, SECRET)
    other, _ = replica_proof(circuit, subject, digest, SECRET, replica=1)
    bad = {**proof, "pi_a": other["pi_a"]}  # its signals are right, the proof is not
    claims = [Claim(WORKER, digest, kid, p, signals, replica=0, round=1) for p in (proof, bad)]
    checker = Prechecker(app)
    for claim in claims:
        pipe = app.redis.pipeline()
        prechecks.announce(pipe, kid, proof=claim.proof, signals=claim.public_signals)
        pipe.execute()
        checker.check(app.redis.lpop(prechecks.NOTES_KEY))
    assert checker.checked == 1
    items = [(c.proof, c.public_signals) for c in claims]
    assert precheck.known(app.redis, kid, items) == {0}
    assert judged(app, subject, claims[0]) is None
    assert judged(app, subject, claims[1]) == "proof does not verify"


def test_a_tag_made_by_another_orchestrator_is_not_believed(app, circuit, monkeypatch):
    _, claim, ref = one_replica_batch(app, circuit)
    assert Prechecker(app).check(note(app, claim, ref))
    item = (claim.proof, claim.public_signals)
    assert precheck.known(app.redis, claim.key_id, [item]) == {0}
    monkeypatch.setattr(precheck, "_SECRET", os.urandom(32))  # another orchestrator's secret
    assert precheck.known(app.redis, claim.key_id, [item]) == set()


def test_junk_notes_do_not_stop_the_prechecker(app, circuit):
    _, claim, ref = one_replica_batch(app, circuit)
    now = time.time()
    junk = [
        b"not json",
        b"[]",
        orjson.dumps({"k": 5}),
        orjson.dumps({"k": claim.key_id, "t": now, "b": ["x", "y"]}),
        orjson.dumps({"k": claim.key_id, "t": now, "b": [ref.sha256, ref.size + 1]}),
        orjson.dumps({"k": "no-such-key", "t": now, "b": [ref.sha256, ref.size]}),
        orjson.dumps({"k": claim.key_id, "t": now - 60, "b": [ref.sha256, ref.size]}),  # stale
        orjson.dumps({"k": claim.key_id, "t": now, "p": {"pi_a": 1}, "g": ["1", "x"]}),
        orjson.dumps({"k": claim.key_id, "t": now, "p": None, "g": None}),
    ]
    app.redis.rpush(prechecks.NOTES_KEY, *junk)
    checker = Prechecker(app).start()
    try:
        deadline = time.monotonic() + 10
        wait_until(lambda: not app.redis.llen(prechecks.NOTES_KEY), deadline, "junk not taken")
        assert checker.checked == 0  # none of the junk was tagged
        note_again(app, claim, ref)
        wait_until(lambda: checker.checked, deadline, "the prechecker stopped after junk notes")
    finally:
        checker.stop()
    assert app.redis.llen(prechecks.NOTES_KEY) == 0


def test_a_busy_fabrics_notes_are_left_to_settle(app, circuit):
    _, claim, ref = one_replica_batch(app, circuit)
    pipe = app.redis.pipeline()
    for _ in range(precheck.BUSY + 4):  # a burst: more notes wait than an idle round leaves
        prechecks.announce(pipe, claim.key_id, ref=ref)
    pipe.execute()
    checker = Prechecker(app).start()
    try:
        deadline = time.monotonic() + 10
        wait_until(lambda: not app.redis.llen(prechecks.NOTES_KEY), deadline, "notes not taken")
        time.sleep(0.1)
        assert checker.checked == 0  # dropped, not verified
        note_again(app, claim, ref)  # an idle fabric's note is checked again
        wait_until(lambda: checker.checked, deadline, "the prechecker stopped checking")
    finally:
        checker.stop()


def test_notes_are_capped(app):
    pipe = app.redis.pipeline()
    for _ in range(prechecks.KEEP * 3):
        prechecks.announce(pipe, "k", proof={"pi_a": ["1"]}, signals=["1"])
    prechecks.announce(pipe, "k", proof={"big": 1 << 70}, signals=["1"])  # not JSON: not noted
    pipe.execute()
    assert app.redis.llen(prechecks.NOTES_KEY) == prechecks.KEEP
