"""Settle's proof-verification timer: a Prometheus histogram kept in Redis.

Proof verification runs in the orchestrator's Celery pool children while the exporter
(`shardy.ops.metrics`) is its own process, so the counts live in one Redis hash that every
process of a deployment reaches; the exporter reads it at scrape time.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence

import redis
from prometheus_client.core import HistogramMetricFamily

log = logging.getLogger("shardy.metrics")


class SharedHistogram:
    """A Prometheus histogram whose counts live in one Redis hash, shared by every process.

    ``observe`` is one pipelined round trip (bucket, count, sum); a Redis error is logged and
    dropped, so metrics never fail the data path. The exporter reads the hash at scrape time.

    Args:
        name: metric name, without ``_bucket`` / ``_count`` / ``_sum``.
        documentation: the HELP text.
        buckets: increasing upper bounds in seconds (``+Inf`` is implied).
        key: the Redis hash holding the counts.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float], key: str) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError(f"{name}: buckets must be distinct and increasing, got {buckets}")
        self.name = name
        self.documentation = documentation
        self.buckets = tuple(float(b) for b in buckets)
        self.key = key

    def _field(self, amount: float) -> str:
        for bound in self.buckets:
            if amount <= bound:
                return f"le:{bound!r}"
        return "le:+Inf"

    def observe(self, amount: float, client: redis.Redis) -> None:
        """Count one observation of ``amount`` seconds in the shared histogram."""
        self.observe_many([amount], client)

    def observe_many(self, amounts: Sequence[float], client: redis.Redis) -> None:
        """Count several observations (seconds) in one round trip; none: no round trip."""
        if not amounts:
            return
        try:
            pipe = client.pipeline(transaction=True)
            self.stage_many(pipe, amounts)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            log.warning("could not record %d %s in Redis: %s", len(amounts), self.name, exc)

    def stage_many(self, pipe: redis.client.Pipeline, amounts: Sequence[float]) -> None:
        """Queue `observe_many`'s commands on ``pipe`` (the caller executes it)."""
        if not amounts:
            return
        fields: dict[str, int] = {}
        for amount in amounts:
            field = self._field(amount)
            fields[field] = fields.get(field, 0) + 1
        for field, n in fields.items():
            pipe.hincrby(self.key, field, n)
        pipe.hincrby(self.key, "count", len(amounts))
        pipe.hincrbyfloat(self.key, "sum", sum(amounts))

    @contextlib.contextmanager
    def time(self, client: redis.Redis) -> Iterator[None]:
        """Observe the wall time of the ``with`` block."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - start, client)

    def collect_from(self, client: redis.Redis) -> HistogramMetricFamily:
        """The histogram as stored now (cumulative buckets, count and sum)."""
        raw = {k.decode(): v.decode() for k, v in client.hgetall(self.key).items()}
        running, buckets = 0, []
        for bound in self.buckets:
            running += int(raw.get(f"le:{bound!r}", 0))
            buckets.append((_bound_text(bound), running))
        running += int(raw.get("le:+Inf", 0))
        buckets.append(("+Inf", running))
        return HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=float(raw.get("sum", 0.0))
        )

    def reset(self, client: redis.Redis) -> None:
        """Drop every count (tests, or a deliberate reset of a deployment's history)."""
        client.delete(self.key)


def _bound_text(bound: float) -> str:
    # Prometheus' own client writes bucket bounds like this: 0.005, 1.0, 10.0
    return repr(float(bound))


PROOF_VERIFY_SECONDS = SharedHistogram(
    "shardy_proof_verify_seconds",
    "Wall time of one settle round's attestation check (batch Groth16 verification).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    key="shardy:metrics:proof_verify_seconds",
)
"""Settle times each round's check and observes them all at the end of its transaction
(`shardy.orchestrator.evidence.announce`, `SharedHistogram.observe_many`)."""
