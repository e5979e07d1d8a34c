"""Test-only worker behaviour: speaks garbage.

A test worker imports it through `Cluster(worker_modules=...)`.

Each replica this worker serves publishes malformed frames (a non-frame body on the GPU
and control queues, grouped orders and collects of the wrong shape) and returns one of
several malformed replica results instead of computing: wrong types, missing fields, a
digest that is not hex, a proof that is not a proof. None of them may crash the
orchestrator or count as a vote.
"""

import itertools

from shardy import frames
from shardy.celery_app import CONTROL_QUEUE, GPU_QUEUE
from shardy.workers import execute

_turn = itertools.count()


def _publish_garbage(app, queue, task_name, body):
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="shardy",
            routing_key=queue,
            content_type=frames.CONTENT_TYPE,
            content_encoding="binary",
            headers={"task": task_name, "id": f"garbage-{next(_turn)}", "lang": "py"},
        )


def _malformed(rt, order, attempts, report=None):
    n = next(_turn)
    _publish_garbage(rt.app, GPU_QUEUE, "shardy.execute", b"SHF\x01\xff\xff\xff\xffjunk")
    _publish_garbage(rt.app, CONTROL_QUEUE, "shardy.settle", b"\x00not a frame" * (n % 3 + 1))
    _publish_garbage(rt.app, CONTROL_QUEUE, "shardy.collect", b"\x00not a frame")
    # well-formed messages with arguments of the wrong shape
    rt.app.send_task("shardy.collect", args=([["not-a-task", 1], [order.task_id, "1"], 7],),
                     queue=CONTROL_QUEUE)  # fmt: skip
    rt.app.send_task("shardy.execute_many", args=(["junk", b"SHF\x01junk", 3],), queue=GPU_QUEUE)
    base = {"task_id": order.task_id, "replica": order.replica, "worker_id": rt.worker_id}
    variants = [
        {**base, "status": "ok"},  # lacks digest, proof, ...
        {
            **base,
            "status": "ok",
            "digest": "zz" * 32,
            "output_sha256": "zz" * 32,
            "output_size": 1,
            "proof": {"pi_a": "garbage"},
            "public_signals": ["1", "2"],
            "key_id": "nope",
        },  # fmt: skip
        {
            **base,
            "status": "ok",
            "digest": "00" * 32,
            "output_sha256": "00" * 32,
            "output_size": 4,
            "proof": {"pi_a": [], "pi_b": [], "pi_c": []},
            "public_signals": ["x"] * 5,
            "key_id": order.key_id,
        },  # fmt: skip
        {**base, "status": "verified"},  # unknown status
        {**base, "status": "ok", "surprise": True},  # unknown field
    ]
    return variants[n % len(variants)]


execute._compute = _malformed
