"""Verifier-key states in SQL: seeding from the manifest, rotation with a grace window, lookup."""

from __future__ import annotations

import json
import logging
import time
import weakref
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shardy import keyring
from shardy.celery_app import ShardyCelery
from shardy.errors import ProofError, ShardyError
from shardy.statement import version_of
from shardy.store import VerifierKey
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

_UNRETIRED = select(VerifierKey).where(VerifierKey.state != "retired")

_ACTIVE_CACHE_S = 5.0
#: app → (active key id, monotonic time the cached id expires); per process, per app
_active: weakref.WeakKeyDictionary[ShardyCelery, tuple[str, float]] = weakref.WeakKeyDictionary()


def _seed(app: ShardyCelery, session: Session, manifest: Path = keyring.MANIFEST) -> None:
    """Install the manifest's keys on a fresh store (and publish them to Redis); retired
    entries (kept for stores seeded by an earlier release) are not installed."""
    for entry in keyring.read_manifest(manifest):
        if entry.state == "retired":
            continue
        kid, circuit = keyring.load_build(entry.build)
        if kid != entry.id:
            which = ""
            if entry.sha256:
                got = keyring.build_manifest(entry.build)
                which = f" ({', '.join(keyring.differing_files(entry.sha256, got))} changed)"
            raise ProofError(
                f"manifest says key {entry.id} but {entry.build} hashes to {kid}{which}; the id "
                "covers vkey.json, attestation.zkey and attestation.wasm: restore the committed "
                "build, or put the new id and hashes in circuits/manifest.json"
            )
        _publish(app, entry.build, kid)
        session.add(
            VerifierKey(id=kid, state=entry.state, vkey=circuit.vkey_json, source=str(entry.build))
        )
    session.flush()


def _publish(app: ShardyCelery, build_dir: Path, kid: str, *, rotating: bool = False) -> None:
    """Publish a key's files in Redis with its signed announcement (`shardy.p2p.announce`),
    which sidecars gossip so peers without this Redis learn the key.

    Only a process that holds the orchestrator's signing key announces: a rotation (run on the
    orchestrator's host) creates the key if it is new; seeding and republishing, which any
    submitting process may do, never create one (a packaged key needs no announcement: peers
    ship with it). A key that cannot be signed is still published (logged)."""
    from shardy.orchestrator import signing
    from shardy.p2p import announce

    keyring.publish(app.redis, build_dir, expect=kid)
    if not rotating and not signing.key_path(app.settings).exists():
        return
    try:
        vkey = json.loads((Path(build_dir) / keyring.FILES["vkey"]).read_text())
        signed = announce.sign_key(
            keyring.build_manifest(build_dir), vkey, signing.signing_key(app)
        )
        app.redis.hset(keyring.KEY_PREFIX + kid, announce.FIELD, signed)
    except (ShardyError, OSError, ValueError) as exc:
        log.warning("verifier key %s published unannounced (gossip peers will not learn it "
                    "without Redis): %s", kid, exc)  # fmt: skip


def active_key(app: ShardyCelery) -> str:
    """The id of the key new tasks prove with (seeding a fresh store); cached for a few seconds."""
    cached = _active.get(app)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    with app.store.session() as session:
        row = session.scalars(select(VerifierKey).where(VerifierKey.state == "active")).first()
        if row is None:
            _seed(app, session)
            row = session.scalars(select(VerifierKey).where(VerifierKey.state == "active")).one()
        kid = row.id
        if not app.redis.exists(keyring.KEY_PREFIX + kid) and row.source:
            # Redis lost it (restart, flush): republish, refusing a build dir that changed since
            _publish(app, Path(row.source), kid)
    _active[app] = (kid, time.monotonic() + _ACTIVE_CACHE_S)
    return kid


def accepted(session: Session) -> dict[str, dict]:
    """vkey JSON of every key attestations are accepted under (active, or grace not expired).

    Keys whose grace window has passed are retired here.
    """
    now = utcnow()
    out = {}
    for row in session.scalars(_UNRETIRED):
        if row.state == "grace" and row.grace_until is not None and row.grace_until <= now:
            row.state = "retired"
            continue
        out[row.id] = row.vkey
    return out


def rotate(app: ShardyCelery, build_dir: Path, grace: int) -> str:
    """Install the key in ``build_dir`` as active; the previous active key enters grace.

    Zero downtime: replicas already dispatched under the old key keep verifying for
    ``grace`` seconds; new tasks prove with the new key, which workers fetch from Redis.
    """
    kid, circuit = keyring.load_build(build_dir)  # the id covers vkey, zkey and witness wasm
    _publish(app, build_dir, kid, rotating=True)
    with app.store.session() as session:
        if session.scalars(select(VerifierKey)).first() is None:
            _seed(app, session)
        for row in session.scalars(select(VerifierKey).where(VerifierKey.state == "active")):
            if row.id != kid:
                row.state, row.grace_until = "grace", utcnow() + timedelta(seconds=grace)
        row = session.get(VerifierKey, kid)
        if row is None:
            session.add(
                VerifierKey(
                    id=kid, state="active", vkey=circuit.vkey_json, source=str(build_dir.resolve())
                )
            )
        else:
            row.state, row.grace_until = "active", None
    _active.pop(app, None)
    return kid


def _version(vkey: dict) -> int | None:
    """The attestation statement version a stored key proves (None: not a known one)."""
    try:
        return version_of(vkey)
    except ProofError:
        return None


def listing(app: ShardyCelery) -> list[dict]:
    """Every key: id, state, grace end and where its files came from (seeding a fresh store)."""
    active_key(app)
    with app.store.session() as session:
        accepted(session)
        return [
            {
                "id": r.id,
                "state": r.state,
                "grace_until": r.grace_until.isoformat() if r.grace_until else None,
                "vkey": str(Path(r.source) / "vkey.json") if r.source else None,
                "installed_at": r.installed_at.isoformat(),
                "statement": _version(r.vkey),
            }
            for r in session.scalars(select(VerifierKey).order_by(VerifierKey.installed_at))
        ]
