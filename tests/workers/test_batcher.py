"""The worker's batch buffer: batches of 1 (timeout), 2 and K (full), keys never mixed."""

import threading

from shardy import merkle
from shardy.attestations import BatchPart, BatchReceipt
from shardy.workers.batcher import Batcher


def _leaf(i: int) -> bytes:
    return bytes([i]) * 32


def _receipt(batch_id: str, key: str, leaves: list[bytes]) -> BatchReceipt:
    part = BatchPart(batch_id, 0, len(leaves), merkle.root(leaves).hex(), ())
    return BatchReceipt(part, key, "00" * 32, 1)


def _run(batcher: Batcher, items: list[tuple[str, int]]) -> list[BatchReceipt]:
    out: list = [None] * len(items)

    def go(slot: int, key: str, i: int) -> None:
        out[slot] = batcher.attest(key, _leaf(i), timeout=30)

    threads = [threading.Thread(target=go, args=(n, k, i)) for n, (k, i) in enumerate(items)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _three_join_a_busy_prover(batcher: Batcher, lone: threading.Thread,
                              release: threading.Event, own=None) -> tuple[list, list]:  # fmt: skip
    """Three replicas (leaves 2, 3, 4) come while ``lone``'s proof runs; then ``release`` ends
    it and every thread is joined. Returns their (leaf, result) pairs and their threads."""
    late: list = []
    waiting = [
        threading.Thread(
            target=lambda i=i: late.append((i, batcher.attest("k", _leaf(i), 30, own)))
        )
        for i in (2, 3, 4)
    ]
    for t in waiting:
        t.start()
    threading.Event().wait(0.2)
    release.set()
    for t in [lone, *waiting]:
        t.join()
    return late, waiting


def test_full_batches_flush_at_k_and_stragglers_after_the_wait():
    proven: list[tuple[str, list[bytes]]] = []

    def prove(key: str, leaves: list[bytes]) -> BatchReceipt:
        proven.append((key, leaves))
        return _receipt(f"b{len(proven)}", key, leaves)

    batcher = Batcher(size=4, wait_ms=200, prove=prove)
    receipts = _run(batcher, [("k1", i) for i in range(10)])
    assert sorted(len(leaves) for _, leaves in proven) == [2, 4, 4]  # K, K, then 2 after T
    for r, i in zip(receipts, range(10), strict=True):
        p = r.part
        assert merkle.verify(_leaf(i), p.index, p.size, p.path, bytes.fromhex(p.root))
    assert len({(r.part.id, r.part.index) for r in receipts}) == 10  # each leaf its own place
    proven.clear()
    (single,) = _run(batcher, [("k1", 42)])
    p = single.part
    assert p.size == 1 and p.path == () and p.root == _leaf(42).hex()


def test_keys_never_share_a_batch_and_errors_reach_every_waiter():
    calls: list[str] = []

    def prove(key: str, leaves: list[bytes]) -> BatchReceipt:
        calls.append(key)
        if key == "bad":
            raise RuntimeError("prover failed")
        return _receipt(key, key, leaves)

    batcher = Batcher(size=8, wait_ms=100, prove=prove)
    got = _run(batcher, [("a", 1), ("b", 2), ("a", 3)])
    assert {r.part.id for r in got} == {"a", "b"} and sorted(calls) == ["a", "b"]
    errors = []

    def failing() -> None:
        try:
            batcher.attest("bad", _leaf(9), timeout=30)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=failing) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == ["prover failed", "prover failed"]
    assert _run(batcher, [("a", 5)])[0].part.size == 1  # the batcher thread survived


def test_an_idle_prover_proves_a_lone_replica_on_its_thread_and_never_two_at_once():
    """Adaptive batching (no wait): a replica that finds the prover idle, nothing waiting and
    nothing being computed is proven on its own thread; replicas that come while a proof
    runs wait for it and share the next batch, and no two proofs ever overlap."""
    running, overlaps, threads = [0], [], []
    release = threading.Event()
    lock = threading.Lock()

    def prove(key: str, leaves: list[bytes]) -> BatchReceipt:
        with lock:
            running[0] += 1
            overlaps.append(running[0] > 1)
            threads.append((threading.current_thread(), len(leaves)))
        if len(threads) == 1:
            release.wait(30)  # the first proof is slow: three replicas come meanwhile
        with lock:
            running[0] -= 1
        return _receipt(f"b{len(threads)}", key, leaves)

    batcher = Batcher(size=8, wait_ms=0, prove=prove)
    first: list = []
    lone = threading.Thread(target=lambda: first.append(batcher.attest("k", _leaf(1), 30)))
    lone.start()
    while not threads:
        threading.Event().wait(0.01)
    assert threads[0][0] is lone  # proven on the replica's own thread, alone
    late, waiting = _three_join_a_busy_prover(batcher, lone, release)
    assert not any(overlaps)
    assert sum(n for _, n in threads) == 4 and len(threads) <= 3  # the late ones batched
    assert all(t is not lone and t not in waiting for t, _ in threads[1:])  # on the loop
    assert first[0].part.size == 1 and first[0].part.path == ()
    assert first[0].part.root == _leaf(1).hex()
    assert sorted(i for i, _ in late) == [2, 3, 4]
    for i, r in late:
        p = r.part
        assert merkle.verify(_leaf(i), p.index, p.size, p.path, bytes.fromhex(p.root))


def test_a_lone_replica_is_attested_its_own_way_holding_the_prover():
    """With ``own``, a replica that finds the prover idle is attested by it (its own statement,
    as K = 1: no batch of one) on its own thread, holding the prover: replicas that come
    meanwhile wait and are batched after it, never beside it; and a replica that finds others
    waiting is batched even when it offers ``own``."""
    running, overlaps, calls = [0], [], []
    release = threading.Event()
    lock = threading.Lock()

    def busy(what: str, n: int) -> None:
        with lock:
            running[0] += 1
            overlaps.append(running[0] > 1)
            calls.append((what, threading.current_thread(), n))
        if len(calls) == 1:
            release.wait(30)  # the lone replica's proof is slow: others come meanwhile
        with lock:
            running[0] -= 1

    def prove(key: str, leaves: list[bytes]) -> BatchReceipt:
        busy("batch", len(leaves))
        return _receipt(f"b{len(calls)}", key, leaves)

    def own() -> dict:
        busy("own", 1)
        return {"own": threading.current_thread().name}

    batcher = Batcher(size=8, wait_ms=0, prove=prove)
    first: list = []
    lone = threading.Thread(target=lambda: first.append(batcher.attest("k", _leaf(1), 30, own)))
    lone.start()
    while not calls:
        threading.Event().wait(0.01)
    assert calls[0][:2] == ("own", lone)
    late, _ = _three_join_a_busy_prover(batcher, lone, release, own)
    assert not any(overlaps)
    assert first == [{"own": lone.name}]
    # the late ones found the prover busy: they waited, and one batch proved them together
    assert [(what, n) for what, _, n in calls] == [("own", 1), ("batch", 3)]
    assert sorted(i for i, _ in late) == [2, 3, 4]
    for i, r in late:
        assert isinstance(r, BatchReceipt) and r.part.size == 3
        p = r.part
        assert merkle.verify(_leaf(i), p.index, p.size, p.path, bytes.fromhex(p.root))
