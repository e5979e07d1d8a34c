"""Parsing and checking of `Settings`: SHARDY_* values from text, cross-field validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shardy.errors import ConfigError

if TYPE_CHECKING:
    from shardy.config import Settings


def quorum_for(redundancy: int, quorum: int | None) -> int:
    """The quorum for R replicas: the given value, or a strict majority of R."""
    return quorum if quorum is not None else redundancy // 2 + 1


def is_redis(url: str) -> bool:
    """True for a Redis URL (redis://, rediss://, redis+socket://, unix://)."""
    return url.split("://", 1)[0] in {"redis", "rediss", "redis+socket", "unix"}


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def parse_value(name: str, raw: str, typ: object) -> object:
    """The value of variable ``SHARDY_<NAME>`` (text `raw`) as the field type `typ` names.

    Raises:
        ConfigError: `raw` does not parse as that type.
    """
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


def env_values(cls: type[Settings], env: Mapping[str, str]) -> dict[str, object]:
    """The fields of `cls` set in `env` (``SHARDY_<FIELD>``, non-empty), parsed.

    Raises:
        ConfigError: a variable does not parse.
    """
    values: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        raw = env.get(f"SHARDY_{f.name.upper()}")
        if raw is None or raw == "":
            continue
        values[f.name] = parse_value(f.name, raw, f.type)
    return values


def check_settings(s: Settings) -> None:
    """Check the cross-field consistency of `s`. Raises ConfigError."""
    r = s.redundancy_factor
    if r < 1:
        raise ConfigError(f"SHARDY_REDUNDANCY_FACTOR must be >= 1, got {r}")
    q = s.effective_quorum
    if not 1 <= q <= r:
        raise ConfigError(f"SHARDY_QUORUM must be between 1 and R={r}, got {q}")
    if s.effective_max_replicas < r:
        raise ConfigError(
            f"SHARDY_MAX_REPLICAS ({s.max_replicas}) is below the redundancy factor {r}"
        )
    if s.attest_batch < 1 or s.attest_wait_ms < 0:
        raise ConfigError("need SHARDY_ATTEST_BATCH >= 1 and SHARDY_ATTEST_WAIT_MS >= 0")
    if s.group_orders < 1:
        raise ConfigError(f"SHARDY_GROUP_ORDERS must be >= 1, got {s.group_orders}")
    if s.max_workgroups < 1:
        raise ConfigError("SHARDY_MAX_WORKGROUPS must be >= 1")
    for name in ("retry_max", "inline_limit", "blob_ttl", "max_payload", "max_output",
                 "stream_threshold", "speculate_factor", "probation_votes",
                 "quarantine_faults"):  # fmt: skip
        if getattr(s, name) < 0:
            raise ConfigError(f"SHARDY_{name.upper()} must be >= 0")
    if s.backoff_base <= 0 or s.backoff_max < s.backoff_base:
        raise ConfigError("need 0 < SHARDY_BACKOFF_BASE <= SHARDY_BACKOFF_MAX")
    if s.distinct not in ("operator", "worker"):
        raise ConfigError(f"SHARDY_DISTINCT must be operator or worker, got {s.distinct!r}")
    if s.replication not in ("fixed", "adaptive"):
        raise ConfigError(f"SHARDY_REPLICATION must be fixed or adaptive, got {s.replication!r}")
    for name in ("adaptive_check", "spot_check_rate", "probation_share"):
        if not 0.0 <= getattr(s, name) <= 1.0:
            raise ConfigError(f"SHARDY_{name.upper()} must be between 0 and 1")
    if s.standing_halflife <= 0:
        raise ConfigError("SHARDY_STANDING_HALFLIFE must be > 0 (seconds)")
    if s.remote_slots < 1 or s.session_grace < 0:
        raise ConfigError("need SHARDY_REMOTE_SLOTS >= 1 and SHARDY_SESSION_GRACE >= 0")
    if s.p2p_max_records < 1 or s.p2p_max_age < 1:
        raise ConfigError("need SHARDY_P2P_MAX_RECORDS >= 1 and SHARDY_P2P_MAX_AGE >= 1")
    if s.p2p_min_quorum is not None and s.p2p_min_quorum < 1:
        raise ConfigError("SHARDY_P2P_MIN_QUORUM must be >= 1 (unset: the quorum of R)")
    if (s.gateway_cert is None) != (s.gateway_key is None):
        raise ConfigError("set both SHARDY_GATEWAY_CERT and SHARDY_GATEWAY_KEY, or neither")
