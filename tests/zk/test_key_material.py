"""shardy/keyring.py and shardy.zk.prove_checked: a key id covers vkey, zkey and witness wasm; a
worker refuses key material that does not match it (from Redis and from its disk cache), and its
own proof before sending it (review attack 5: a swapped witness wasm published the secret)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from pathlib import Path

import pytest
import redis

from shardy import keyring
from shardy.errors import P2PError, ProofError, TransientError
from shardy.keyring import (
    FILES,
    KEY_PREFIX,
    MANIFEST_FIELD,
    KeyCache,
    ManifestKey,
    build_manifest,
    default_build,
    key_id,
    load_build,
    manifest_id,
    material_manifest,
    publish,
    read_manifest,
)
from shardy.p2p.keys import default_keyring
from shardy.statement import Subject, replica_inputs
from shardy.zk import Circuit, load_circuit, prove, prove_checked, verify
from shardy.zk.circuit import public_inputs
from shardy.zk.witness import WitnessCalculator

BUILD = default_build()
#: The default key's public inputs (its statement version's), in witness order from wire 1.
PUBLIC = public_inputs(json.loads((BUILD / FILES["vkey"]).read_text())["nPublic"])
#: Wire 0 is the constant 1, wires 1..n the public signals, then the private workerSecret.
TASK_WIRE, SECRET_WIRE = 1 + PUBLIC.index("taskId"), 1 + len(PUBLIC)


@pytest.fixture(scope="module")
def circuit() -> Circuit:
    """The default key's circuit (the one these tests publish), whatever conftest's is."""
    return load_circuit(BUILD)


@pytest.fixture(scope="module")
def inputs(circuit: Circuit) -> dict[str, int]:
    """An honest attestation's inputs under the default key's statement."""
    subject = Subject("3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b", 7, 4096, "histogram", {"bins": 4},
                      "ee" * 32)  # fmt: skip
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    return replica_inputs(circuit.statement, subject, digest, 123456789, 1, 0)


def public_signals(inputs: dict[str, int]) -> list[str]:
    """The public signals a proof for these inputs carries (`shardy.zk.public_signals` knows
    only version 1's names)."""
    return [str(inputs[name]) for name in PUBLIC]


def swapped_wires(a: int, b: int) -> bytes:
    """The committed witness wasm with witness wires ``a`` and ``b`` swapped: a different, valid
    circom witness calculator. Its data segment holds the witness → signal table (wire i reads
    signal table[i]), which starts 0, 1, ..., n + 1 for this circuit (n public signals, then
    the secret); the edit swaps two entries."""
    wasm = bytearray((BUILD / FILES["wasm"]).read_bytes())
    table = struct.pack(f"<{SECRET_WIRE + 1}I", *range(SECRET_WIRE + 1))
    assert bytes(wasm).count(table) == 1, "the witness -> signal table was not found"
    at = bytes(wasm).find(table)
    wire_a, wire_b = (struct.unpack_from("<I", wasm, at + 4 * i)[0] for i in (a, b))
    struct.pack_into("<I", wasm, at + 4 * a, wire_b)
    struct.pack_into("<I", wasm, at + 4 * b, wire_a)
    return bytes(wasm)


#: The taskId's wire and the private workerSecret's swapped: the review's attack.
LEAKING_WASM = swapped_wires(TASK_WIRE, SECRET_WIRE)


def flipped(data: bytes, at: int = -100) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def other_vkey() -> bytes:
    """A different well-formed vkey.json (IC[0] replaced by IC[1], both curve points)."""
    vkey = json.loads((BUILD / FILES["vkey"]).read_text())
    vkey["IC"][0] = vkey["IC"][1]
    return json.dumps(vkey).encode()


TAMPERED = {"wasm": LEAKING_WASM, "zkey": flipped((BUILD / FILES["zkey"]).read_bytes()),
            "vkey": other_vkey()}  # fmt: skip


def copy_build(dest: Path, **replace: bytes) -> Path:
    dest.mkdir(parents=True)
    for field, name in FILES.items():
        (dest / name).write_bytes(replace.get(field) or (BUILD / name).read_bytes())
    return dest


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the id ---------------------------------------------------------------------------------


def test_id_covers_vkey_zkey_and_wasm(tmp_path: Path) -> None:
    kid, circuit = load_build(BUILD)
    entry = next(e for e in read_manifest() if e.state == "active")
    files = {f: (BUILD / n).read_bytes() for f, n in FILES.items()}
    assert kid == entry.id == manifest_id(build_manifest(BUILD)) == manifest_id(entry.sha256 or {})
    # a party holding only the vkey and the two file hashes recomputes it
    assert kid == key_id(circuit.vkey_json, sha256(files["zkey"]), sha256(files["wasm"]))
    # the vkey entry is canonical: reformatting vkey.json keeps the id
    pretty = json.dumps(circuit.vkey_json, indent=2).encode()
    assert manifest_id(material_manifest({**files, "vkey": pretty})) == kid
    for field, tampered in TAMPERED.items():  # any changed file changes the id
        assert manifest_id(material_manifest({**files, field: tampered})) != kid, field
    assert manifest_id(material_manifest({**files, "vkey": b"not json"})) != kid


def test_malformed_manifests_and_hashes_are_refused() -> None:
    good = build_manifest(BUILD)
    assert manifest_id(good) == manifest_id(dict(reversed(list(good.items()))))
    for bad in ({**good, "r1cs": good["zkey"]}, {"vkey": good["vkey"], "zkey": good["zkey"]},
                {**good, "wasm": good["wasm"].upper()}, {**good, "zkey": "ab"}):  # fmt: skip
        with pytest.raises(ProofError, match="key manifest"):
            manifest_id(bad)
    with pytest.raises(ProofError):
        key_id({"a": 1}, "zz", good["wasm"])


def test_p2p_keyring_uses_the_full_id(tmp_path: Path) -> None:
    kid = load_build(BUILD)[0]
    assert list(default_keyring()) == [kid] == list(default_keyring(copy_build(tmp_path / "a")))
    other = copy_build(tmp_path / "b", wasm=LEAKING_WASM)
    assert list(default_keyring(other)) != [kid]  # same vkey, another wasm: another key
    (other / FILES["wasm"]).unlink()
    with pytest.raises(P2PError, match="attestation.wasm"):
        default_keyring(other)


# --- KeyCache: from Redis -------------------------------------------------------------------


def test_published_key_loads_and_proves(redis_client: redis.Redis, home: Path, inputs) -> None:
    kid = publish(redis_client, BUILD)
    stored = redis_client.hgetall(KEY_PREFIX + kid)
    assert set(stored) == {f.encode() for f in (*FILES, MANIFEST_FIELD)}
    assert manifest_id(json.loads(stored[MANIFEST_FIELD.encode()])) == kid
    circuit = KeyCache(redis_client, home / "keys").circuit(kid)
    proof, signals = prove_checked(circuit, inputs)
    assert verify(circuit.vkey_json, proof, signals)
    assert sorted(p.name for p in (home / "keys" / kid).iterdir()) == sorted(
        [*FILES.values(), "manifest.json"]
    )


@pytest.mark.parametrize("field", sorted(FILES))
def test_tampered_material_in_redis_is_refused(
    redis_client: redis.Redis, home: Path, field: str
) -> None:
    kid = publish(redis_client, BUILD)
    assert KeyCache(redis_client, home / "honest").circuit(kid).vkey_json  # accepted as published
    redis_client.hset(KEY_PREFIX + kid, field, TAMPERED[field])
    cache = KeyCache(redis_client, home / "keys")
    with pytest.raises(ProofError, match=FILES[field]) as refused:
        cache.circuit(kid)
    assert "published in Redis" in str(refused.value)
    assert "shardy keys rotate" in str(refused.value)
    assert not (home / "keys" / kid).exists()  # refused material never reaches the disk cache
    publish(redis_client, BUILD)  # republishing replaces it
    assert (
        cache.circuit(kid).vkey_json
        == KeyCache(redis_client, home / "honest").circuit(kid).vkey_json
    )


def test_tampered_material_with_a_matching_manifest_is_refused(
    redis_client: redis.Redis, home: Path
) -> None:
    kid = publish(redis_client, BUILD)
    files = {f: (BUILD / n).read_bytes() for f, n in FILES.items()}
    forged = material_manifest({**files, "wasm": LEAKING_WASM})  # the attacker's own manifest
    redis_client.hset(
        KEY_PREFIX + kid,
        mapping={"wasm": LEAKING_WASM, MANIFEST_FIELD: json.dumps(forged).encode()},
    )
    with pytest.raises(ProofError, match=f"hashes to {manifest_id(forged)}"):
        KeyCache(redis_client, home / "keys").circuit(kid)


def test_unpublished_and_malformed_ids(redis_client: redis.Redis, home: Path) -> None:
    cache = KeyCache(redis_client, home / "keys")
    with pytest.raises(TransientError, match="not published"):
        cache.circuit("0123456789abcdef")
    for bad in ("../keys", "ABCDEF", ""):
        with pytest.raises(ProofError, match="not lower-case hex"):
            cache.circuit(bad)


def test_key_fetched_another_way_is_checked_the_same(home: Path) -> None:
    # a remote worker fetches a key through the gateway instead of from Redis
    files = {f: (BUILD / n).read_bytes() for f, n in FILES.items()}
    kid = manifest_id(material_manifest(files))
    served = {**files, MANIFEST_FIELD: json.dumps(material_manifest(files)).encode()}
    published = {kid: served}
    assert KeyCache(lambda k: published.get(k, {}), home / "a").circuit(kid).vkey_json
    with pytest.raises(TransientError, match="not published"):
        KeyCache(lambda k: published.get(k, {}), home / "a").circuit("00" * 8)
    published[kid] = {**served, "wasm": LEAKING_WASM}
    with pytest.raises(ProofError, match="attestation.wasm of verifier key .* as fetched"):
        KeyCache(lambda k: published.get(k, {}), home / "b").circuit(kid)


def test_a_packaged_key_loads_before_it_is_published(redis_client: redis.Redis, home: Path) -> None:
    """A fleet worker warming up before the orchestrator published its key reads the key this
    package ships (checked against its id like material from anywhere else); it names the
    packaged active key and the cached keys still published as the ones to warm up."""
    kid, _ = load_build(BUILD)
    assert not redis_client.exists(KEY_PREFIX + kid)
    cache = KeyCache(redis_client, home / "early")
    assert cache.likely() == [kid]
    assert cache.circuit(kid).vkey_json == load_circuit(BUILD).vkey_json
    old = ["abcdef01234567" + f"{i:02x}" for i in range(3)]
    for i, name in enumerate(old):  # cached keys fetched one after another
        (home / "early" / name).mkdir()
        os.utime(home / "early" / name, (1000 + i, 1000 + i))
    assert cache.likely() == [kid]  # none still published (retired since): not warmed
    for name in old:
        redis_client.hset(KEY_PREFIX + name, "vkey", b"{}")
    assert cache.likely() == [kid, old[2], old[1]]  # the two fetched last


def test_a_packaged_build_is_checked_against_its_id(
    redis_client: redis.Redis, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package's own build is material like any other: files that do not hash to the id
    are never used (the key stays unpublished)."""
    kid, _ = load_build(BUILD)
    tampered = copy_build(home / "tampered", wasm=LEAKING_WASM)
    monkeypatch.setattr(keyring, "read_manifest", lambda: [ManifestKey(kid, tampered, "active")])
    with pytest.raises(TransientError, match="not published"):
        KeyCache(redis_client, home / "keys").circuit(kid)
    monkeypatch.setattr(keyring, "read_manifest", lambda: [ManifestKey(kid, BUILD, "retired")])
    with pytest.raises(TransientError, match="not published"):  # only the active key
        KeyCache(redis_client, home / "keys").circuit(kid)


# --- KeyCache: from its disk cache ----------------------------------------------------------


@pytest.mark.parametrize("field", sorted(FILES))
def test_tampered_material_on_disk_is_refused(
    redis_client: redis.Redis, home: Path, field: str
) -> None:
    kid = publish(redis_client, BUILD)
    keys = home / "keys"
    KeyCache(redis_client, keys).circuit(kid)  # fetched from Redis, stored on disk
    redis_client.delete(KEY_PREFIX + kid)  # from here on only the disk cache can serve it
    assert KeyCache(redis_client, keys).circuit(kid).vkey_json  # a fresh worker: accepted
    (keys / kid / FILES[field]).write_bytes(TAMPERED[field])
    with pytest.raises(ProofError, match=FILES[field]) as refused:
        KeyCache(redis_client, keys).circuit(kid)
    assert f"delete {keys / kid}" in str(refused.value)
    shutil.rmtree(keys / kid)  # what the message says to do
    publish(redis_client, BUILD)
    assert KeyCache(redis_client, keys).circuit(kid).vkey_json


def test_tampered_disk_manifest_and_file_are_refused(redis_client: redis.Redis, home: Path) -> None:
    kid = publish(redis_client, BUILD)
    keys = home / "keys"
    KeyCache(redis_client, keys).circuit(kid)
    files = {f: (keys / kid / n).read_bytes() for f, n in FILES.items()}
    (keys / kid / FILES["wasm"]).write_bytes(LEAKING_WASM)
    (keys / kid / "manifest.json").write_text(
        json.dumps(material_manifest({**files, "wasm": LEAKING_WASM}))
    )
    with pytest.raises(ProofError, match="hashes to"):
        KeyCache(redis_client, keys).circuit(kid)
    (keys / kid / "manifest.json").unlink()  # a missing manifest does not help either
    with pytest.raises(ProofError, match="hashes to"):
        KeyCache(redis_client, keys).circuit(kid)
    (keys / kid / FILES["wasm"]).unlink()
    with pytest.raises(ProofError, match=f"delete {keys / kid}"):
        KeyCache(redis_client, keys).circuit(kid)


# --- prove_checked --------------------------------------------------------------------------


def with_wasm(circuit: Circuit, wasm: bytes) -> Circuit:
    """The circuit's own zkey and vkey paired with another witness wasm."""
    return Circuit(circuit.build_dir, circuit.proving_key, circuit.verifying_key,
                   circuit.vkey_json, WitnessCalculator(wasm))  # fmt: skip


def test_prove_checked_accepts_honest_inputs(circuit: Circuit, inputs: dict[str, int]) -> None:
    proof, signals = prove_checked(circuit, inputs)
    assert signals == public_signals(inputs)
    assert verify(circuit.vkey_json, proof, signals)


def test_witness_wasm_that_publishes_the_secret_is_refused(
    circuit: Circuit, inputs: dict[str, int]
) -> None:
    leaky = with_wasm(circuit, LEAKING_WASM)
    secret = str(inputs["workerSecret"])
    _, shipped = prove(leaky, inputs)  # the attack as the review ran it: plain prove ships it
    assert shipped[TASK_WIRE - 1] == secret
    with pytest.raises(ProofError, match="differ from the attestation inputs") as refused:
        prove_checked(leaky, inputs)
    assert "taskId" in str(refused.value) and secret not in str(refused.value)


def test_witness_wasm_with_wrong_private_wires_is_refused(
    circuit: Circuit, inputs: dict[str, int]
) -> None:
    # public signals right, the rest (two intermediate wires after the secret) not
    wrong = with_wasm(circuit, swapped_wires(SECRET_WIRE + 1, SECRET_WIRE + 2))
    proof, signals = prove(wrong, inputs)
    assert signals == public_signals(inputs) and not verify(circuit.vkey_json, proof, signals)
    with pytest.raises(ProofError, match="does not verify under the circuit's own vkey"):
        prove_checked(wrong, inputs)


def test_published_key_with_a_mismatched_wasm_still_cannot_leak(
    redis_client: redis.Redis, home: Path, tmp_path: Path, inputs: dict[str, int]
) -> None:
    # even a key whose id covers a wrong wasm (published by the orchestrator) is caught at proving
    honest = publish(redis_client, BUILD)
    kid = publish(redis_client, copy_build(tmp_path / "b", wasm=LEAKING_WASM))
    assert kid != honest
    cache = KeyCache(redis_client, home / "keys")
    assert prove_checked(cache.circuit(honest), inputs)[1] == public_signals(inputs)
    with pytest.raises(ProofError, match="refusing to send"):
        prove_checked(cache.circuit(kid), inputs)


def test_failed_witness_and_bad_inputs_keep_values_out(
    circuit: Circuit, inputs: dict[str, int]
) -> None:
    wrong_secret = {**inputs, "workerSecret": 987654321}  # commitment no longer matches
    with pytest.raises(ProofError, match="assert failed"):
        circuit.witness(wrong_secret)  # the wasm's own message...
    with pytest.raises(ProofError, match="messages are withheld") as refused:
        prove_checked(circuit, wrong_secret)  # ...is not passed on
    assert "987654321" not in str(refused.value)
    missing = {k: v for k, v in inputs.items() if k != "taskId"}
    negative, in_range = {**inputs, "taskId": -5}, r"taskId must be an int in \[0, r\)"
    for bad, message in ((missing, "exactly"), (negative, in_range)):
        with pytest.raises(ProofError, match=message):
            prove_checked(circuit, bad)
