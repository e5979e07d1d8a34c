"""Verifier keys: their ids, the committed manifest, and key material shared through Redis.

A key id covers every file a worker runs or reads. It is the first 16 hex digits of the sha256 of
the key's canonical *key manifest* ``{"vkey": sha256(canonical vkey.json), "zkey":
sha256(attestation.zkey), "wasm": sha256(attestation.wasm)}``, so a party holding only the vkey
and the two file hashes (a gossip peer) can recompute it (`key_id`).

The orchestrator publishes each accepted key's three files and its manifest under
``shardy:zk:key:<id>``; a replica order names the key to prove with, and workers load it from
Redis once (`KeyCache`; the package's own active key also from its build while it is not
published), refusing material that does not hash to the id, from Redis and from their disk
cache alike. A rotation thus reaches every GPU box without copying files, and a
swapped witness wasm or zkey is never run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from shardy.errors import ProofError, TransientError

if TYPE_CHECKING:
    from shardy.zk import Circuit

#: The packaged circuit artifacts (``shardy/circuits``, a link to the top-level ``circuits/``
#: in a checkout): the one place code finds them, in a checkout and an installed package alike.
CIRCUITS = Path(__file__).parent / "circuits"
MANIFEST = CIRCUITS / "manifest.json"
KEY_PREFIX = "shardy:zk:key:"
#: A key's files: manifest field → file name (in a build directory and in a worker's cache).
FILES = {"vkey": "vkey.json", "zkey": "attestation.zkey", "wasm": "attestation.wasm"}
#: The Redis field, and the file in a worker's cache, holding a key's manifest (canonical JSON).
MANIFEST_FIELD = "manifest"
_MANIFEST_FILE = "manifest.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{1,32}")  # a path component in the worker's cache
#: Cached keys (the latest fetched) a fleet worker warms up besides the packaged active key.
WARM_CACHED = 2


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def vkey_sha256(vkey_json: Mapping[str, Any]) -> str:
    """The sha256 of a verifying key's canonical JSON (sorted keys, no spaces): its manifest
    entry, independent of how vkey.json is formatted."""
    return hashlib.sha256(_canonical(vkey_json)).hexdigest()


def manifest_id(manifest: Mapping[str, str]) -> str:
    """A key's id: the first 16 hex digits of the sha256 of its canonical manifest.

    Raises:
        ProofError: the manifest does not map exactly vkey, zkey and wasm to sha256 hex digests.
    """
    if set(manifest) != set(FILES) or not all(_is_sha256(v) for v in manifest.values()):
        raise ProofError(
            f"a key manifest maps exactly {sorted(FILES)} to lower-case sha256 hex digests, "
            f"got {dict(manifest)!r}"
        )
    return hashlib.sha256(_canonical(dict(manifest))).hexdigest()[:16]


def key_id(vkey_json: Mapping[str, Any], zkey_sha256: str, wasm_sha256: str) -> str:
    """The id of the key with this verifying key, zkey sha256 and witness wasm sha256 (what a
    gossip peer, which holds only vkeys, recomputes from the two published file hashes).

    Raises:
        ProofError: a hash is not 64 lower-case hex digits.
    """
    return manifest_id({"vkey": vkey_sha256(vkey_json), "zkey": zkey_sha256, "wasm": wasm_sha256})


def material_manifest(files: Mapping[str, bytes]) -> dict[str, str]:
    """The manifest of a key's files (manifest field → file bytes).

    A vkey that is not JSON is hashed as raw bytes: it then matches no key, and the check that
    compares manifests names it.
    """
    try:
        vkey = vkey_sha256(json.loads(files["vkey"]))
    except ValueError:
        vkey = hashlib.sha256(files["vkey"]).hexdigest()
    return {
        "vkey": vkey,
        "zkey": hashlib.sha256(files["zkey"]).hexdigest(),
        "wasm": hashlib.sha256(files["wasm"]).hexdigest(),
    }


def _read_files(directory: Path, fix: str) -> dict[str, bytes]:
    try:
        return {field: (directory / name).read_bytes() for field, name in FILES.items()}
    except OSError as exc:
        raise ProofError(f"cannot read the key material in {directory}: {exc}; {fix}") from exc


def build_manifest(build_dir: str | Path) -> dict[str, str]:
    """The manifest of a build directory's vkey.json, attestation.zkey and attestation.wasm.

    Raises:
        ProofError: a file is missing or unreadable.
    """
    return material_manifest(_read_files(Path(build_dir), "a key needs all three files"))


def differing_files(expected: Mapping[str, str], got: Mapping[str, str]) -> list[str]:
    """The file names whose hashes differ between two manifests."""
    return [name for field, name in FILES.items() if expected.get(field) != got.get(field)]


def _published_id(raw: bytes | None) -> tuple[dict[str, str], str] | None:
    """A published manifest and its id, or None if absent or malformed."""
    try:
        manifest = json.loads(raw) if raw is not None else None
        return (manifest, manifest_id(manifest)) if isinstance(manifest, dict) else None
    except (ValueError, ProofError):
        return None


def check_material(
    kid: str, files: Mapping[str, bytes], published: bytes | None, *, where: str, fix: str
) -> dict[str, str]:
    """The manifest of ``files`` if they hash to key ``kid``; the published manifest (canonical
    JSON stored beside them), when it hashes to ``kid``, names the files that differ.

    Raises:
        ProofError: they do not (the message says which file, ``where`` and ``fix``).
    """
    got = material_manifest(files)
    got_id = manifest_id(got)
    if got_id == kid:
        return got
    expected = _published_id(published)
    if expected is not None and expected[1] == kid:
        bad = ", ".join(differing_files(expected[0], got))
        raise ProofError(
            f"{bad} of verifier key {kid} {where} does not match the key's manifest (the key id "
            f"covers vkey.json, attestation.zkey and attestation.wasm); refusing to run it: {fix}"
        )
    raise ProofError(
        f"the key material of verifier key {kid} {where} hashes to {got_id}, and no manifest "
        f"that hashes to {kid} is stored with it; refusing to run it: {fix}"
    )


@dataclass(frozen=True)
class ManifestKey:
    """One entry of ``circuits/manifest.json``."""

    id: str
    build: Path
    state: str
    #: The per-file hashes the id covers (vkey, zkey, wasm), when the entry lists them.
    sha256: dict[str, str] | None = None


def default_build() -> Path:
    """The build directory of the manifest's active key (the committed development key)."""
    for entry in read_manifest():
        if entry.state == "active":
            return entry.build
    raise ProofError(f"verifier-key manifest {MANIFEST} names no active key")


def read_manifest(path: Path = MANIFEST) -> list[ManifestKey]:
    """The keys a fresh deployment starts with. Raises ProofError if the manifest is bad."""
    try:
        entries = json.loads(path.read_text())["keys"]
        return [
            ManifestKey(
                str(e["id"]),
                (path.parent / e["build"]).resolve(),
                str(e["state"]),
                {str(k): str(v) for k, v in e["sha256"].items()} if "sha256" in e else None,
            )
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProofError(f"verifier-key manifest {path} is unreadable: {exc}") from exc


def _load(directory: Path, manifest: Mapping[str, str]) -> Circuit:
    """Load the circuit in ``directory`` whose files hashed to ``manifest``; refuses a vkey.json
    that changed in between (load_circuit checks that the vkey belongs to the zkey)."""
    from shardy.zk import load_circuit

    circuit = load_circuit(directory)
    if vkey_sha256(circuit.vkey_json) != manifest["vkey"]:
        raise ProofError(f"{directory / FILES['vkey']} changed while it was loaded; load it again")
    return circuit


def load_build(build_dir: Path) -> tuple[str, Circuit]:
    """Load and check a build directory; returns (key id, Circuit).

    Raises:
        ProofError: a file is missing or malformed, or vkey.json does not belong to the zkey.
    """
    files = _read_files(Path(build_dir), "a key needs all three files")
    manifest = material_manifest(files)
    return manifest_id(manifest), _load(Path(build_dir), manifest)


def publish(client: redis.Redis, build_dir: Path, expect: str | None = None) -> str:
    """Put a build's files and manifest into Redis (no TTL, replacing whatever the hash held)
    and return its key id.

    Raises:
        ProofError: the build is malformed, or ``expect`` is given and the build's id differs.
    """
    files = _read_files(Path(build_dir), "a key needs all three files")
    manifest = material_manifest(files)
    kid = manifest_id(manifest)
    if expect is not None and kid != expect:
        raise ProofError(
            f"{build_dir} now hashes to key {kid}, not {expect} as when it was installed "
            "(its files changed); restore them, or install them as a new key with "
            "`shardy keys rotate DIR`"
        )
    _load(Path(build_dir), manifest)  # a key that does not load is never published
    pipe = client.pipeline(transaction=True)
    pipe.delete(KEY_PREFIX + kid)
    pipe.hset(KEY_PREFIX + kid, mapping={**files, MANIFEST_FIELD: _canonical(manifest)})
    pipe.execute()
    return kid


def _packaged(kid: str) -> tuple[dict[str, bytes], str] | None:
    """The files of key ``kid`` from this package's own build of its active key, if that is
    ``kid`` and its files hash to it (else None: the key is not published, as before)."""
    try:
        entries = [e for e in read_manifest() if e.state == "active" and e.id == kid]
        files = _read_files(entries[0].build, "reinstall Shardy") if entries else None
    except ProofError:
        return None
    if files is None or manifest_id(material_manifest(files)) != kid:
        return None
    return files, f"packaged in {entries[0].build}"


#: ``fetch(kid) -> {field: bytes}``: a key's published files and manifest (absent fields left
#: out), e.g. from a gateway's ``/keys/<kid>/<field>``.
FetchKey = Callable[[str], Mapping[str, bytes]]


class KeyCache:
    """Worker side: circuits by key id, fetched once (from Redis, or through ``fetch``; a key
    this package ships is read from its own build while it is not published) and kept on disk
    and in memory.

    Key material is checked against its id when it arrives (before it is written to disk) and
    again whenever it is loaded from the disk cache, so a witness wasm, zkey or vkey swapped in
    either place is refused instead of run.
    """

    def __init__(self, client: redis.Redis | FetchKey, directory: Path) -> None:
        self.client = client
        self.directory = directory
        self._circuits: dict[str, Circuit] = {}
        self._lock = threading.Lock()  # one load per key, however many threads ask at once

    def circuit(self, kid: str) -> Circuit:
        """The Circuit for key ``kid``.

        Raises:
            TransientError: the key is not (yet) published (nor this package's active key).
            ProofError: the published or cached material does not hash to ``kid`` (the message
                names the file and what to do).
        """
        circuit = self._circuits.get(kid)
        if circuit is not None:
            return circuit
        with self._lock:
            return self._circuits.get(kid) or self._load(kid)

    def likely(self) -> list[str]:
        """Ids of the keys this worker will most likely prove with, for warming up: the
        packaged active key and the `WARM_CACHED` keys its disk cache fetched last, where still
        published (in Redis; a worker that fetches keys through a gateway names none).

        Raises:
            ProofError: the package's manifest is unreadable.
        """
        if not isinstance(self.client, redis.Redis):
            return []
        packaged = [e.id for e in read_manifest() if e.state == "active"]
        found = [p for p in self.directory.glob("*") if _KEY_ID.fullmatch(p.name)]
        found.sort(key=lambda p: p.stat().st_mtime, reverse=True)  # the latest fetched first
        cached = [p.name for p in found if p.name not in packaged][:WARM_CACHED]
        pipe = self.client.pipeline(transaction=False)
        for kid in cached:
            pipe.exists(KEY_PREFIX + kid)
        return packaged + [kid for kid, n in zip(cached, pipe.execute(), strict=True) if n]

    def _load(self, kid: str) -> Circuit:
        if not isinstance(kid, str) or _KEY_ID.fullmatch(kid) is None:
            raise ProofError(f"verifier key id {kid!r} is not lower-case hex")
        target = self.directory / kid
        if not target.exists():
            self._fetch(kid, target)
        fix = f"delete {target} so this worker fetches the key from Redis again"
        files = _read_files(target, fix)
        try:
            published = (target / _MANIFEST_FILE).read_bytes()
        except OSError:
            published = None
        where = f"cached in {target}"
        manifest = check_material(kid, files, published, where=where, fix=fix)
        # Loaded from the files just checked; the prover checks its output against the key too.
        circuit = _load(target, manifest)
        self._circuits[kid] = circuit
        return circuit

    def _fetch(self, kid: str, target: Path) -> None:
        """Fetch key ``kid``, check it, and store it (with its manifest) at target."""
        if isinstance(self.client, redis.Redis):
            raw = self.client.hgetall(KEY_PREFIX + kid)
            fields = {k.decode(): v for k, v in raw.items()}
            where = f"published in Redis ({KEY_PREFIX}{kid})"
        else:
            fields, where = dict(self.client(kid)), "as fetched"
        if not set(FILES) <= set(fields):  # not published (yet): a packaged key is the same
            fields, where = _packaged(kid) or (fields, where)  # material wherever it is read
        if not set(FILES) <= set(fields):
            raise TransientError(
                f"verifier key {kid} is not published; the orchestrator publishes its keys "
                "on start and on `shardy keys rotate`"
            )
        files = {field: fields[field] for field in FILES}
        manifest = check_material(
            kid, files, fields.get(MANIFEST_FIELD), where=where,
            fix="republish it from its trusted build directory with `shardy keys rotate DIR`",
        )  # fmt: skip
        tmp = self.directory / f".{kid}.{os.getpid()}.{threading.get_ident()}"
        tmp.mkdir(parents=True, exist_ok=True)
        for field, name in FILES.items():
            (tmp / name).write_bytes(files[field])
        (tmp / _MANIFEST_FILE).write_bytes(_canonical(manifest))
        try:
            os.replace(tmp, target)
        except OSError:  # another pool process stored it first
            shutil.rmtree(tmp, ignore_errors=True)
