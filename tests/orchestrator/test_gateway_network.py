"""Remote workers on other networks: each in a network namespace of its own, reaching the
gateway over TCP on a veth link, serve one task together with a fleet worker; and a gateway
that serves TLS (wss://) to a worker that trusts its certificate."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import netns
import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.cluster


def _verify_mixed(rc, redundancy: int) -> None:
    data = np.random.default_rng(11).integers(0, 256, 8000, dtype=np.uint8)
    for _ in range(8):
        res = rc.client.submit("histogram", data).get(timeout=180)
        assert np.array_equal(res.output, np.bincount(data, minlength=256))
        kinds = {a.worker_id.startswith("remote-") for a in res.attestations if a.agrees}
        if kinds == {True, False}:
            return  # one task served by a fleet worker and remote workers together
    pytest.fail("no task drew both kinds of worker in eight tries")


@pytest.mark.skipif(netns.available() is not None, reason=str(netns.available()))
def test_remote_workers_in_other_network_namespaces_serve_a_mixed_task():
    spaces = netns.Namespaces("gw")
    try:
        prefix, hosts = {}, {}
        for i in range(2):
            ns = spaces.add(f"w{i}")
            netns.link_root(ns, f"10.78.{i}.1", f"10.78.{i}.2", tag=f"{spaces.tag[-4:]}{i}")
            prefix[i] = ["ip", "netns", "exec", ns]  # no route but the link to the gateway
            hosts[i] = f"10.78.{i}.1"
        settings = make_settings(short_home(), redundancy_factor=3, quorum=2)
        options = {"listen": "0.0.0.0", "worker_prefix": prefix, "worker_host": hosts}
        for rc in start_cluster(settings, workers=1, remote=2, remote_options=options):
            _verify_mixed(rc, 3)
    finally:
        spaces.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shardy test gateway")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "gateway.pem", directory / "gateway.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    key_path.chmod(0o600)
    return cert_path, key_path


def test_a_tls_gateway_serves_workers_that_trust_its_certificate(tmp_path):
    cert, key = _self_signed(tmp_path)
    settings = make_settings(short_home(), redundancy_factor=2, quorum=2, gateway_cert=cert,
                             gateway_key=key, gateway_ca=cert)  # fmt: skip
    for rc in start_cluster(settings, workers=1, remote=2):
        assert rc.cluster.remote.url.startswith("wss://")
        _verify_mixed(rc, 2)
