"""The client's order sender (`shardy.orchestrator.sender`): what waits goes out together, a
failed send is retried, and closing sends what is queued."""

from __future__ import annotations

import threading
import time

from shardy.orchestrator import sender as sender_mod
from shardy.orchestrator.sender import Sender


def test_rounds_queued_while_a_send_runs_go_out_together():
    sent: list[tuple] = []
    gate = threading.Event()

    def send(*rounds):
        sent.append(rounds)
        gate.wait(5)  # the first send is slow: the next rounds gather meanwhile

    s = Sender(send)
    first = threading.Thread(target=s.put, args=("r0",))  # an idle sender sends at once,
    first.start()  # on the caller's thread
    time.sleep(0.05)
    for i in range(1, 6):
        s.put(f"r{i}")  # a send runs: these wait for the sender's thread
    assert first.is_alive() and sent == [("r0",)]
    gate.set()
    first.join(5)
    assert s.flush(5)
    assert [r for batch in sent[1:] for r in batch] == [f"r{i}" for i in range(1, 6)]
    assert len(sent) == 2  # the rest in one send
    s.close()


def test_an_idle_sender_sends_on_the_callers_thread():
    threads: list[str] = []
    s = Sender(lambda *rounds: threads.append(threading.current_thread().name))
    s.put("r0")
    assert threads == [threading.current_thread().name]  # sent before put returned
    s.close()


def test_a_failed_send_is_retried_and_close_sends_what_is_queued(monkeypatch):
    monkeypatch.setattr(sender_mod, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    calls: list[tuple] = []

    def flaky(*rounds):
        calls.append(rounds)
        if len(calls) < 3:
            raise ConnectionError("broker restarting")

    s = Sender(flaky)
    s.put("a", "b")
    s.close(timeout=5)
    assert calls == [("a", "b")] * 3  # retried until it went out, nothing lost or split


def test_a_send_that_keeps_failing_is_given_up_and_the_sender_serves_on(monkeypatch, caplog):
    monkeypatch.setattr(sender_mod, "RETRY_DELAYS", (0.01,))
    good: list[tuple] = []

    def send(*rounds):
        if "bad" in rounds:
            raise ConnectionError("no broker")
        good.append(rounds)

    s = Sender(send)
    s.put("bad")
    assert s.flush(5)
    s.put("ok")
    s.close(timeout=5)
    assert good == [("ok",)]
    assert "the sweeper re-sends them" in caplog.text


def test_a_steady_stream_goes_out_grouped_and_a_waiting_client_never_lingers():
    sent: list[tuple[threading.Thread, tuple]] = []
    s = Sender(lambda *rounds: sent.append((threading.current_thread(), rounds)))
    for i in range(40):  # a stream of submits 5 ms apart (200/s)
        s.put(f"s{i}")
        time.sleep(0.005)
    assert s.flush(5)
    sizes = [len(rounds) for _, rounds in sent]
    assert sum(sizes) == 40
    assert max(sizes) >= 4 and len(sent) <= 12, sizes  # rounds gathered, not one per send
    sent.clear()
    for i in range(6):  # one submit at a time, each after the last was sent (a lone client)
        time.sleep(2 * sender_mod.FAST_GAP)
        s.put(f"l{i}")
        assert s.flush(5)
    assert [len(rounds) for _, rounds in sent] == [1] * 6
    # once most recent gaps are a lone client's, each round goes out at once on the
    # submitting thread: never handed to the sender's thread to linger there
    lone = sender_mod.PACE_GAPS // 2 + 1
    assert all(t is threading.current_thread() for t, _ in sent[lone:])
    s.close()
