"""Batch attestation on the worker: replicas wait in a buffer; one Groth16 proof per batch.

Whenever the prover is free it proves what is waiting, up to K replicas (SHARDY_ATTEST_BATCH):
one alone when the worker is idle (with its own statement, as K = 1 does: `Batcher.attest`'s
``own``), more under load, as replicas gather while it proves. It
waits only for replicas this worker is computing right now (they are about to join; at most
`COMING_WAIT_S`), and, if SHARDY_ATTEST_WAIT_MS is set, until the oldest has waited that
long. Each replica's Celery task blocks in
`Batcher.attest` until the proof of its batch is stored, so with ``acks_late`` a replica is
acknowledged only once its proof exists: a worker killed mid-batch loses nothing (redelivery).
Replicas proven under different verifier keys (during a rotation) never share a batch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TypeVar

from shardy import merkle
from shardy.attestations import BatchReceipt
from shardy.errors import TransientError

#: The longest a batch waits for replicas this worker is computing to join it (s).
COMING_WAIT_S = 0.1

#: ``prove(key_id, leaves) -> receipt of leaf 0`` (batch id, root, size, key, proof reference).
ProveBatch = Callable[[str, list[bytes]], BatchReceipt]
#: What a lone replica's own attestation returns (`Batcher.attest`'s ``own``).
T = TypeVar("T")


@dataclass
class _Pending:
    key_id: str
    leaf: bytes
    added: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    receipt: BatchReceipt | None = None
    error: BaseException | None = None


class Batcher:
    """Collects leaves and proves them in batches on one background thread.

    Args:
        size: K, the most replicas per proof.
        wait_ms: T, the longest a replica waits for its batch to fill.
        prove: proves one batch, one batch at a time (on the batcher's thread, or on a lone
            replica's own), so the circuit, which is not thread-safe, is never used concurrently.
    """

    def __init__(self, size: int, wait_ms: int, prove: ProveBatch) -> None:
        if size < 1 or wait_ms < 0:
            raise ValueError("batch size must be >= 1 and wait >= 0")
        self.size = size
        self.wait = wait_ms / 1000
        self._prove = prove
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._coming = 0  # replicas being computed by this worker: they will join soon
        self._proving = False  # one batch at a time: the loop's, or a lone replica's
        # under load, the threads a proven batch frees pick up the next replicas: the next
        # batch expects as many of them for a moment after it (none when idle)
        self._expected, self._freed_at = 0, 0.0
        threading.Thread(target=self._loop, name="shardy-batcher", daemon=True).start()

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        """Around a replica's computation: a batch due meanwhile may wait for it briefly."""
        with self._cond:
            self._coming += 1
        try:
            yield
        finally:
            with self._cond:
                self._coming -= 1
                self._cond.notify()

    def attest(
        self, key_id: str, leaf: bytes, timeout: float, own: Callable[[], T] | None = None
    ) -> BatchReceipt | T:
        """Add a leaf and wait for its batch: the receipt plus this leaf's index and path.

        ``own``: how a lone replica is attested instead of as a batch of one, when the
        prover is idle and nothing waits or is about to (called on this thread, holding the
        prover; what it returns is returned).

        Raises:
            TransientError: the batch was not proven within ``timeout`` seconds.
            Whatever the prover raised for this batch.
        """
        entry = _Pending(key_id, leaf)
        with self._cond:
            self._expected = max(0, self._expected - 1)
            now = time.monotonic()
            alone = not self._pending and not self._proving and self._left(now, now) <= 0
            if alone:  # the batch the loop would take now: proven here, without a hand-over
                self._proving = True
            else:
                self._pending.append(entry)
                self._cond.notify()
        if alone:
            return self._prove_alone(entry, own)
        if not entry.done.wait(timeout):
            raise TransientError(f"batch attestation not ready after {timeout:.0f}s; retrying")
        if entry.error is not None:
            raise entry.error
        assert entry.receipt is not None
        return entry.receipt

    def _prove_alone(self, entry: _Pending, own: Callable[[], T] | None) -> BatchReceipt | T:
        """Attest ``entry`` alone on the calling thread (the prover is idle and no replica is
        about to join: a lone replica skips two thread hand-overs): with ``own``, or as a
        batch of one."""
        try:
            if own is not None:
                return own()
            return _placed(self._prove(entry.key_id, [entry.leaf]), [entry.leaf], 0)
        finally:
            self._freed(1)

    def _left(self, added: float, now: float) -> float:
        """Seconds a batch whose oldest replica came at ``added`` still waits (<= 0: due):
        for SHARDY_ATTEST_WAIT_MS, and for replicas this worker is computing or the last
        batch freed (at most `COMING_WAIT_S`)."""
        due = added + self.wait - now
        coming = added + COMING_WAIT_S - now if self._coming else 0.0
        if self._expected:  # the threads the last batch freed are coming back
            coming = max(coming, self._freed_at + COMING_WAIT_S - now)
        return max(due, coming)

    def _freed(self, size: int) -> None:
        """A batch of ``size`` replicas is proven: the prover is free, their threads too."""
        with self._cond:
            self._proving = False
            self._expected, self._freed_at = size, time.monotonic()
            self._cond.notify()

    def _take(self) -> list[_Pending]:
        """Block until a batch is due, then remove and return it: K waiting replicas of one
        key, or fewer once none of this worker's replicas is about to join (or they took
        `COMING_WAIT_S`) and SHARDY_ATTEST_WAIT_MS has passed for the oldest."""
        with self._cond:
            while True:
                if self._pending and not self._proving:  # (a lone replica may be proving)
                    oldest = self._pending[0]
                    same = [p for p in self._pending if p.key_id == oldest.key_id]
                    left = self._left(oldest.added, time.monotonic())
                    if len(same) >= self.size or left <= 0:
                        batch = same[: self.size]
                        self._pending = [p for p in self._pending if p not in batch]
                        self._proving = True
                        return batch
                    self._cond.wait(max(left, 0.001))
                else:
                    self._cond.wait()

    def _loop(self) -> None:
        while True:
            batch = self._take()
            leaves = [p.leaf for p in batch]
            try:
                receipt = self._prove(batch[0].key_id, leaves)
                for i, p in enumerate(batch):
                    p.receipt = _placed(receipt, leaves, i)
            except BaseException as exc:  # handed to every waiting replica; the thread lives on
                for p in batch:
                    p.error = exc
            finally:
                self._freed(len(batch))
                for p in batch:
                    p.done.set()


def _placed(receipt: BatchReceipt, leaves: list[bytes], i: int) -> BatchReceipt:
    """A batch's receipt (of leaf 0) for leaf ``i`` of ``leaves``: its index and path."""
    part = replace(receipt.part, index=i, path=tuple(merkle.path(leaves, i)))
    return replace(receipt, part=part)
