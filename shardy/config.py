"""Settings: every SHARDY_* environment variable, read once into one frozen object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shardy.config_checks import check_settings, env_values, is_redis, quorum_for, redact_url
from shardy.errors import ConfigError

__all__ = ["EMBEDDED_SOCKET", "Settings", "quorum_for", "redact_url"]

#: Socket file of the embedded Redis, relative to SHARDY_HOME.
EMBEDDED_SOCKET = "redis.sock"

_T = TypeVar("_T")


def _setting(default: _T, doc: str) -> _T:
    """A field with a plain default and its `docs/configuration.md` text in metadata["doc"]."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    """Typed, immutable configuration. Build with `Settings.from_env()`.

    Every field maps to an environment variable named ``SHARDY_<FIELD>`` (upper case);
    `docs/configuration.md` lists them with their defaults and meaning.
    """

    home: Path = field(
        default_factory=lambda: Path.home() / ".shardy",
        metadata={"doc": "Data dir: embedded Redis socket, SQLite file, worker secrets."},
    )
    broker_url: str | None = _setting(
        None, "Celery broker (redis://, rediss://, amqp://). Unset: embedded Redis."
    )
    result_url: str | None = _setting(None, "Celery result backend (Redis). Unset: the broker URL.")
    blob_url: str | None = _setting(
        None, "Redis for payload/output blobs. Unset: the broker or result Redis."
    )
    database_url: str | None = _setting(
        None, "SQLAlchemy URL of the state store. Unset: SQLite (WAL) in SHARDY_HOME."
    )
    redundancy_factor: int = _setting(3, "Replicas per task (R), each on a distinct worker.")
    quorum: int | None = _setting(None, "Agreeing workers needed. Unset: majority of R.")
    max_replicas: int | None = _setting(
        None, "Replicas a task may use in all, extras included. Unset: 2 x R."
    )
    retry_max: int = _setting(4, "Retries of a replica on transient errors before the DLQ.")
    backoff_base: float = _setting(0.5, "Seconds before the first retry; doubles each attempt.")
    backoff_max: float = _setting(30.0, "Cap on one retry delay (s).")
    inline_limit: int = _setting(
        16 * 1024, "Payloads up to this many bytes ride inside the frame; larger → blob."
    )
    blob_ttl: int = _setting(86_400, "Seconds a blob lives in Redis.")
    max_payload: int = _setting(256 * 1024 * 1024, "Largest accepted payload (bytes).")
    max_output: int = _setting(256 * 1024 * 1024, "Largest output a kernel may produce.")
    stream_threshold: int = _setting(
        64 * 1024 * 1024,
        "A worker streams payloads of at least this many bytes (a fleet worker from "
        "the blob store, a remote worker from its gateway) to a disk-backed scratch in "
        "chunks (checked as they come) instead of into RAM.",
    )
    max_workgroups: int = _setting(
        1 << 22, "Most workgroups one dispatch of a kernel may run on this worker."
    )
    task_time_limit: int = _setting(
        300, "Time limit of one replica's preprocessing and kernel (s), in every pool."
    )
    visibility_timeout: int | None = _setting(
        None, "Redis redelivery of unacked messages (s). Unset: 2 x task_time_limit."
    )
    stale_after: int | None = _setting(
        None,
        "Seconds without progress after which a running task gets a fresh round. "
        "Unset: visibility timeout + task time limit.",
    )
    early_quorum: bool = _setting(
        True,
        "Judge a round as its replicas arrive: a quorum that already agrees "
        "decides the task without waiting for the slowest replica.",
    )
    speculate_factor: float = _setting(
        1.0,
        "A round still short of a quorum this many times the kernel's p95 round "
        "spread after its first replica returned gets one speculative extra replica on "
        "another operator. 0: never.",
    )
    replication: str = _setting(
        "fixed",
        "fixed: every task runs R replicas. adaptive: a task whose first worker's "
        "operator is established runs on that one replica, except a random share that is "
        "fully replicated (SHARDY_ADAPTIVE_CHECK, more as its standing falls).",
    )
    homogeneous: bool = _setting(
        False,
        "Run a float (tolerance) kernel's replicas on one platform class (adapter, "
        "backend and driver) and require bit-identical outputs instead of a tolerance.",
    )
    adaptive_check: float = _setting(
        0.15, "Least share of adaptive tasks fully replicated as a check."
    )
    spot_check_rate: float = _setting(
        0.02,
        "Known-answer spot checks sent per task submitted (exact built-in kernels): "
        "same kernel and size, an answer the orchestrator computed itself. 0: none.",
    )
    standing_halflife: float = _setting(
        7 * 86_400.0, "Seconds after which a voter's judged votes count half."
    )
    probation_votes: int = _setting(
        10,
        "Agreeing votes a new operator needs before it is established; until then "
        "its votes count only beside established operators'.",
    )
    probation_share: float = _setting(0.5, "Most of a quorum that voters on probation may fill.")
    quarantine_faults: float = _setting(
        3.0,
        "Decayed faults (outvoted disagreements, refused attestations) at which a "
        "voter is quarantined: no orders, votes ignored. A failed spot check is enough.",
    )
    handback_max: int = _setting(40, "Times a replica is handed back to find a distinct worker.")
    wasm: bool = _setting(True, "Run preprocessors under wasmtime (off: Python).")
    gpu_adapter: str | None = _setting(None, "Adapter index or name substring for this worker.")
    worker_secret: str | None = field(
        default=None,
        repr=False,
        metadata={
            "doc": "This worker's attestation secret. Unset: created once in "
            "SHARDY_HOME/secrets (mode 0600)."
        },
    )
    key_grace: int = _setting(86_400, "Seconds a rotated-out verifier key is still accepted.")
    orchestrator_key: Path | None = field(
        default=None,
        repr=False,
        metadata={
            "doc": "Ed25519 key (PEM) the orchestrator signs verified records with; give every "
            "orchestrator process the same file. Unset: SHARDY_HOME/orchestrator-signing.key, "
            "created on first use (mode 0600)."
        },
    )
    attest_batch: int = _setting(
        32,
        "Most replicas per Groth16 proof: a worker proves whatever is waiting "
        "whenever its prover is free (one alone when idle, more under load), up to this "
        "cap; 1 proves every replica on its own.",
    )
    attest_wait_ms: int = _setting(
        0, "Extra time a batch may wait to fill (ms); 0: prove what is waiting at once."
    )
    group_orders: int = _setting(
        32,
        "Most replica orders a fleet worker (or a gateway, for its remote workers) "
        "receives in one message (shardy.map, bursts of submit, a lone task's round too; "
        "settled by collects); 1 sends every replica as a member of its task's chord.",
    )
    task_events: bool = _setting(
        False,
        "Workers always send Celery task events. Unset, they send none until "
        "Flower (or `celery control enable_events`) switches them on.",
    )
    p2p_listen: str = _setting(
        "/ip4/0.0.0.0/tcp/4001", "Sidecar listen multiaddrs (comma-separated)."
    )
    p2p_bootstrap: str = _setting("", "Sidecar bootstrap peers, multiaddrs ending in /p2p/<id>.")
    p2p_relays: str = _setting("", "Circuit-relay v2 peers for sidecars without inbound routes.")
    p2p_mdns: bool = _setting(False, "Sidecar LAN discovery by mDNS.")
    p2p_max_rate: float = _setting(100.0, "Verified records/s a sidecar accepts per peer.")
    p2p_min_quorum: int | None = _setting(
        None,
        "Fewest distinct enrolled voters a gossiped record must prove (it may claim "
        "more). Unset: the quorum of R (SHARDY_QUORUM, or a majority of "
        "SHARDY_REDUNDANCY_FACTOR).",
    )
    p2p_trusted: str = _setting(
        "",
        "Orchestrator public keys (hex, `shardy keys orchestrator`) whose signed "
        "records a sidecar accepts, comma-separated; an entry may be a file of keys, one "
        "per line, re-read when it changes. Unset: the keys the orchestrator published in "
        "the sidecar's own Redis.",
    )
    p2p_max_records: int = _setting(
        100_000, "Records a sidecar keeps; the oldest are evicted beyond it."
    )
    p2p_max_age: int = _setting(
        7 * 86_400, "Seconds a sidecar keeps a record; older signed records are refused as replays."
    )
    worker_id: str | None = _setting(
        None, "Stable worker id. Unset: derived from host, node name and adapter."
    )
    operator: str | None = _setting(
        None,
        "Operator a fleet worker answers to (its GPUs count once toward a quorum). "
        "Unset: the worker's own id.",
    )
    distinct: str = _setting(
        "operator",
        "Unit of independence of fleet workers' replicas and votes: operator "
        "(SHARDY_OPERATOR) or worker. Remote workers always count per operator.",
    )
    gateway_url: str | None = _setting(
        None,
        "Gateway a remote worker connects to (ws:// or wss://). Set: `shardy "
        "worker` runs as a remote worker, with no broker, Redis or database access.",
    )
    gateway_token: str | None = field(
        default=None,
        repr=False,
        metadata={"doc": "Operator's enrollment token a remote worker uses on its first run."},
    )
    gateway_listen: str = _setting("127.0.0.1:8765", "Address (host:port) the gateway serves on.")
    gateway_id: str | None = _setting(None, "Stable gateway id. Unset: host and port.")
    gateway_cert: Path | None = _setting(
        None, "TLS certificate (PEM) of the gateway; with the key, it serves wss://."
    )
    gateway_key: Path | None = field(
        default=None, repr=False, metadata={"doc": "TLS private key (PEM) of the gateway."}
    )
    gateway_ca: Path | None = _setting(
        None, "CA bundle a remote worker trusts the gateway's certificate with."
    )
    remote_slots: int = _setting(4, "Most replicas a remote worker holds at once (its cap).")
    handshake_timeout: float = _setting(
        30.0, "Seconds a connection has to finish its handshake with the gateway."
    )
    session_grace: float = _setting(
        10.0,
        "Seconds a dropped session's replicas wait for it to come back before "
        "they go to another worker.",
    )

    # ---- derived values -------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        """True when no broker URL is set and Shardy runs its own Redis."""
        return self.broker_url is None

    @property
    def embedded_socket(self) -> Path:
        """Path of the embedded Redis unix socket."""
        return self.home / EMBEDDED_SOCKET

    @property
    def broker(self) -> str:
        """The effective broker URL."""
        if self.broker_url:
            return self.broker_url
        return f"redis+socket://{self.embedded_socket}"

    @property
    def result_backend(self) -> str:
        """The effective result backend URL (must be Redis)."""
        url = self.result_url or self.broker
        if not is_redis(url):
            raise ConfigError(
                f"result backend {redact_url(url)!r} is not Redis; set SHARDY_RESULT_URL to a "
                "redis:// URL when the broker is AMQP"
            )
        return url

    @property
    def blob_redis_url(self) -> str:
        """The Redis URL (redis-py form) used for blobs, claims and the verified stream."""
        url = self.blob_url or self.result_backend
        if not is_redis(url):
            raise ConfigError(f"blob store {redact_url(url)!r} is not Redis; set SHARDY_BLOB_URL")
        if url.startswith("redis+socket://"):
            return "unix://" + url[len("redis+socket://") :]
        return url

    @property
    def database(self) -> str:
        """The effective SQLAlchemy database URL."""
        return self.database_url or f"sqlite:///{self.home / 'shardy.db'}"

    @property
    def effective_quorum(self) -> int:
        """Agreeing distinct workers needed for a task with the default redundancy."""
        return quorum_for(self.redundancy_factor, self.quorum)

    @property
    def effective_max_replicas(self) -> int:
        """Replicas a task may consume including extras."""
        return self.max_replicas or 2 * self.redundancy_factor

    @property
    def effective_stale_after(self) -> int:
        """Seconds of silence before the sweeper re-sends a task's round."""
        return self.stale_after or self.effective_visibility_timeout + self.task_time_limit

    @property
    def effective_visibility_timeout(self) -> int:
        """Seconds before Redis redelivers an unacknowledged message."""
        return self.visibility_timeout or 2 * self.task_time_limit

    def voter(self, worker_id: str, operator: str | None, kind: str = "fleet") -> str:
        """The unit a worker's vote counts for: its operator, or itself (SHARDY_DISTINCT).

        A remote worker's vote always counts for its operator: its keys cost nothing to make,
        so counting them apart would let one token holder make a quorum alone."""
        if kind == "remote" and operator:
            return operator
        return (operator or worker_id) if self.distinct == "operator" else worker_id

    @property
    def effective_p2p_min_quorum(self) -> int:
        """Fewest distinct voters a gossiped record must prove (default: the quorum of R)."""
        return self.p2p_min_quorum or self.effective_quorum

    @property
    def p2p_dir(self) -> Path:
        """The sidecar's data dir (identity key, its table of received records)."""
        return self.home / "p2p"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``SHARDY_*`` variables (default: `os.environ`) into a validated Settings.

        Raises:
            ConfigError: a variable does not parse or the values are inconsistent.
        """
        values = env_values(cls, os.environ if env is None else env)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (validated)."""
        new = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        new.validate()
        return new

    def validate(self) -> None:
        """Check cross-field consistency. Raises ConfigError."""
        check_settings(self)
