"""The browser worker's prover (workers/browser: JavaScript on @noble/curves) against Shardy's
verifier and snarkjs, under both statement versions (circuits/build is version 1,
circuits/build-v2 version 2): its proofs pass both, and a tampered proof or signal fails both;
and the page's statements (src/page/attest.js, merkle.js) are `shardy.statement`'s and
`shardy.merkle`'s.

Set-up: ``npm ci --prefix workers/browser`` (run here when its node_modules is absent, as
dev.sh does) and ``npm ci --prefix circuits`` for snarkjs (a failure names the command).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from browser_support import BUILDS

from shardy import merkle, statement
from shardy.statement import Subject
from shardy.zk import batch_verify, find_invalid, load_circuit, new_worker_secret, verify
from shardy.zk.poseidon import commitment

ROOT = Path(__file__).resolve().parents[2]
BROWSER = ROOT / "workers" / "browser"
SNARKJS = ROOT / "circuits" / "node_modules" / ".bin" / "snarkjs"


@pytest.fixture(scope="module")
def browser_prover() -> Path:
    """workers/browser with its node_modules, installed from the lockfile if absent."""
    if not (BROWSER / "node_modules" / "@noble" / "curves").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: run ./dev.sh test (it installs Node's tools)")
        run = subprocess.run(
            [npm, "ci", "--prefix", str(BROWSER), "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if run.returncode != 0:
            pytest.fail(f"`npm ci --prefix workers/browser` failed: {run.stderr.strip()[-300:]}")
    return BROWSER


@pytest.fixture(scope="module", params=sorted(BUILDS), ids=lambda v: f"v{v}")
def build(request) -> Path:
    """A committed build: version 1's, then version 2's."""
    return BUILDS[request.param]


@pytest.fixture(scope="module")
def subject() -> Subject:
    return Subject(str(uuid.uuid4()), 2**63 + 5, 65536, "sha256", {"block": 4096},
                   hashlib.sha256(b"payload").hexdigest())  # fmt: skip


@pytest.fixture(scope="module")
def secret() -> int:
    return new_worker_secret()


@pytest.fixture(scope="module")
def expected_signals(build: Path, subject: Subject, secret: int) -> list[str]:
    digest = hashlib.sha256(b"browser worker output").hexdigest()
    return subject.signals(load_circuit(build).statement, digest, str(commitment(secret)), 3, 1)


@pytest.fixture(scope="module")
def inputs(build: Path, subject: Subject, secret: int) -> dict[str, int]:
    """A replica's real attestation inputs under the build's statement version: a fresh task,
    digest and worker secret."""
    digest = hashlib.sha256(b"browser worker output").hexdigest()
    return statement.replica_inputs(load_circuit(build).statement, subject, digest, secret, 3, 1)


@pytest.fixture(scope="module")
def browser_run(browser_prover: Path, build: Path, inputs: dict[str, int],
                tmp_path_factory) -> dict[str, Any]:  # fmt: skip
    """The page's witness and two proofs of the same inputs, from scripts/prove.mjs: the first
    on one thread, the second with π_A and π_B from its helper thread."""
    path = tmp_path_factory.mktemp("browser") / "input.json"
    path.write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
    run = subprocess.run(
        ["node", "scripts/prove.mjs", str(build), str(path), "2"],
        cwd=browser_prover, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def vkey_json(build: Path) -> dict[str, Any]:
    return json.loads((build / "vkey.json").read_text())


@pytest.fixture()
def snarkjs_verify(tmp_path: Path, build: Path):  # type: ignore[no-untyped-def]
    """`snarkjs groth16 verify` in its own process (GPL: a checker only); True when it says OK."""
    if not SNARKJS.exists():
        pytest.fail("circuits/node_modules is absent: run `npm ci --prefix circuits`")

    def check(proof: dict[str, Any], public: list[str]) -> bool:
        (tmp_path / "proof.json").write_text(json.dumps(proof))
        (tmp_path / "public.json").write_text(json.dumps(public))
        run = subprocess.run(
            [str(SNARKJS), "groth16", "verify", str(build / "vkey.json"), "public.json",
             "proof.json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        out = run.stdout + run.stderr
        if run.returncode == 0 and "OK" in out:
            return True
        assert "Invalid proof" in out, out  # a rejection, not a crash
        return False

    return check


def _tampered_signals(public: list[str]) -> list[str]:
    return [public[0], str(int(public[1]) ^ 1), *public[2:]]


def test_page_witness_equals_the_python_witness(browser_run, build: Path,
                                                inputs: dict[str, int]) -> None:  # fmt: skip
    circuit = load_circuit(build)
    assert [int(v) for v in browser_run["witness"]] == circuit.witness(inputs)


@pytest.mark.parametrize("index", [0, 1], ids=["one-thread", "helper-thread"])
def test_page_proof_passes_shardy_and_snarkjs_and_tampering_fails_both(
    browser_run, expected_signals: list[str], vkey_json: dict[str, Any], snarkjs_verify, index: int
) -> None:
    first, second = browser_run["proofs"][index], browser_run["proofs"][1 - index]
    assert first["threads"] == index + 1
    proof, public = first["proof"], first["publicSignals"]
    assert public == expected_signals
    bad_public = _tampered_signals(public)
    mixed = {**proof, "pi_c": second["proof"]["pi_c"]}  # a valid proof's part in another
    swapped = copy.deepcopy(proof)
    swapped["pi_a"], swapped["pi_c"] = proof["pi_c"], proof["pi_a"]

    # accept and reject side by side, in both verifiers
    assert verify(vkey_json, proof, public) is True
    assert snarkjs_verify(proof, public) is True
    assert verify(vkey_json, proof, bad_public) is False
    assert snarkjs_verify(proof, bad_public) is False
    assert verify(vkey_json, mixed, public) is False
    assert snarkjs_verify(mixed, public) is False
    assert verify(vkey_json, swapped, public) is False


def test_page_proofs_batch_verify_and_a_bad_one_is_found(
    browser_run, vkey_json: dict[str, Any]
) -> None:
    items = [(p["proof"], p["publicSignals"]) for p in browser_run["proofs"]]
    assert items[0][0]["pi_a"] != items[1][0]["pi_a"]  # fresh randomness per proof
    assert batch_verify(vkey_json, items) is True
    bad = [items[0], (items[1][0], _tampered_signals(items[1][1]))]
    assert batch_verify(vkey_json, bad) is False
    assert find_invalid(vkey_json, bad) == [1]


def test_the_prover_s_own_node_tests_pass(browser_prover: Path) -> None:
    """workers/browser/test (node --test): zkey parsing, witness errors, MSM edge cases,
    accept and reject, the helper thread, and a bundle built from its sources only."""
    run = subprocess.run(["npm", "test", "--silent"], cwd=browser_prover, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout[-1000:]


# ---- the page's statements against shardy.statement and shardy.merkle ---------------------------

_STATEMENTS = """
const at = (p) => new URL(p, require("node:url").pathToFileURL(process.argv[1])).href;
const attest = await import(at("src/page/attest.js"));
const merkle = await import(at("src/page/merkle.js"));
const frames = await import(at("src/page/frames.js"));
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const str = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.toString()]));
const hex = (b) => Buffer.from(b).toString("hex");
const out = cases.map((c) => {
  const order = frames.parseOrder(frames.decodeMessage(Buffer.from(c.frame, "base64"), "order"));
  const secret = BigInt(c.secret), r = {};
  for (const v of [1, 2]) {
    r[v] = {
      replica: str(attest.replicaInputs(v, order, c.digest, secret)),
      batch: str(attest.batchInputs(v, c.batch_id, c.size, c.digest, secret)),
      enrollment: str(attest.enrollmentInputs(v, order.taskId, c.digest, secret)),
      leaf: hex(attest.replicaLeaf(v, order, c.digest)),
    };
  }
  const leaves = c.leaves.map((h) => Buffer.from(h, "hex"));
  return { order_hash: order.orderHash.toString(), versions: r, root: merkle.root(leaves) };
});
console.log(JSON.stringify(out));
"""


def test_the_pages_statements_are_pythons_under_both_versions(browser_prover: Path) -> None:
    """Orders encoded by the gateway (with their order_hash), read by the page's frames.js: the
    page's inputs of replica, batch and enrollment proofs and its batch leaves and root are
    bit-identical to Python's under version 1 and version 2."""
    import base64
    import random

    from shardy.blobs import BlobRef
    from shardy.messages import ReplicaOrder

    rng = random.Random(7)
    cases, expected = [], []
    for i in range(12):
        payload = rng.randbytes(rng.randrange(1, 64))
        order = ReplicaOrder(
            task_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            replica=rng.randrange(5), round=rng.randrange(1, 4),
            kernel=rng.choice(["histogram", "sha256"]),
            seed=rng.choice([0, 7, 2**53 + 1, 2**64 - 1, rng.getrandbits(64)]),
            output_len=rng.choice([0, 1024, 2**32 - 2]), params={} if i % 2 else {"block": i + 1},
            payload=BlobRef(hashlib.sha256(payload).hexdigest(), len(payload), payload),
            key_id="ab", with_order_hash=True,
        )  # fmt: skip
        digest = rng.randbytes(32).hex() if i else "ff" * 32
        secret, batch_id, size = new_worker_secret(), str(uuid.uuid4()), rng.randrange(1, 65)
        subject = order.subject()
        oh = subject.order_hash(order.round, order.replica)
        leaves = [rng.randbytes(32) for _ in range(1 + i)]
        cases.append({"frame": base64.b64encode(order.encode()).decode(), "digest": digest,
                      "secret": str(secret), "batch_id": batch_id, "size": size,
                      "leaves": [h.hex() for h in leaves]})  # fmt: skip
        versions = {}
        for v in (statement.V1, statement.V2):
            enrollment = Subject(order.task_id, 0, 0, enrollment=True).signals(
                v, digest, str(commitment(secret)), None, None
            )
            versions[str(v)] = {
                "replica": statement.replica_inputs(v, subject, digest, secret, order.round,
                                                    order.replica),  # fmt: skip
                "batch": statement.batch_inputs(v, batch_id, size, digest, secret),
                "enrollment": statement.inputs_for(enrollment, secret),
                "leaf": (merkle.leaf(order.task_id, order.seed, order.output_len, digest)
                         if v == statement.V1 else merkle.leaf_v2(order.task_id, oh, digest)).hex(),
            }  # fmt: skip
            for kind in ("replica", "batch", "enrollment"):
                versions[str(v)][kind] = {k: str(n) for k, n in versions[str(v)][kind].items()}
        expected.append({"order_hash": str(oh), "versions": versions,
                         "root": merkle.root(leaves).hex()})  # fmt: skip
    run = subprocess.run(
        # JSON.parse's source text (seeds above 2**53 as BigInt) is behind a flag in Node 20
        ["node", "--harmony-json-parse-with-source", "--input-type=commonjs", "-e",
         f"(async () => {{{_STATEMENTS}}})()",
         str(browser_prover) + "/"],
        input=json.dumps(cases), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    for g, e in zip(got, expected, strict=True):
        assert g == e
