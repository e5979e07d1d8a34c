import pytest
import redis

from shardy.blobs import KEY_PREFIX, BlobRef, BlobStore, sha256_hex
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis
from shardy.errors import BlobNotFound, IntegrityError, PayloadError


@pytest.fixture(scope="module")
def store():
    from cluster_support import short_home

    home = short_home()
    with EmbeddedRedis(Settings(home=home)) as server:
        client = redis.Redis(unix_socket_path=str(server.socket))
        yield BlobStore(client, ttl=60, inline_limit=16, max_size=1 << 20)
        client.close()


def test_put_get_round_trip_and_inline(store):
    small = store.put(b"tiny")
    assert small.inline == b"tiny" and store.get(small) == b"tiny"
    data = bytes(range(256)) * 10
    ref = store.put(data)
    assert ref.inline is None and ref.sha256 == sha256_hex(data)
    assert store.get(ref) == data
    assert store.client.ttl(KEY_PREFIX + ref.sha256) > 0


def test_replicas_share_one_stored_copy(store):
    data = b"x" * 1000
    before = store.client.dbsize()
    refs = {store.put(data) for _ in range(3)}
    assert len(refs) == 1 and store.client.dbsize() == before + 1


def test_tampered_blob_fails_integrity(store):
    ref = store.put(b"y" * 100)
    store.client.set(KEY_PREFIX + ref.sha256, b"z" * 100)
    with pytest.raises(IntegrityError, match="integrity"):
        store.get(ref)
    with pytest.raises(IntegrityError):
        store.get(BlobRef(ref.sha256, ref.size, b"q" * 100))


def test_missing_and_oversized(store):
    with pytest.raises(BlobNotFound, match="resubmit"):
        store.get(BlobRef("0" * 64, 5))
    with pytest.raises(PayloadError, match="exceeds the limit"):
        store.put(b"\0" * ((1 << 20) + 1))


@pytest.mark.parametrize(
    "meta",
    [
        None,
        {"sha256": "x", "size": 1, "inline": None},
        {"sha256": "a" * 64, "size": -1, "inline": None},
    ],
)
def test_malformed_references(meta):
    with pytest.raises(PayloadError):
        BlobRef.from_meta(meta)


def test_chunks_stream_a_blob_checked_to_the_end(store, tmp_path):
    from shardy.workers.streaming import spool

    data = bytes(range(256)) * 4000  # 1,024,000 bytes
    ref = store.put(data, inline=False)
    pieces = list(store.chunks(ref, chunk=100_000))
    assert b"".join(pieces) == data and max(map(len, pieces)) == 100_000 and len(pieces) == 11
    spooled = spool(store.chunks(ref, chunk=65_536), tmp_path)  # a read-only disk-backed map
    assert bytes(spooled) == data and spooled.readonly
    # a blob changed in the store: every chunk is handed out, then the generator refuses it,
    # so spooling it never returns data
    store.client.setrange(KEY_PREFIX + ref.sha256, 500_000, b"\x00")
    with pytest.raises(IntegrityError, match="integrity"):
        list(store.chunks(ref, chunk=100_000))
    with pytest.raises(IntegrityError):
        spool(store.chunks(ref, chunk=100_000), tmp_path)
    store.client.delete(KEY_PREFIX + ref.sha256)
    with pytest.raises(BlobNotFound):
        next(store.chunks(ref))
    small = store.put(b"tiny")
    assert list(store.chunks(small)) == [b"tiny"]


def test_stage_queues_the_writes_of_put_on_a_callers_pipeline(store):
    data = b"s" * 300
    pipe = store.client.pipeline(transaction=False)
    pipe.exists("unrelated")
    ref = store.stage(pipe, data)
    assert ref == BlobRef(sha256_hex(data), 300) and len(pipe) == 3  # nothing sent yet
    assert not store.client.exists(KEY_PREFIX + ref.sha256)
    pipe.execute()
    assert store.get(ref) == data and store.client.ttl(KEY_PREFIX + ref.sha256) > 0
    with pytest.raises(PayloadError, match="exceeds the limit"):
        store.stage(store.client.pipeline(), bytes((1 << 20) + 1))


def test_get_many_reads_in_one_round_trip_and_checks_each(store):
    good, tampered = store.put(b"g" * 100), store.put(b"t" * 100)
    store.client.set(KEY_PREFIX + tampered.sha256, b"u" * 100)
    missing = BlobRef("0" * 64, 5)
    got = store.get_many([good, store.put(b"tiny"), missing, tampered, good])
    assert got[0] == got[4] == b"g" * 100 and got[1] == b"tiny"  # inline: no read
    assert isinstance(got[2], BlobNotFound) and isinstance(got[3], IntegrityError)
    assert store.get_many([]) == []
