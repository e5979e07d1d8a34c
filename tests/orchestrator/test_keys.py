"""orchestrator/keys.py: the seeded manifest key matches its build, and rotation and
republishing compute the key id exactly as `shardy.keyring.publish` does (vkey, zkey and wasm)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shardy import statement
from shardy.celery_app import ShardyCelery
from shardy.errors import ProofError
from shardy.keyring import (
    FILES,
    KEY_PREFIX,
    MANIFEST_FIELD,
    KeyCache,
    build_manifest,
    key_id,
    load_build,
    manifest_id,
    publish,
    read_manifest,
)
from shardy.orchestrator import keys, signing
from shardy.p2p import announce
from shardy.statement import Subject
from shardy.store import VerifierKey
from shardy.zk import prove_checked, verify

ROOT = Path(__file__).resolve().parents[2]
SNARKJS = ROOT / "circuits" / "node_modules" / ".bin" / "snarkjs"
ENTRY = next(e for e in read_manifest() if e.state == "active")


@pytest.fixture
def app(bare_app: ShardyCelery) -> ShardyCelery:
    """An orchestrator app on its own embedded Redis and SQLite, with no workers."""
    return bare_app


def with_custom_section(wasm: bytes, note: bytes) -> bytes:
    """The same witness wasm plus a custom section: another valid file, computing the same."""
    name = b"shardy-test"
    body = bytes([len(name)]) + name + note
    assert len(body) < 128  # one-byte LEB128 size
    return wasm + b"\x00" + bytes([len(body)]) + body


def copy_build(dest: Path, wasm_note: bytes | None = None) -> Path:
    shutil.copytree(ENTRY.build, dest, ignore=shutil.ignore_patterns("*.r1cs"))
    if wasm_note is not None:
        path = dest / FILES["wasm"]
        path.write_bytes(with_custom_section(path.read_bytes(), wasm_note))
    return dest


def stored_id(app: ShardyCelery, kid: str) -> str:
    """The id that the manifest published beside key ``kid`` in Redis hashes to."""
    return manifest_id(json.loads(app.redis.hget(KEY_PREFIX + kid, MANIFEST_FIELD)))


def test_seeded_manifest_key_matches_its_build(app: ShardyCelery, home: Path) -> None:
    kid = keys.active_key(app)
    assert kid == ENTRY.id == load_build(ENTRY.build)[0] == manifest_id(ENTRY.sha256 or {})
    assert ENTRY.sha256 == build_manifest(ENTRY.build)
    assert stored_id(app, kid) == kid
    assert KeyCache(app.redis, home / "worker").circuit(kid).vkey_json
    # a fresh store installs the statement v2 key only (the manifest's v1 entry is retired)
    assert [(r["id"], r["state"], r["statement"]) for r in keys.listing(app)] == [
        (kid, "active", 2)
    ]
    # seeding (which any submitting process may do) neither creates the orchestrator's signing
    # key nor announces the packaged key (peers ship with it)
    assert not signing.key_path(app.settings).exists()
    assert app.redis.hget(KEY_PREFIX + kid, announce.FIELD) is None


def test_seeding_refuses_a_build_that_differs_from_the_manifest(
    app: ShardyCelery, tmp_path: Path
) -> None:
    copy_build(tmp_path / "build", wasm_note=b"not the committed wasm")
    entry = {"id": ENTRY.id, "build": "build", "state": "active", "sha256": ENTRY.sha256}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"keys": [entry]}))
    with app.store.session() as session, pytest.raises(ProofError, match="attestation.wasm"):
        keys._seed(app, session, manifest)
    assert not app.redis.keys(KEY_PREFIX + "*")  # nothing published
    copy_build(tmp_path / "honest")
    manifest.write_text(json.dumps({"keys": [{**entry, "build": "honest"}]}))
    with app.store.session() as session:  # the same manifest over the committed files: accepted
        keys._seed(app, session, manifest)
        assert session.get(VerifierKey, ENTRY.id) is not None


def second_ceremony(dest: Path) -> Path:
    """A real second key: one more phase-2 contribution on the committed zkey (snarkjs)."""
    if not SNARKJS.exists():
        pytest.skip("circuits/node_modules is absent: run `npm ci --prefix circuits`")
    dest.mkdir()
    shutil.copy(ENTRY.build / FILES["wasm"], dest)
    for args in (
        ("zkey", "contribute", str(ENTRY.build / FILES["zkey"]), str(dest / FILES["zkey"]),
         "--name=second ceremony (test)", "-e=shardy key id test entropy"),
        ("zkey", "export", "verificationkey", str(dest / FILES["zkey"]), str(dest / FILES["vkey"])),
    ):  # fmt: skip
        done = subprocess.run([str(SNARKJS), *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    return dest


def test_rotation_computes_the_same_id_as_publish(
    app: ShardyCelery, home: Path, tmp_path: Path
) -> None:
    new = second_ceremony(tmp_path / "new")
    old = keys.active_key(app)
    rotated = keys.rotate(app, new, grace=600)
    vkey = json.loads((new / FILES["vkey"]).read_text())
    digest = {f: hashlib.sha256((new / n).read_bytes()).hexdigest() for f, n in FILES.items()}
    # a rotation (on the orchestrator's host) announces the key, signed, for gossip peers
    announced = announce.decode_key(app.redis.hget(KEY_PREFIX + rotated, announce.FIELD))
    assert announced.key_id == rotated and announced.vkey == vkey and announce.verify(announced)
    assert announced.signer == signing.public_key(app.settings)
    assert rotated != old
    assert rotated == publish(app.redis, new) == load_build(new)[0] == stored_id(app, rotated)
    assert rotated == key_id(vkey, digest["zkey"], digest["wasm"])
    assert {r["id"]: r["state"] for r in keys.listing(app)} == {old: "grace", rotated: "active"}
    # a worker fetches it by that id and its proof verifies under the key settle accepts
    circuit = KeyCache(app.redis, home / "worker").circuit(rotated)
    about = Subject("3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b", 1, 64, "histogram")
    inputs = statement.replica_inputs(circuit.statement, about, "ab" * 32, 99, 1, 0)
    proof, signals = prove_checked(circuit, inputs)
    with app.store.session() as session:
        accepted = keys.accepted(session)
    assert verify(accepted[rotated], proof, signals) and not verify(accepted[old], proof, signals)


def test_rotation_refuses_mismatched_files_and_ids_follow_the_wasm(
    app: ShardyCelery, tmp_path: Path
) -> None:
    other_wasm = keys.rotate(app, copy_build(tmp_path / "a", wasm_note=b"1"), grace=600)
    assert other_wasm != ENTRY.id  # same vkey and zkey, another wasm: another key
    assert other_wasm == publish(app.redis, tmp_path / "a") == stored_id(app, other_wasm)
    mixed = second_ceremony(tmp_path / "b")
    shutil.copy(ENTRY.build / FILES["vkey"], mixed)  # the committed vkey beside the new zkey
    with pytest.raises(ProofError, match="does not belong"):
        keys.rotate(app, mixed, grace=600)
    assert keys.active_key(app) == other_wasm


def test_republishing_after_redis_loss_keeps_the_id(app: ShardyCelery, tmp_path: Path) -> None:
    build = copy_build(tmp_path / "build", wasm_note=b"2")
    kid = keys.rotate(app, build, grace=600)
    app.redis.delete(KEY_PREFIX + kid)  # Redis restarted without persistence
    keys._active.pop(app, None)  # past the few-second cache of the active id
    assert keys.active_key(app) == kid and stored_id(app, kid) == kid
    # the build directory changed since: republishing would put other files under this id
    wasm = build / FILES["wasm"]
    wasm.write_bytes(with_custom_section(wasm.read_bytes(), b"changed later"))
    app.redis.delete(KEY_PREFIX + kid)
    keys._active.pop(app, None)
    with pytest.raises(ProofError, match=f"now hashes to key .* not {kid}"):
        keys.active_key(app)
    assert app.redis.keys(KEY_PREFIX + "*") == [(KEY_PREFIX + ENTRY.id).encode()]  # seeded only
