"""Limits and secrets: payload/output sizes, WASM fuel and memory, Celery time limits; Redis with
a password and an ACL user, and over TLS (rediss://); secrets 0600 and never in logs."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import kernels_faults  # noqa: F401 - registers slow_histogram in this process too
import numpy as np
import pytest
from chaos_support import cluster, oracle
from cluster_support import make_settings, short_home
from sqlalchemy import select

from shardy.config import Settings
from shardy.errors import PayloadError, PreprocessError, TaskFailed
from shardy.ops.flower import flower_command, flower_env
from shardy.p2p.identity import load_or_create_identity
from shardy.store import DeadLetter
from shardy.workers.preprocess import Preprocessor

pytestmark = pytest.mark.timeout(600)
REDIS = "/usr/bin/redis-server"
PASSWORD, ACL_PASSWORD = "chaos-default-pw-7f3a", "chaos-acl-pw-91be"
needs_redis = pytest.mark.skipif(not Path(REDIS).exists(), reason="no /usr/bin/redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path: Path):
    """Start a redis-server on 127.0.0.1 with extra args; yields a starter, stops them all."""
    procs: list[subprocess.Popen] = []

    def start(*args: str, port: int, ping: list[str]) -> None:
        cmd = [REDIS, "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path), *args]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        for _ in range(100):
            out = subprocess.run(["redis-cli", "-p", str(port), *ping, "ping"],
                                 capture_output=True, text=True)  # fmt: skip
            if "PONG" in out.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server {args} did not start")

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


def data(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def grep_secrets(home: Path, logdir: Path, extra: list[str]) -> list[str]:
    """Secret values (worker secrets, passwords) found in any cluster log."""
    secrets = [p.read_text().strip() for p in (home / "secrets").glob("*.secret")]
    assert secrets, "no worker secret was created"
    logs = "".join(p.read_text(errors="replace") for p in logdir.glob("*.log"))
    return [s for s in [*secrets, *extra] if s in logs]


# ---- pure limits ----------------------------------------------------------------------------


def test_wasm_fuel_and_memory_limits() -> None:
    params = {"alpha": 0.2, "dtype": "u16", "frac_bits": 12}
    payload = data(200_000)
    with pytest.raises(PreprocessError, match="fuel"):
        Preprocessor(fuel=10_000).run("ema", payload, params)
    with pytest.raises(PreprocessError, match="max_memory"):
        Preprocessor(max_memory=65536).run("ema", payload, params)
    ok = Preprocessor().run("ema", payload, params)
    assert ok == Preprocessor(use_wasm=False).run("ema", payload, params)


def test_secret_files_are_private_and_hidden(home: Path) -> None:
    from shardy.workers.identity import secret_path, worker_secret

    s = Settings(home=home)
    value = worker_secret(s, "gpu0@box")
    path = secret_path(s, "gpu0@box")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert str(value) not in repr(Settings(home=home, worker_secret=str(value)))
    load_or_create_identity(home / "p2p" / "identity.key")
    assert stat.S_IMODE((home / "p2p" / "identity.key").stat().st_mode) == 0o600


def test_a_secret_created_by_many_at_once_is_one_secret(home: Path) -> None:
    """A worker's threads (its warm-up and its start) and pool processes may create its
    secret at the same moment: each reads the one whole secret, never a file half written."""
    from concurrent.futures import ThreadPoolExecutor

    from shardy.workers.identity import secret_path, worker_secret

    def one(start: threading.Barrier, s: Settings, wid: str) -> int:
        start.wait()
        return worker_secret(s, wid)

    for round_no in range(20):
        s, wid, start = Settings(home=home), f"gpu{round_no}@box", threading.Barrier(8)
        with ThreadPoolExecutor(8) as pool:
            values = set(pool.map(lambda _: one(start, s, wid), range(8)))  # noqa: B023
        assert len(values) == 1
        assert stat.S_IMODE(secret_path(s, wid).stat().st_mode) == 0o600
    assert [p.name for p in (home / "secrets").iterdir() if p.name.startswith(".")] == []


def test_a_secret_is_created_where_hard_links_are_not_supported(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shardy.workers.identity import secret_path, worker_secret

    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # as on FAT or some shares

    monkeypatch.setattr(os, "link", refuse)
    s = Settings(home=home)
    value = worker_secret(s, "gpu0@fat")
    assert value == worker_secret(s, "gpu0@fat")
    assert stat.S_IMODE(secret_path(s, "gpu0@fat").stat().st_mode) == 0o600
    assert [p.name for p in (home / "secrets").iterdir()] == ["gpu0_fat.secret"]


def test_a_secret_s_leftover_temporary_file_blocks_nothing(home: Path) -> None:
    """A process killed while it wrote the secret leaves its temporary file; a later one with
    the same pid and thread id still creates the secret."""
    from shardy.workers.identity import secret_path, worker_secret

    s = Settings(home=home)
    path = secret_path(s, "gpu0@box")
    path.parent.mkdir(parents=True, mode=0o700)
    left = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    left.write_text("12\n")
    assert worker_secret(s, "gpu0@box") == int(path.read_text())
    assert not left.exists()


def test_flower_command_line_carries_no_password() -> None:
    s = Settings(broker_url=f"redis://shardy:{ACL_PASSWORD}@127.0.0.1:6390/0")
    assert ACL_PASSWORD not in " ".join(flower_command(5555))
    assert flower_env(s, base={})["SHARDY_BROKER_URL"] == s.broker_url  # given privately


# ---- clusters on a password / ACL Redis and on TLS ------------------------------------------


@needs_redis
def test_password_acl_redis_with_limits_end_to_end(own_redis) -> None:
    port = free_port()
    acl = ["shardy", "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all"]
    own_redis("--port", str(port), "--requirepass", PASSWORD, "--user", *acl,
              port=port, ping=["--user", "shardy", "--pass", ACL_PASSWORD])  # fmt: skip
    url = f"redis://shardy:{ACL_PASSWORD}@127.0.0.1:{port}/0"
    home = short_home()
    settings = make_settings(
        home, broker_url=url, max_payload=1 << 16, max_output=4096, task_time_limit=8,
        retry_max=1, max_replicas=3,
    )  # fmt: skip
    env = {"SHARDY_TEST_SLOW": "12"}
    faults = {i: ["kernels_faults"] for i in range(3)}
    with cluster(
        settings, workers=3, worker_env={i: env for i in range(3)}, worker_modules=faults
    ) as rc:
        payload = data(5000)
        res = rc.client.submit("histogram", payload).get(timeout=180)
        assert np.array_equal(res.output, oracle("histogram", payload, {}))
        with pytest.raises(PayloadError, match="SHARDY_MAX_PAYLOAD"):
            rc.client.submit("histogram", data((1 << 16) + 1))
        with pytest.raises(PayloadError, match="SHARDY_MAX_OUTPUT"):
            rc.client.submit("sha256", data(5000), params={"block": 32})
        slow = rc.client.submit("slow_histogram", data(100))  # sleeps past the time limit
        with pytest.raises(TaskFailed, match="dead-lettered"):
            slow.get(timeout=240)
        with rc.app.store.session() as s:  # every worker pool enforces the limit (threads too)
            reasons = s.scalars(select(DeadLetter.reason).where(DeadLetter.task_id == slow.id))
            assert any("SHARDY_TASK_TIME_LIMIT" in r for r in reasons)
        assert all(p.poll() is None for p in rc.cluster.procs.values())
        assert grep_secrets(home, rc.cluster.logdir, [PASSWORD, ACL_PASSWORD]) == []


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA); returns (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "redis.crt", directory / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture
def tls_url(own_redis, tmp_path: Path) -> Iterator[str]:
    cert, key = make_cert(tmp_path)
    port = free_port()
    own_redis("--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
              "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
              "--tls-auth-clients", "no", "--requirepass", PASSWORD,
              port=port, ping=["--tls", "--cacert", str(cert), "-a", PASSWORD,
                               "--no-auth-warning"])  # fmt: skip
    yield f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={cert}"


@needs_redis
def test_tls_redis_end_to_end(tls_url: str) -> None:
    home = short_home()
    with cluster(make_settings(home, broker_url=tls_url), workers=3) as rc:
        payload = data(3000, 1)
        res = rc.client.submit("histogram", payload).get(timeout=180)
        assert np.array_equal(res.output, oracle("histogram", payload, {}))
        assert grep_secrets(home, rc.cluster.logdir, [PASSWORD]) == []
