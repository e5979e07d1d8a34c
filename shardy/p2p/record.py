"""The verified record: built from a `shardy:verified` stream entry, carried in a compact binary.

Layout (all integers big-endian)::

    b"SV" version(u8: 3 when attestations carry their round and replica, else 2 when any
        has a batch part, else 1)
    task_id(16: UUID) seed(u64) output_len(u32) digest(32) quorum(u16) agreeing(u16)
    kernel(u8 length + UTF-8)
    [version 3 only: payload_sha256(32) params(u16 length + canonical JSON)
        flags(u8: bit0 a tolerance quorum; others 0)]
    n_attestations(u8)
    per attestation:
        worker_id(u8 length + UTF-8) digest(32) key_id(u8 length + ASCII)
        flags(u8: bit0 A at infinity, bit1 B, bit2 C, bit3 batch part follows; others 0)
        [version 3 only: round(u16) replica(u16)]
        A(96: x‖y) B(192: x.c0‖x.c1‖y.c0‖y.c1) C(96)
        n_signals(u8) signals(32 each)
        [batch part, version 2 only: batch_id(16: UUID) size(u32) index(u32) root(32)
         n_steps(u8 ≤ 32) sides(u32: bit i set = step i's sibling is on the left; others 0)
         siblings(32 each)]

A record without batch parts is encoded exactly as by version 1, so older peers still read it.
Version 3 carries what attestation statement version 2 binds beyond the task (`shardy.statement`:
the order's params and payload hash, each replica's round and number), so a peer recomputes each
replica's order hash itself. A tolerance quorum (float kernels: the agreeing workers' outputs lie
within the kernel's tolerance, and the verified output is their element-wise median) is flagged:
each attestation then proves its own digest, and the record's digest is the median's.

Proof points keep snarkjs's affine decimal coordinates as 48-byte integers, so decoding gives
back the same snarkjs JSON; a signal is a 256-bit integer (values ≥ r stay as they are and are
refused by the verifier, not by the codec). The byte-level pieces (text, digests, proof points,
the reader) are in `shardy.p2p.wire`.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from shardy.attestations import BatchPart, Claim
from shardy.errors import P2PError
from shardy.p2p.wire import Reader, decode_proof, digest_bytes, encode_proof, short
from shardy.statement import Subject

MAGIC = b"SV"
#: The version of records without batch parts; records with one use :data:`VERSION_BATCH`.
VERSION = 1
VERSION_BATCH = 2
#: Records whose attestations carry their round and replica (statement version 2).
VERSION_ORDER = 3
#: Largest canonical params JSON a version 3 record carries (bytes).
MAX_PARAMS_BYTES = 4096
#: The most Merkle path steps a batch part carries (a batch of up to 2**32 leaves).
MAX_PATH_STEPS = 32
#: Largest encoded record accepted (bytes): room for 255 unbatched attestations (~600 bytes
#: each), or 150 batched ones with full 32-step paths (~1.7 KB each).
MAX_RECORD_BYTES = 256 * 1024

_HEAD = struct.Struct(">16sQI32sHH")
_SIGNAL = 32
_BATCH = struct.Struct(">16sII32sBI")
_HAS_BATCH = 8  # attestation flags bit
_PLACE = struct.Struct(">HH")


@dataclass(frozen=True)
class VerifiedRecord:
    """A task result that reached quorum, with the attestations that back it."""

    task_id: str
    kernel: str
    seed: int
    output_len: int
    digest: str
    quorum: int
    agreeing: int
    attestations: tuple[Claim, ...]
    #: the task's params and payload sha256 (statement version 2 binds them in the order hash)
    params: Mapping[str, Any] = field(default_factory=dict)
    payload_sha256: str = "0" * 64
    #: the quorum is a tolerance cluster: attestations may each prove their own digest
    tolerance: bool = False

    def subject(self) -> Subject:
        """What the record's attestations attest to (`shardy.statement`)."""
        return Subject(self.task_id, self.seed, self.output_len, self.kernel, self.params,
                       self.payload_sha256)  # fmt: skip


def _text(fields: Mapping[Any, Any], name: str) -> str:
    value = fields.get(name, fields.get(name.encode()))
    if value is None:
        raise P2PError(f"verified stream entry lacks the field {name!r}")
    return value.decode() if isinstance(value, bytes) else str(value)


def _int(fields: Mapping[Any, Any], name: str, default: str | None = None) -> int:
    try:
        text = _text(fields, name)
    except P2PError:
        if default is None:
            raise
        text = default
    try:
        return int(text)
    except ValueError as exc:
        raise P2PError(f"verified stream entry field {name!r} is not an integer: {text!r}") from exc


def attestation_from_json(item: Any) -> Claim:
    """One attestation from its JSON form (the orchestrator's list entries).

    Raises:
        P2PError: a field is missing or has the wrong type, or a batch id is not a UUID.
    """
    try:
        return Claim.from_json(item)  # a batch id in its one canonical spelling
    except ValueError as exc:
        raise P2PError(f"malformed attestation: {exc}") from exc


def from_stream_entry(fields: Mapping[Any, Any]) -> VerifiedRecord:
    """Build a record from one `shardy:verified` entry (bytes or str keys and values).

    Raises:
        P2PError: a field is missing or malformed; the message names it.
    """
    raw = _text(fields, "attestations") if ("attestations" in fields or b"attestations" in fields) \
        else "[]"  # fmt: skip
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise P2PError(f"verified stream entry 'attestations' is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise P2PError("verified stream entry 'attestations' must be a JSON list")
    return VerifiedRecord(
        task_id=_text(fields, "task_id"),
        kernel=_text(fields, "kernel"),
        seed=_int(fields, "seed"),
        output_len=_int(fields, "output_len"),
        digest=_text(fields, "digest"),
        quorum=_int(fields, "quorum"),
        agreeing=_int(fields, "agreeing", default="0"),
        attestations=tuple(attestation_from_json(i) for i in items),
        **_order_facts(fields),
    )


def _order_facts(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """The entry's params and payload sha256, when it has them (entries since statement v2)."""
    if "params" not in fields and b"params" not in fields:
        return {}
    try:
        params = orjson.loads(_text(fields, "params"))
    except orjson.JSONDecodeError as exc:
        raise P2PError(f"verified stream entry 'params' is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise P2PError("verified stream entry 'params' must be a JSON object")
    sha = _text(fields, "payload_sha256")
    digest_bytes(sha, "payload sha256")
    tolerance = _int(fields, "tolerance", default="0")
    return {"params": params, "payload_sha256": sha, "tolerance": tolerance == 1}


# ---- encoding ------------------------------------------------------------------------------


def _encode_attestation(att: Claim, version: int) -> bytes:
    proof = att.proof
    if proof.get("protocol", "groth16") != "groth16":
        raise P2PError(f"worker {att.worker_id}: only groth16 proofs can be carried")
    inf, points = encode_proof(proof)
    if len(att.public_signals) > 255:
        raise P2PError("an attestation carries more than 255 public signals")
    try:
        signals = b"".join(int(s).to_bytes(_SIGNAL, "big") for s in att.public_signals)
    except (ValueError, OverflowError) as exc:
        raise P2PError(f"worker {att.worker_id}: a public signal is not a 256-bit integer") from exc
    flags = inf | (0 if att.batch is None else _HAS_BATCH)
    return b"".join(
        (
            short(att.worker_id, "worker id"),
            digest_bytes(att.digest),
            short(att.key_id, "key id"),
            bytes([flags]),
            _place(att) if version == VERSION_ORDER else b"",
            points,
            bytes([len(att.public_signals)]),
            signals,
            b"" if att.batch is None else _encode_batch(att.batch, att.worker_id),
        )
    )  # fmt: skip


def _place(att: Claim) -> bytes:
    if att.round is None or att.replica is None:
        raise P2PError(f"worker {att.worker_id}: a version 3 record needs every round and replica")
    try:
        return _PLACE.pack(att.round, att.replica)
    except struct.error as exc:
        raise P2PError(f"worker {att.worker_id}: round or replica is not a u16") from exc


def _params_bytes(params: Mapping[str, Any]) -> bytes:
    try:
        raw = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise P2PError(f"params are not plain JSON: {exc}") from exc
    if orjson.loads(raw) != params:  # NaN or infinity (written as null), or non-str keys
        raise P2PError("params are not plain JSON (NaN, infinity or non-string keys)")
    if len(raw) > MAX_PARAMS_BYTES:
        raise P2PError(f"params of {len(raw)} bytes exceed {MAX_PARAMS_BYTES}")
    return len(raw).to_bytes(2, "big") + raw


def _encode_batch(part: BatchPart, worker_id: str) -> bytes:
    what = f"worker {worker_id}'s batch"
    try:
        batch_id = uuid.UUID(part.id).bytes
    except ValueError as exc:
        raise P2PError(f"{what}: id {part.id!r} is not a UUID") from exc
    if len(part.path) > MAX_PATH_STEPS:
        raise P2PError(f"{what}: path has more than {MAX_PATH_STEPS} steps")
    sides = sum(1 << i for i, (left, _) in enumerate(part.path) if left)
    try:
        head = _BATCH.pack(
            batch_id, part.size, part.index, digest_bytes(part.root, f"{what} root"),
            len(part.path), sides,
        )  # fmt: skip
    except struct.error as exc:
        raise P2PError(f"{what}: index or size is not a u32: {exc}") from exc
    return head + b"".join(digest_bytes(h, f"{what} path step") for _, h in part.path)


def encode(record: VerifiedRecord) -> bytes:
    """The record's compact wire form.

    Raises:
        P2PError: a field does not fit the layout (not a UUID, digest or batch root not 64 hex
            characters, a proof point not affine, more than 255 attestations, a batch index or
            size not a u32, a path over 32 steps, over MAX_RECORD_BYTES in all).
    """
    try:
        task = uuid.UUID(record.task_id).bytes
    except ValueError as exc:
        raise P2PError(f"task id {record.task_id!r} is not a UUID") from exc
    if len(record.attestations) > 255:
        raise P2PError("a record carries at most 255 attestations")
    try:
        head = _HEAD.pack(
            task, record.seed, record.output_len, digest_bytes(record.digest),
            record.quorum, record.agreeing,
        )  # fmt: skip
    except struct.error as exc:
        raise P2PError(f"record field out of range: {exc}") from exc
    batched = any(a.batch is not None for a in record.attestations)
    placed = any(a.round is not None for a in record.attestations)
    placed = placed or record.tolerance
    version = VERSION_ORDER if placed else VERSION_BATCH if batched else VERSION
    parts = [MAGIC, bytes([version]), head, short(record.kernel, "kernel name")]
    if version == VERSION_ORDER:
        parts += [digest_bytes(record.payload_sha256, "payload sha256"),
                  _params_bytes(record.params), bytes([int(record.tolerance)])]  # fmt: skip
    parts.append(bytes([len(record.attestations)]))
    parts += [_encode_attestation(a, version) for a in record.attestations]
    if (size := sum(map(len, parts))) > MAX_RECORD_BYTES:
        raise P2PError(f"record of {size} bytes exceeds {MAX_RECORD_BYTES}; peers would drop it")
    return b"".join(parts)


# ---- decoding ------------------------------------------------------------------------------


def _decode_attestation(r: Reader, version: int) -> Claim:
    worker_id = r.short_text()
    digest = r.take(32).hex()
    key_id = r.short_text()
    flags = r.byte()
    allowed = 0b111 | (_HAS_BATCH if version in (VERSION_BATCH, VERSION_ORDER) else 0)
    if flags & ~allowed:
        raise P2PError(f"attestation flags {flags:#04x} set unknown bits (version {version})")
    place = {}
    if version == VERSION_ORDER:
        place = dict(zip(("round", "replica"), _PLACE.unpack(r.take(_PLACE.size)), strict=True))
    proof = decode_proof(r, flags)
    n = r.byte()
    raw = r.take(n * _SIGNAL)
    signals = tuple(
        str(int.from_bytes(raw[i : i + _SIGNAL], "big")) for i in range(0, len(raw), 32)
    )
    batch = _decode_batch(r) if flags & _HAS_BATCH else None
    return Claim(worker_id, digest, key_id, proof, signals, batch, **place)


def _decode_batch(r: Reader) -> BatchPart:
    batch_id, size, index, root, n_steps, sides = _BATCH.unpack(r.take(_BATCH.size))
    if n_steps > MAX_PATH_STEPS or sides >> n_steps:
        raise P2PError(f"batch path of {n_steps} steps (sides {sides:#x}) is malformed")
    path = tuple((bool(sides >> i & 1), r.take(32).hex()) for i in range(n_steps))
    return BatchPart(str(uuid.UUID(bytes=batch_id)), index, size, root.hex(), path)


def decode(data: bytes) -> VerifiedRecord:
    """Parse a record's wire form.

    Raises:
        P2PError: the bytes are not a version 1, 2 or 3 record (wrong magic, unknown version or
            flag bits, truncated, trailing bytes).
    """
    if len(data) > MAX_RECORD_BYTES:
        raise P2PError(f"record of {len(data)} bytes exceeds {MAX_RECORD_BYTES}")
    r = Reader(data)
    if r.take(2) != MAGIC:
        raise P2PError("not a Shardy verified record (bad magic)")
    if (version := r.byte()) not in (VERSION, VERSION_BATCH, VERSION_ORDER):
        raise P2PError(f"record version {version} is not supported (this build reads 1 to 3)")
    task, seed, output_len, digest, quorum, agreeing = _HEAD.unpack(r.take(_HEAD.size))
    kernel = r.short_text()
    facts: dict[str, Any] = {}
    if version == VERSION_ORDER:
        facts["payload_sha256"] = r.take(32).hex()
        raw = r.take(int.from_bytes(r.take(2), "big"))
        try:
            facts["params"] = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise P2PError(f"record params are not JSON: {exc}") from exc
        if not isinstance(facts["params"], dict) or len(raw) > MAX_PARAMS_BYTES:
            raise P2PError(f"record params must be a JSON object of at most {MAX_PARAMS_BYTES} B")
        if orjson.dumps(facts["params"], option=orjson.OPT_SORT_KEYS) != raw:
            raise P2PError("record params are not canonical JSON (one wire form per record)")
        if (flags := r.byte()) & ~1:
            raise P2PError(f"record flags {flags:#04x} set unknown bits")
        facts["tolerance"] = bool(flags)
    attestations = tuple(_decode_attestation(r, version) for _ in range(r.byte()))
    if version == VERSION_BATCH and all(a.batch is None for a in attestations):
        raise P2PError("a version-2 record must carry a batch part")
    if r.pos != len(data):
        raise P2PError(f"record has {len(data) - r.pos} trailing bytes")
    return VerifiedRecord(
        task_id=str(uuid.UUID(bytes=task)), kernel=kernel, seed=seed, output_len=output_len,
        digest=digest.hex(), quorum=quorum, agreeing=agreeing, attestations=attestations,
        **facts,
    )  # fmt: skip
