"""Helpers for the p2p tests: orchestrator-signed stream entries with real Groth16
attestations."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from proof_support import batch_proof, leaf, replica_proof

from shardy import merkle
from shardy.keyring import build_manifest, default_build, manifest_id
from shardy.p2p.signed import SIGNED_FIELDS, public_key_hex, sign_stream_fields
from shardy.statement import Subject
from shardy.zk import Circuit, load_circuit

#: Fixed worker secrets so commitments are stable across a test run.
SECRETS = (1111, 2222, 3333, 4444)
#: The order facts every test entry records (statement version 2 binds them).
KERNEL = "sha256"
PARAMS: dict[str, Any] = {"rounds": 1}
PAYLOAD_SHA256 = "5a" * 32
#: The round every test entry's replicas ran in (replica i is attestation i's).
ROUND = 1
#: The test orchestrator's signing key, and its public key every test peer trusts.
ORCHESTRATOR = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
TRUSTED = public_key_hex(ORCHESTRATOR)


def sign_entry(
    entry: dict[str, str],
    key: Ed25519PrivateKey = ORCHESTRATOR,
    enrolled: list[tuple[str, str]] | None = None,
) -> dict[str, str]:
    """``entry`` signed as the orchestrator's `evidence.publish` signs it (previous signature
    dropped); by default every attestation's commitment is enrolled, worker i under operator
    op<i>."""
    fields = {k: v for k, v in entry.items() if k not in SIGNED_FIELDS}
    if enrolled is None:
        atts = json.loads(fields["attestations"])
        enrolled = [(a["public_signals"][-1], f"op{a['worker_id'][1:]}") for a in atts]
    return {**fields, **sign_stream_fields(fields, enrolled, key)}


@lru_cache(maxsize=1)
def circuit() -> Circuit:
    return load_circuit(default_build())


def default_key_id() -> str:
    return manifest_id(build_manifest(default_build()))


def subject(task_id: str, seed: int, output_len: int) -> Subject:
    """What a test entry's attestations attest to (the fixed order facts above)."""
    return Subject(task_id, seed, output_len, KERNEL, PARAMS, PAYLOAD_SHA256)


def entry_subject(entry: dict[str, str]) -> Subject:
    """The subject of a test stream entry (its params and payload hash as it records them)."""
    return Subject(entry["task_id"], int(entry["seed"]), int(entry["output_len"]),
                   entry["kernel"], json.loads(entry["params"]),
                   entry["payload_sha256"])  # fmt: skip


def attestation(worker: int, subject: Subject, digest: str, secret: int | None = None,
                replica: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Worker ``worker``'s attestation (JSON, as the orchestrator lists it) of replica
    ``replica`` (default ``worker``) of round `ROUND`, proven under the default key."""
    replica = worker if replica is None else replica
    secret = SECRETS[worker] if secret is None else secret
    proof, public = replica_proof(circuit(), subject, digest, secret, ROUND, replica)
    return {"worker_id": f"w{worker}", "digest": digest, "proof": proof,
            "public_signals": public, "key_id": default_key_id(), "round": ROUND,
            "replica": replica}  # fmt: skip


def stream_entry(
    *,
    workers: int = 3,
    quorum: int = 2,
    seed: int = 7,
    output_len: int = 4096,
    task_id: str | None = None,
    digest: str | None = None,
) -> dict[str, str]:
    """A `shardy:verified` entry as the orchestrator writes it, with ``workers`` real proofs
    (worker i's of replica i)."""
    task_id = task_id or str(uuid.uuid4())
    digest = digest or hashlib.sha256(os.urandom(16)).hexdigest()
    about = subject(task_id, seed, output_len)
    atts = [attestation(i, about, digest) for i in range(workers)]
    return sign_entry({
        "task_id": task_id, "kernel": KERNEL, "seed": str(seed), "output_len": str(output_len),
        "params": json.dumps(PARAMS, sort_keys=True, separators=(",", ":")),
        "payload_sha256": PAYLOAD_SHA256, "digest": digest, "quorum": str(quorum),
        "agreeing": str(workers), "attestations": json.dumps(atts),
    })  # fmt: skip


def batch_attestation(
    worker: int,
    subject: Subject,
    digest: str,
    *,
    size: int = 5,
    index: int | None = None,
    replica: int | None = None,
) -> dict[str, Any]:
    """Worker ``worker``'s batched attestation of replica ``replica`` (default ``worker``) of
    round `ROUND`: one real batch proof over ``size`` leaves (this replica's at ``index``, the
    others other tasks' replicas)."""
    index = worker % size if index is None else index
    replica = worker if replica is None else replica
    others = [Subject(str(uuid.uuid4()), 1, 64) for _ in range(size)]
    leaves = [leaf(circuit(), o, os.urandom(32).hex(), ROUND, 0) for o in others]
    leaves[index] = leaf(circuit(), subject, digest, ROUND, replica)
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    proof, public = batch_proof(circuit(), batch_id, size, root, SECRETS[worker])
    path = [list(step) for step in merkle.path(leaves, index)]
    return {"worker_id": f"w{worker}", "digest": digest, "proof": proof,
            "public_signals": public, "key_id": default_key_id(), "round": ROUND,
            "replica": replica,
            "batch": {"id": batch_id, "index": index, "path": path, "size": size,
                      "root": root}}  # fmt: skip


def batched_stream_entry(*, workers: int = 3, unbatched: int = 0, quorum: int = 2,
                         **kw: Any) -> dict[str, str]:  # fmt: skip
    """`stream_entry` whose first ``workers - unbatched`` attestations are batched."""
    entry = stream_entry(workers=workers, quorum=quorum, **kw)
    atts = json.loads(entry["attestations"])
    for i in range(workers - unbatched):
        atts[i] = batch_attestation(i, entry_subject(entry), entry["digest"])
    return sign_entry({**entry, "attestations": json.dumps(atts)})


def forge_bad_proof(entry: dict[str, str], index: int = 0) -> dict[str, str]:
    """The same entry with attestation ``index``'s proof swapped for another task's proof."""
    atts = json.loads(entry["attestations"])
    other = json.loads(stream_entry(workers=1, quorum=1)["attestations"])[0]
    atts[index]["proof"] = other["proof"]
    return sign_entry({**entry, "attestations": json.dumps(atts)})


def forge_short_quorum(entry: dict[str, str], keep: int = 1) -> dict[str, str]:
    """The same entry with only ``keep`` attestations left (below its claimed quorum)."""
    atts = json.loads(entry["attestations"])[:keep]
    return sign_entry({**entry, "attestations": json.dumps(atts)})


# ---- processes and waiting -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns a truthy value (bounded by ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


async def await_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """The trio twin of wait_for."""
    import trio

    with trio.move_on_after(timeout):
        while not (value := predicate()):
            await trio.sleep(0.1)
        return value
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class SidecarProcess:
    """``python -m shardy.p2p`` in a subprocess (optionally inside a network namespace)."""

    def __init__(self, data_dir: Path, *args: str, netns: str | None = None) -> None:
        self.data_dir = data_dir
        self.args = [PYTHON, "-m", "shardy.p2p", "--data-dir", str(data_dir),
                     "--trusted", TRUSTED, *args]  # fmt: skip
        self.netns = netns
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def start(self) -> SidecarProcess:
        node_file = self.data_dir / "p2p-node.json"
        node_file.unlink(missing_ok=True)
        cmd = (["ip", "netns", "exec", self.netns] if self.netns else []) + self.args
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)  # fmt: skip
        wait_for(lambda: node_file.exists() or self.proc.poll() is not None, 60, "node file")
        if self.proc.poll() is not None:
            raise AssertionError(f"sidecar exited: {self.log.read_text()[-3000:]}")
        return self

    @property
    def info(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "p2p-node.json").read_text())

    @property
    def addr(self) -> str:
        return self.info["addrs"][0]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def short_dir(prefix: str = "p2p") -> Path:
    """A fresh directory with a path short enough for a unix socket."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def copy_build(dest: Path, wasm_note: bytes) -> Path:
    """The packaged key's build with a custom section in its witness wasm: another key id (the
    id covers the wasm), the same vkey, so the default circuit's proofs verify under it."""
    shutil.copytree(default_build(), dest, ignore=shutil.ignore_patterns("*.r1cs"))
    path = dest / "attestation.wasm"
    name = b"shardy-test"
    body = bytes([len(name)]) + name + wasm_note
    path.write_bytes(path.read_bytes() + b"\x00" + bytes([len(body)]) + body)
    return dest
