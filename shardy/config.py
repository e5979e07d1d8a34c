"""Settings: every SHARDY_* environment variable, read once into one frozen object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shardy.errors import ConfigError

#: Socket file of the embedded Redis, relative to SHARDY_HOME.
EMBEDDED_SOCKET = "redis.sock"


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
    broker_url: str | None = field(
        default=None,
        metadata={"doc": "Celery broker (redis://, rediss://, amqp://). Unset: embedded Redis."},
    )
    result_url: str | None = field(
        default=None, metadata={"doc": "Celery result backend (Redis). Unset: the broker URL."}
    )
    blob_url: str | None = field(
        default=None,
        metadata={"doc": "Redis for payload/output blobs. Unset: the broker or result Redis."},
    )
    database_url: str | None = field(
        default=None,
        metadata={"doc": "SQLAlchemy URL of the state store. Unset: SQLite (WAL) in SHARDY_HOME."},
    )
    redundancy_factor: int = field(
        default=3, metadata={"doc": "Replicas per task (R), each on a distinct worker."}
    )
    quorum: int | None = field(
        default=None, metadata={"doc": "Agreeing workers needed. Unset: majority of R."}
    )
    max_replicas: int | None = field(
        default=None,
        metadata={"doc": "Replicas a task may use in all, extras included. Unset: 2 x R."},
    )
    retry_max: int = field(
        default=4, metadata={"doc": "Retries of a replica on transient errors before the DLQ."}
    )
    backoff_base: float = field(
        default=0.5, metadata={"doc": "Seconds before the first retry; doubles each attempt."}
    )
    backoff_max: float = field(default=30.0, metadata={"doc": "Cap on one retry delay (s)."})
    inline_limit: int = field(
        default=16 * 1024,
        metadata={"doc": "Payloads up to this many bytes ride inside the frame; larger → blob."},
    )
    blob_ttl: int = field(default=86_400, metadata={"doc": "Seconds a blob lives in Redis."})
    max_payload: int = field(
        default=256 * 1024 * 1024, metadata={"doc": "Largest accepted payload (bytes)."}
    )
    max_output: int = field(
        default=256 * 1024 * 1024, metadata={"doc": "Largest output a kernel may produce."}
    )
    stream_threshold: int = field(
        default=64 * 1024 * 1024,
        metadata={
            "doc": "A worker streams payloads of at least this many bytes (a fleet worker from "
            "the blob store, a remote worker from its gateway) to a disk-backed scratch in "
            "chunks (checked as they come) instead of into RAM."
        },
    )
    max_workgroups: int = field(
        default=1 << 22,
        metadata={"doc": "Most workgroups one dispatch of a kernel may run on this worker."},
    )
    task_time_limit: int = field(
        default=300,
        metadata={
            "doc": "Time limit of one replica's preprocessing and kernel (s), in every pool."
        },
    )
    visibility_timeout: int | None = field(
        default=None,
        metadata={"doc": "Redis redelivery of unacked messages (s). Unset: 2 x task_time_limit."},
    )
    stale_after: int | None = field(
        default=None,
        metadata={
            "doc": "Seconds without progress after which a running task gets a fresh round. "
            "Unset: visibility timeout + task time limit."
        },
    )
    early_quorum: bool = field(
        default=True,
        metadata={
            "doc": "Judge a round as its replicas arrive: a quorum that already agrees "
            "decides the task without waiting for the slowest replica."
        },
    )
    speculate_factor: float = field(
        default=1.0,
        metadata={
            "doc": "A round still short of a quorum this many times the kernel's p95 round "
            "spread after its first replica returned gets one speculative extra replica on "
            "another operator. 0: never."
        },
    )
    replication: str = field(
        default="fixed",
        metadata={
            "doc": "fixed: every task runs R replicas. adaptive: a task whose first worker's "
            "operator is established runs on that one replica, except a random share that is "
            "fully replicated (SHARDY_ADAPTIVE_CHECK, more as its standing falls)."
        },
    )
    homogeneous: bool = field(
        default=False,
        metadata={
            "doc": "Run a float (tolerance) kernel's replicas on one platform class (adapter, "
            "backend and driver) and require bit-identical outputs instead of a tolerance."
        },
    )
    adaptive_check: float = field(
        default=0.15,
        metadata={"doc": "Least share of adaptive tasks fully replicated as a check."},
    )
    spot_check_rate: float = field(
        default=0.02,
        metadata={
            "doc": "Known-answer spot checks sent per task submitted (exact built-in kernels): "
            "same kernel and size, an answer the orchestrator computed itself. 0: none."
        },
    )
    standing_halflife: float = field(
        default=7 * 86_400.0,
        metadata={"doc": "Seconds after which a voter's judged votes count half."},
    )
    probation_votes: int = field(
        default=10,
        metadata={
            "doc": "Agreeing votes a new operator needs before it is established; until then "
            "its votes count only beside established operators'."
        },
    )
    probation_share: float = field(
        default=0.5,
        metadata={"doc": "Most of a quorum that voters on probation may fill."},
    )
    quarantine_faults: float = field(
        default=3.0,
        metadata={
            "doc": "Decayed faults (outvoted disagreements, refused attestations) at which a "
            "voter is quarantined: no orders, votes ignored. A failed spot check is enough."
        },
    )
    handback_max: int = field(
        default=40,
        metadata={"doc": "Times a replica is handed back to find a distinct worker."},
    )
    wasm: bool = field(
        default=True, metadata={"doc": "Run preprocessors under wasmtime (off: Python)."}
    )
    gpu_adapter: str | None = field(
        default=None, metadata={"doc": "Adapter index or name substring for this worker."}
    )
    worker_secret: str | None = field(
        default=None,
        repr=False,
        metadata={
            "doc": "This worker's attestation secret. Unset: created once in "
            "SHARDY_HOME/secrets (mode 0600)."
        },
    )
    key_grace: int = field(
        default=86_400,
        metadata={"doc": "Seconds a rotated-out verifier key is still accepted."},
    )
    orchestrator_key: Path | None = field(
        default=None,
        repr=False,
        metadata={
            "doc": "Ed25519 key (PEM) the orchestrator signs verified records with; give every "
            "orchestrator process the same file. Unset: SHARDY_HOME/orchestrator-signing.key, "
            "created on first use (mode 0600)."
        },
    )
    attest_batch: int = field(
        default=32,
        metadata={
            "doc": "Most replicas per Groth16 proof: a worker proves whatever is waiting "
            "whenever its prover is free (one alone when idle, more under load), up to this "
            "cap; 1 proves every replica on its own."
        },
    )
    attest_wait_ms: int = field(
        default=0,
        metadata={
            "doc": "Extra time a batch may wait to fill (ms); 0: prove what is waiting at once."
        },
    )
    group_orders: int = field(
        default=32,
        metadata={
            "doc": "Most replica orders a fleet worker (or a gateway, for its remote workers) "
            "receives in one message (shardy.map, bursts of submit, a lone task's round too; "
            "settled by collects); 1 sends every replica as a member of its task's chord."
        },
    )
    task_events: bool = field(
        default=False,
        metadata={
            "doc": "Workers always send Celery task events. Unset, they send none until "
            "Flower (or `celery control enable_events`) switches them on."
        },
    )
    p2p_listen: str = field(
        default="/ip4/0.0.0.0/tcp/4001",
        metadata={"doc": "Sidecar listen multiaddrs (comma-separated)."},
    )
    p2p_bootstrap: str = field(
        default="", metadata={"doc": "Sidecar bootstrap peers, multiaddrs ending in /p2p/<id>."}
    )
    p2p_relays: str = field(
        default="", metadata={"doc": "Circuit-relay v2 peers for sidecars without inbound routes."}
    )
    p2p_mdns: bool = field(default=False, metadata={"doc": "Sidecar LAN discovery by mDNS."})
    p2p_max_rate: float = field(
        default=100.0, metadata={"doc": "Verified records/s a sidecar accepts per peer."}
    )
    p2p_min_quorum: int | None = field(
        default=None,
        metadata={
            "doc": "Fewest distinct enrolled voters a gossiped record must prove (it may claim "
            "more). Unset: the quorum of R (SHARDY_QUORUM, or a majority of "
            "SHARDY_REDUNDANCY_FACTOR)."
        },
    )
    p2p_trusted: str = field(
        default="",
        metadata={
            "doc": "Orchestrator public keys (hex, `shardy keys orchestrator`) whose signed "
            "records a sidecar accepts, comma-separated; an entry may be a file of keys, one "
            "per line, re-read when it changes. Unset: the keys the orchestrator published in "
            "the sidecar's own Redis."
        },
    )
    p2p_max_records: int = field(
        default=100_000,
        metadata={"doc": "Records a sidecar keeps; the oldest are evicted beyond it."},
    )
    p2p_max_age: int = field(
        default=7 * 86_400,
        metadata={
            "doc": "Seconds a sidecar keeps a record; older signed records are refused as replays."
        },
    )
    worker_id: str | None = field(
        default=None,
        metadata={"doc": "Stable worker id. Unset: derived from host, node name and adapter."},
    )
    operator: str | None = field(
        default=None,
        metadata={
            "doc": "Operator a fleet worker answers to (its GPUs count once toward a quorum). "
            "Unset: the worker's own id."
        },
    )
    distinct: str = field(
        default="operator",
        metadata={
            "doc": "Unit of independence of fleet workers' replicas and votes: operator "
            "(SHARDY_OPERATOR) or worker. Remote workers always count per operator."
        },
    )
    gateway_url: str | None = field(
        default=None,
        metadata={
            "doc": "Gateway a remote worker connects to (ws:// or wss://). Set: `shardy "
            "worker` runs as a remote worker, with no broker, Redis or database access."
        },
    )
    gateway_token: str | None = field(
        default=None,
        repr=False,
        metadata={"doc": "Operator's enrollment token a remote worker uses on its first run."},
    )
    gateway_listen: str = field(
        default="127.0.0.1:8765", metadata={"doc": "Address (host:port) the gateway serves on."}
    )
    gateway_id: str | None = field(
        default=None, metadata={"doc": "Stable gateway id. Unset: host and port."}
    )
    gateway_cert: Path | None = field(
        default=None,
        metadata={"doc": "TLS certificate (PEM) of the gateway; with the key, it serves wss://."},
    )
    gateway_key: Path | None = field(
        default=None, repr=False, metadata={"doc": "TLS private key (PEM) of the gateway."}
    )
    gateway_ca: Path | None = field(
        default=None,
        metadata={"doc": "CA bundle a remote worker trusts the gateway's certificate with."},
    )
    remote_slots: int = field(
        default=4, metadata={"doc": "Most replicas a remote worker holds at once (its cap)."}
    )
    handshake_timeout: float = field(
        default=30.0,
        metadata={"doc": "Seconds a connection has to finish its handshake with the gateway."},
    )
    session_grace: float = field(
        default=10.0,
        metadata={
            "doc": "Seconds a dropped session's replicas wait for it to come back before "
            "they go to another worker."
        },
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
        if not _is_redis(url):
            raise ConfigError(
                f"result backend {_redact(url)!r} is not Redis; set SHARDY_RESULT_URL to a "
                "redis:// URL when the broker is AMQP"
            )
        return url

    @property
    def blob_redis_url(self) -> str:
        """The Redis URL (redis-py form) used for blobs, claims and the verified stream."""
        url = self.blob_url or self.result_backend
        if not _is_redis(url):
            raise ConfigError(f"blob store {_redact(url)!r} is not Redis; set SHARDY_BLOB_URL")
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
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"SHARDY_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, f.type)
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
        r = self.redundancy_factor
        if r < 1:
            raise ConfigError(f"SHARDY_REDUNDANCY_FACTOR must be >= 1, got {r}")
        q = self.effective_quorum
        if not 1 <= q <= r:
            raise ConfigError(f"SHARDY_QUORUM must be between 1 and R={r}, got {q}")
        if self.effective_max_replicas < r:
            raise ConfigError(
                f"SHARDY_MAX_REPLICAS ({self.max_replicas}) is below the redundancy factor {r}"
            )
        if self.attest_batch < 1 or self.attest_wait_ms < 0:
            raise ConfigError("need SHARDY_ATTEST_BATCH >= 1 and SHARDY_ATTEST_WAIT_MS >= 0")
        if self.group_orders < 1:
            raise ConfigError(f"SHARDY_GROUP_ORDERS must be >= 1, got {self.group_orders}")
        if self.max_workgroups < 1:
            raise ConfigError("SHARDY_MAX_WORKGROUPS must be >= 1")
        for name in ("retry_max", "inline_limit", "blob_ttl", "max_payload", "max_output",
                     "stream_threshold", "speculate_factor", "probation_votes",
                     "quarantine_faults"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ConfigError(f"SHARDY_{name.upper()} must be >= 0")
        if self.backoff_base <= 0 or self.backoff_max < self.backoff_base:
            raise ConfigError("need 0 < SHARDY_BACKOFF_BASE <= SHARDY_BACKOFF_MAX")
        if self.distinct not in ("operator", "worker"):
            raise ConfigError(f"SHARDY_DISTINCT must be operator or worker, got {self.distinct!r}")
        if self.replication not in ("fixed", "adaptive"):
            raise ConfigError(
                f"SHARDY_REPLICATION must be fixed or adaptive, got {self.replication!r}"
            )
        for name in ("adaptive_check", "spot_check_rate", "probation_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"SHARDY_{name.upper()} must be between 0 and 1")
        if self.standing_halflife <= 0:
            raise ConfigError("SHARDY_STANDING_HALFLIFE must be > 0 (seconds)")
        if self.remote_slots < 1 or self.session_grace < 0:
            raise ConfigError("need SHARDY_REMOTE_SLOTS >= 1 and SHARDY_SESSION_GRACE >= 0")
        if self.p2p_max_records < 1 or self.p2p_max_age < 1:
            raise ConfigError("need SHARDY_P2P_MAX_RECORDS >= 1 and SHARDY_P2P_MAX_AGE >= 1")
        if self.p2p_min_quorum is not None and self.p2p_min_quorum < 1:
            raise ConfigError("SHARDY_P2P_MIN_QUORUM must be >= 1 (unset: the quorum of R)")
        if (self.gateway_cert is None) != (self.gateway_key is None):
            raise ConfigError("set both SHARDY_GATEWAY_CERT and SHARDY_GATEWAY_KEY, or neither")


def quorum_for(redundancy: int, quorum: int | None) -> int:
    """The quorum for R replicas: the given value, or a strict majority of R."""
    return quorum if quorum is not None else redundancy // 2 + 1


def _is_redis(url: str) -> bool:
    return url.split("://", 1)[0] in {"redis", "rediss", "redis+socket", "unix"}


def _redact(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _parse(name: str, raw: str, typ: object) -> object:
    text = str(typ)
    var = f"SHARDY_{name.upper()}"
    try:
        if "Path" in text:
            return Path(raw).expanduser()
        if "bool" in text:
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if "int" in text:
            return int(raw)
        if "float" in text:
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{var}={raw!r} does not parse as {text}; fix or unset it") from exc
    return raw


redact_url = _redact
