"""What computes and proves a replica, for a fleet worker and a remote worker alike: the GPU
device, the WASM preprocessor, the verifier-key circuits, the worker's attestation secret and
its prover (one Groth16 proof per replica, or one per batch), and `compute`, the data path of
one replica from payload bytes to output and attestation."""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from shardy import merkle, statement
from shardy.attestations import BatchPart, BatchProof, BatchReceipt
from shardy.config import Settings
from shardy.errors import GPUError, KernelError, KernelTimeLimit, PayloadError, ReplicaTimeLimit
from shardy.kernels.catalog import Catalog, Loader
from shardy.kernels.shipped import is_shipped
from shardy.messages import ReplicaOrder
from shardy.workers import typed
from shardy.workers.batcher import Batcher
from shardy.workers.gpu import GPU
from shardy.workers.identity import worker_commitment
from shardy.workers.preprocess import Preprocessor
from shardy.zk import prove_checked

log = logging.getLogger("shardy.worker")

#: per replica thread: ``cancel``, set when `Engine.bounded` gave the replica up
_replica = threading.local()

#: Stages a replica reports, with the share of its work done when the stage starts.
STAGES = {"preprocess": 10, "gpu": 30, "attest": 70}

#: ``store(batch proof JSON, key id) -> (sha256, size)``: where a batch proof goes once.
StoreBatch = Callable[[bytes, str], tuple[str, int]]
#: ``note(key id, proof, public signals)``: a replica's own proof, made known before it is sent.
NoteProof = Callable[[str, dict, list[str]], None]


class Circuits(Protocol):
    """Verifier-key circuits by key id (`shardy.keyring.KeyCache` and its kin)."""

    def circuit(self, kid: str) -> Any: ...


class Engine:
    """One worker process's compute and proving resources (made once, after fork).

    Args:
        settings: the worker's settings (adapter, WASM switch, batch size and wait).
        secret: the worker's attestation secret (its Poseidon hash is its commitment).
        keys: where the circuits of verifier keys come from.
        store_batch: where a batch proof is stored once (the blob store for a fleet worker,
            which also notes it for the orchestrator's early check; a remote worker keeps it
            to send with its results).
        kernels: where shipped kernels are read by hash (a fleet worker: the blob store; a
            remote worker gets them inline with the order).
        note_proof: what is done with a lone replica's own proof before it is sent: a fleet
            worker notes it for the orchestrator's early check, as it notes its batch proofs
            (the gateway notes a remote worker's proofs as they arrive).
    """

    def __init__(
        self,
        settings: Settings,
        secret: int,
        keys: Circuits,
        store_batch: StoreBatch,
        kernels: Loader | None = None,
        note_proof: NoteProof | None = None,
    ) -> None:
        self.settings = settings
        self.kernels = Catalog(kernels)
        scratch = settings.home / "scratch"  # disk-backed payloads and outputs (not tmpfs)
        scratch.mkdir(parents=True, exist_ok=True)
        self.gpu = GPU(settings.gpu_adapter, scratch_dir=scratch)
        self.gpu_lock = threading.Lock()  # a threads pool (batching) shares one device
        self.secret = secret
        self.commitment = worker_commitment(secret)
        self.keys = keys
        self._store_batch = store_batch
        self._note_proof = note_proof
        self._preprocessor: Preprocessor | None = None
        #: replicas abandoned past the time limit (their threads may still be running)
        self.overdue = 0
        #: an abandoned replica still holds the GPU: this process can compute no more
        self.wedged = False
        #: shipped kernels a child process compiled safely (`shardy.workers.typed.probe`)
        self.probed: set[str] = set()
        #: the thread running a dispatch now (None: the GPU is idle), and since when
        self.gpu_owner: int | None = None
        self.gpu_since = 0.0
        #: called once the GPU is wedged (the worker shuts down for a restart)
        self.on_wedged: Callable[[], None] = lambda: None
        self.batcher = (
            Batcher(settings.attest_batch, settings.attest_wait_ms, self._prove_batch)
            if settings.attest_batch > 1
            else None
        )

    def bounded(self, work: Callable[[], Any], what: str, shipped: bool = False) -> Any:
        """Run ``work`` on a thread of its own and wait at most SHARDY_TASK_TIME_LIMIT.

        Celery enforces its time limits only in a prefork pool; a batching worker (threads
        pool) and a remote worker have none. Python cannot stop a thread, nor wgpu a
        submitted dispatch: past the limit the replica fails with `ReplicaTimeLimit` (retried
        elsewhere) and its thread is abandoned, counted in `overdue`; the worker serves on.

        A replica waiting for the GPU behind others gets the full limit for its own dispatch;
        one given up before it dispatched (in preprocessing or waiting) never dispatches.
        If the abandoned thread still holds the GPU (an endless or oversized shader), the
        device is wedged (wgpu cannot cancel a dispatch, and on lavapipe even a fresh device
        in the same process waits for it): ``wedged`` is set, later replicas fail over to
        other workers (GPUError), and ``on_wedged`` lets the worker exit for its supervisor
        to restart it.

        Raises:
            ReplicaTimeLimit: ``work`` did not finish in time.
            KernelTimeLimit: the same for a shipped kernel (``shipped``): permanent.
        """
        done: Future = Future()
        cancel = threading.Event()

        def run() -> None:
            _replica.cancel = cancel  # the dispatch is skipped if this replica was given up
            try:
                done.set_result(work())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                done.set_exception(exc)

        thread = threading.Thread(target=run, name="shardy-replica", daemon=True)
        thread.start()
        limit = self.settings.task_time_limit
        deadline = time.monotonic() + limit
        while True:
            try:
                return done.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                pass
            # a replica that waited for the GPU behind others gets its own dispatch's full limit
            on_gpu, since = self.gpu_owner == thread.ident, self.gpu_since
            if not (on_gpu and since + limit > time.monotonic()):
                break
            deadline = since + limit
        self.overdue += 1
        log.error("%s ran past %d s; its thread is abandoned (%d so far)", what, limit,
                  self.overdue)  # fmt: skip
        if on_gpu:  # its own dispatch ran past the limit: the device is stuck with it
            self.wedged = True
            self.on_wedged()
            error = KernelTimeLimit if shipped else ReplicaTimeLimit
        else:  # still preprocessing, or waiting for the GPU: it will not dispatch now
            cancel.set()
            error = ReplicaTimeLimit
        raise error(
            f"{what} ran past SHARDY_TASK_TIME_LIMIT ({limit} s) in preprocessing or its "
            "kernel; raise the limit or make the work smaller"
        ) from None

    @property
    def preprocessor(self) -> Preprocessor:
        """The WASM preprocessor host (numpy fallback when SHARDY_WASM=off), made on first use."""
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(use_wasm=self.settings.wasm)
        return self._preprocessor

    @property
    def adapter(self) -> str:
        """The adapter's name, backend and driver, as workers report it (its platform class:
        homogeneous redundancy draws a float kernel's replicas from one)."""
        driver = getattr(self.gpu, "driver", "")
        return f"{self.gpu.name} ({self.gpu.backend}{'; ' + driver if driver else ''})"

    def warm(self, key_ids: Iterable[str]) -> None:
        """Set up now what a first replica would (the GPU opened with the engine): the WASM
        preprocessor, and for each key its circuit and prover, through a throwaway batch proof
        of a random batch id and root (checked, never stored or sent).

        Raises:
            ShardyError: a key could not be loaded or proven with (the replica that needs it
                would fail the same way).
        """
        _ = self.preprocessor
        size = max(2, self.settings.attest_batch)  # inputs as large as a real batch's: the
        for kid in key_ids:  # prover finds the wires that vary by drawing values that big
            circuit = self.keys.circuit(kid)
            root, batch_id = secrets.token_hex(32), str(uuid.uuid4())
            signals = statement.batch_signals(circuit.statement, batch_id, size, root,
                                              str(self.commitment))  # fmt: skip
            prove_checked(circuit, statement.inputs_for(signals, self.secret))

    def attest(self, order: ReplicaOrder, digest: str) -> tuple[dict, list[str]]:
        """Prove, under the order's key, that this worker computed ``digest`` for the order."""
        circuit = self.keys.circuit(order.key_id)
        signals = order.subject().signals(
            circuit.statement, digest, str(self.commitment), order.round, order.replica
        )
        return prove_checked(circuit, statement.inputs_for(signals, self.secret))

    def attestation(self, order: ReplicaOrder, digest: str) -> dict[str, Any]:
        """The attestation fields of a replica result: its own proof (K = 1, or a replica
        that finds the prover idle and no other replica waiting or about to) or, batched, the
        receipt of the batch proof that covers it.

        A lone replica proven with its own statement costs the same proof as a batch of one,
        and spares the blob store the batch proof and settle its lookups (the batch's row, its
        stored proof, its statement under another id)."""

        def own(note: bool = True) -> dict[str, Any]:
            proof, signals = self.attest(order, digest)
            if note and self._note_proof is not None:
                self._note_proof(order.key_id, proof, signals)
            return {"proof": proof, "public_signals": signals, "key_id": order.key_id}

        if self.batcher is None:  # K = 1 under load too: settle checks its proofs in batches
            return own(note=False)
        version = self.keys.circuit(order.key_id).statement
        leaf = order.subject().leaf(version, digest, order.round, order.replica)
        got = self.batcher.attest(order.key_id, leaf, self.settings.task_time_limit, own)
        if isinstance(got, dict):
            return got
        return {"proof": None, "public_signals": None, "key_id": order.key_id, "batch": got}

    def _prove_batch(self, key_id: str, leaves: list[bytes]) -> BatchReceipt:
        """Prove one batch and store its `BatchProof` once; returns the receipt of leaf 0 (the
        batcher fills in each leaf's index and path)."""
        batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
        circuit = self.keys.circuit(key_id)
        signals = statement.batch_signals(
            circuit.statement, batch_id, len(leaves), root, str(self.commitment)
        )
        proof, signals = prove_checked(circuit, statement.inputs_for(signals, self.secret))
        stored = BatchProof(batch_id, root, len(leaves), key_id, proof, signals)
        sha256, size = self._store_batch(orjson.dumps(stored.to_json()), key_id)
        return BatchReceipt(BatchPart(batch_id, 0, len(leaves), root, ()), key_id, sha256, size)


@dataclass
class Computed:
    """One replica's output, its attestation fields and stage timings (seconds)."""

    output: bytes | memoryview
    #: the output's sha256, which the attestation proves
    attestation_digest: str
    attestation: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def compute(
    engine: Engine,
    order: ReplicaOrder,
    payload: bytes,
    digest_of: Callable[[bytes | memoryview], str],
    report: Callable[[str, int], None] = lambda stage, pct: None,
) -> Computed:
    """Preprocess (WASM), run the kernel (WGSL on wgpu), and attest the output's digest.

    Args:
        digest_of: the output's sha256 (a fleet worker stores the output as it hashes it).

    Raises:
        KernelError, PayloadError, PreprocessError, ProofError: permanent failures.
        TransientError (GPUError, BlobUnavailable): worth retrying.
    """
    coming = engine.batcher.computing() if engine.batcher else contextlib.nullcontext()
    with coming:  # a batch due meanwhile may wait for this replica to join it
        output, digest, timings = engine.bounded(
            lambda: _run(engine, order, payload, digest_of, report),
            order.summary(),
            shipped=is_shipped(order.kernel),
        )
    report("attest", STAGES["attest"])
    t3 = time.perf_counter()
    attestation = engine.attestation(order, digest)
    timings["attest"] = time.perf_counter() - t3
    return Computed(output, digest, attestation, timings)


def _run(engine, order, payload, digest_of, report) -> tuple[Any, str, dict[str, float]]:
    """Preprocess and run the kernel; (output, its digest, stage timings)."""
    s = engine.settings
    inline = order.kernel_spec
    kernel = engine.kernels.get(order.kernel, None if inline is None else lambda _: inline)
    plan = kernel.make_plan(len(payload), order.params, order.seed)
    groups = plan.groups[0] * plan.groups[1] * plan.groups[2]
    if groups > s.max_workgroups:
        raise KernelError(
            f"kernel {kernel.name[:17]!r} dispatches {groups} workgroups; this worker allows "
            f"{s.max_workgroups} (SHARDY_MAX_WORKGROUPS)"
        )
    t0 = time.perf_counter()
    if kernel.preprocessor is not None:
        report("preprocess", STAGES["preprocess"])
        args = kernel.preprocess_args(order.params)
        payload = engine.preprocessor.run(kernel.preprocessor, payload, args, order.seed)
    if plan.output_len != order.output_len:
        raise KernelError(
            f"kernel {kernel.name!r} produces {plan.output_len} bytes for this payload, "
            f"the order says {order.output_len}"
        )
    if plan.output_len > s.max_output:
        raise PayloadError(f"output of {plan.output_len} bytes exceeds SHARDY_MAX_OUTPUT")
    t1 = time.perf_counter()
    report("gpu", STAGES["gpu"])
    if kernel.spec is not None and kernel.name not in engine.probed:  # before it is compiled here
        typed.probe(kernel, s.gpu_adapter, max(5.0, min(60.0, s.task_time_limit / 2)))
        if len(engine.probed) > 4096:
            engine.probed.clear()
        engine.probed.add(kernel.name)
    wedged = GPUError("this worker's GPU is held by a dispatch past its time limit; retry")
    if engine.wedged:
        raise wedged
    with engine.gpu_lock:
        if engine.wedged:
            raise wedged
        cancel = getattr(_replica, "cancel", None)
        if cancel is not None and cancel.is_set():  # given up while it waited: not dispatched
            raise ReplicaTimeLimit("given up at the time limit before it reached the GPU")
        engine.gpu_since = time.monotonic()
        engine.gpu_owner = threading.get_ident()
        try:
            output = engine.gpu.run(kernel, payload, plan, params=order.params, seed=order.seed)
        finally:
            engine.gpu_owner = None
    t2 = time.perf_counter()
    digest = digest_of(output)
    return (
        output,
        digest,
        {"preprocess": t1 - t0, "gpu": t2 - t1, "store": time.perf_counter() - t2},
    )
