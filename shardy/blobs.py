"""Content-addressed blob store in Redis: payloads and outputs stored once, checked on read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import redis

from shardy.errors import BlobError, BlobNotFound, BlobUnavailable, IntegrityError, PayloadError

KEY_PREFIX = "shardy:blob:"


@dataclass(frozen=True)
class BlobRef:
    """Where a payload or output lives: its sha256 (hex), its size and, when small, the bytes."""

    sha256: str
    size: int
    inline: bytes | None = None

    def to_meta(self) -> dict:
        """JSON-able form for frames (inline bytes travel as a frame segment)."""
        return {"sha256": self.sha256, "size": self.size, "inline": self.inline}

    @classmethod
    def from_meta(cls, meta: object) -> BlobRef:
        """Parse `to_meta` output strictly. Raises PayloadError on a malformed reference."""
        if not isinstance(meta, dict) or set(meta) != {"sha256", "size", "inline"}:
            raise PayloadError("blob reference must have exactly sha256, size and inline")
        sha, size, inline = meta["sha256"], meta["size"], meta["inline"]
        if not is_sha256(sha):
            raise PayloadError(f"blob reference sha256 {sha!r} is not 64 hex digits")
        if type(size) is not int or size < 0:
            raise PayloadError(f"blob reference size {size!r} is not a non-negative integer")
        if inline is not None and not isinstance(inline, bytes):
            raise PayloadError("inline blob bytes must be bytes or null")
        return cls(sha, size, inline)


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """The sha256 of ``data`` as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Blobs in Redis under ``shardy:blob:<sha256>`` with a TTL.

    Args:
        client: a redis-py client (binary responses).
        ttl: seconds a blob lives; re-putting refreshes it.
        inline_limit: `put` returns the bytes inline (no Redis write) up to this size.
        max_size: largest blob accepted.
    """

    def __init__(self, client: redis.Redis, *, ttl: int, inline_limit: int, max_size: int) -> None:
        self.client = client
        self.ttl = ttl
        self.inline_limit = inline_limit
        self.max_size = max_size

    def put(self, data: bytes | bytearray | memoryview, *, inline: bool = True) -> BlobRef:
        """Store ``data`` once and return its reference (carrying the bytes when small).

        Small blobs are stored too, so later rounds and replays can fetch them by hash.

        Raises:
            PayloadError: ``data`` exceeds ``max_size``.
            BlobError: Redis refused the write.
        """
        return self.put_many([data], inline=inline)[0]

    def put_many(
        self, blobs: Sequence[bytes | bytearray | memoryview], *, inline: bool = True
    ) -> list[BlobRef]:
        """`put` for several blobs in one round trip; nothing is stored if one is too large."""
        views = [memoryview(b).cast("B") for b in blobs]
        for v in views:
            if v.nbytes > self.max_size:
                raise PayloadError(
                    f"blob of {v.nbytes} bytes exceeds the limit of {self.max_size}; "
                    "split the payload or raise SHARDY_MAX_PAYLOAD / SHARDY_MAX_OUTPUT"
                )
        shas = [sha256_hex(v) for v in views]
        try:  # store each, or refresh the TTL of the copy already there
            pipe = self.client.pipeline(transaction=False)
            for sha, v in zip(shas, views, strict=True):
                pipe.set(KEY_PREFIX + sha, v, ex=self.ttl, nx=True)
                pipe.expire(KEY_PREFIX + sha, self.ttl)
            pipe.execute()
        except redis.RedisError as exc:
            raise BlobUnavailable(f"could not store {len(views)} blob(s) in Redis: {exc}") from exc
        return [
            BlobRef(sha, v.nbytes, bytes(v)) if inline and v.nbytes <= self.inline_limit
            else BlobRef(sha, v.nbytes)
            for sha, v in zip(shas, views, strict=True)
        ]  # fmt: skip

    def stage(self, pipe: redis.client.Pipeline, data: bytes | bytearray | memoryview) -> BlobRef:
        """Queue `put`'s writes of ``data`` on ``pipe``, which the caller executes (with its
        own commands: one round trip); returns the reference, never inline.

        Raises:
            PayloadError: ``data`` exceeds ``max_size``.
        """
        v = memoryview(data).cast("B")
        if v.nbytes > self.max_size:
            raise PayloadError(
                f"blob of {v.nbytes} bytes exceeds the limit of {self.max_size}; "
                "split the payload or raise SHARDY_MAX_PAYLOAD / SHARDY_MAX_OUTPUT"
            )
        sha = sha256_hex(v)
        pipe.set(KEY_PREFIX + sha, v, ex=self.ttl, nx=True)
        pipe.expire(KEY_PREFIX + sha, self.ttl)
        return BlobRef(sha, v.nbytes)

    def get(self, ref: BlobRef) -> bytes:
        """Return the blob's bytes after checking their sha256 and size.

        Raises:
            BlobNotFound: the blob expired or was never stored.
            IntegrityError: the bytes do not match the reference.
        """
        if ref.inline is not None:
            return self._checked(ref, ref.inline)
        try:
            data = self.client.get(KEY_PREFIX + ref.sha256)
        except redis.RedisError as exc:
            raise BlobUnavailable(f"could not read blob {ref.sha256[:12]}: {exc}") from exc
        return self._checked(ref, data)

    def get_many(self, refs: Sequence[BlobRef]) -> list[bytes | BlobError]:
        """`get` for several blobs in one round trip: each item is the blob's checked bytes,
        or the error `get` would raise for it.

        Raises:
            BlobUnavailable: Redis could not be read.
        """
        stored = [r for r in refs if r.inline is None]
        try:
            read = self.client.mget([KEY_PREFIX + r.sha256 for r in stored]) if stored else []
        except redis.RedisError as exc:
            raise BlobUnavailable(f"could not read {len(stored)} blob(s): {exc}") from exc
        values = iter(read)
        out: list[bytes | BlobError] = []
        for ref in refs:
            try:
                data = ref.inline if ref.inline is not None else next(values)
                out.append(self._checked(ref, data))
            except BlobError as exc:
                out.append(exc)
        return out

    def _checked(self, ref: BlobRef, data: bytes | None) -> bytes:
        """``data`` read for ``ref``, once it is there and matches it (see `get`)."""
        if data is None:
            raise BlobNotFound(
                f"blob {ref.sha256[:12]} is not in the store (expired after "
                f"SHARDY_BLOB_TTL={self.ttl}s or never stored); resubmit the task"
            )
        if len(data) != ref.size or sha256_hex(data) != ref.sha256:
            raise IntegrityError(
                f"blob {ref.sha256[:12]} failed its integrity check ({len(data)} bytes read, "
                f"{ref.size} expected); the store or the reference was tampered with"
            )
        return data

    def chunks(self, ref: BlobRef, chunk: int = 8 * 1024 * 1024) -> Iterator[bytes]:
        """The blob's bytes in chunks of at most ``chunk`` bytes (Redis GETRANGE), so a large
        payload never sits in memory whole. Its sha256 and size are checked as the chunks
        pass: the generator raises after the last one if they differ, so a consumer that
        reads it to the end never keeps unchecked data.

        Raises:
            BlobNotFound, BlobUnavailable, IntegrityError: as `get`.
        """
        if ref.inline is not None:
            yield self.get(ref)
            return
        key, digest, read = KEY_PREFIX + ref.sha256, hashlib.sha256(), 0
        try:
            size = self.client.strlen(key)
            if size == 0:
                raise BlobNotFound(
                    f"blob {ref.sha256[:12]} is not in the store (expired after "
                    f"SHARDY_BLOB_TTL={self.ttl}s or never stored); resubmit the task"
                )
            while read < size:
                piece = self.client.getrange(key, read, min(size, read + chunk) - 1)
                if not piece:  # expired while it was read
                    break
                digest.update(piece)
                read += len(piece)
                yield piece
        except redis.RedisError as exc:
            raise BlobUnavailable(f"could not read blob {ref.sha256[:12]}: {exc}") from exc
        if read != ref.size or digest.hexdigest() != ref.sha256:
            raise IntegrityError(
                f"blob {ref.sha256[:12]} failed its integrity check ({read} bytes read, "
                f"{ref.size} expected); the store or the reference was tampered with"
            )

    def exists(self, ref: BlobRef) -> bool:
        """True when the blob is inline or present in Redis."""
        return ref.inline is not None or bool(self.client.exists(KEY_PREFIX + ref.sha256))


def is_sha256(value: object) -> bool:
    """True for a sha256 as Shardy writes it: 64 lower-case hex digits."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )
