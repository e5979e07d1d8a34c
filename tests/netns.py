"""Network namespaces for the p2p tests (root only): isolated links built with `ip`."""

from __future__ import annotations

import os
import shutil
import subprocess


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"p2pchk{os.getpid()}"
    try:
        ip("netns", "add", name)
        ip("netns", "del", name)
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"cannot create a network namespace: {exc}"
    return None


class Namespaces:
    """Named namespaces joined by veth pairs; everything is deleted on close()."""

    def __init__(self, tag: str) -> None:
        self.tag = f"{tag}{os.getpid() % 100000}"
        self.names: list[str] = []

    def add(self, short: str) -> str:
        name = f"{self.tag}{short}"
        ip("netns", "add", name)
        self.names.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def link(self, a: str, a_ip: str, b: str, b_ip: str) -> None:
        """A veth pair between namespaces a and b with /30 addresses (no other routes)."""
        va, vb = f"v{len(self.names)}{a[-1]}{b[-1]}a", f"v{len(self.names)}{a[-1]}{b[-1]}b"
        ip("link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b)
        for ns, dev, addr in ((a, va, a_ip), (b, vb, b_ip)):
            ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")

    def close(self) -> None:
        for name in self.names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def link_root(ns: str, root_ip: str, ns_ip: str, tag: str) -> None:
    """A veth pair between this (the root) namespace and ``ns``, /30 addresses; it goes away
    with ``ns``."""
    va, vb = f"vr{tag}a", f"vr{tag}b"
    ip("link", "add", va, "type", "veth", "peer", "name", vb, "netns", ns)
    ip("addr", "add", f"{root_ip}/30", "dev", va)
    ip("link", "set", va, "up")
    ip("-n", ns, "addr", "add", f"{ns_ip}/30", "dev", vb)
    ip("-n", ns, "link", "set", vb, "up")
