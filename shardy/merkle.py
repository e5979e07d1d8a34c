"""Merkle trees over replica leaves, for batch attestations (pure; sha256, domain-separated).

A leaf commits to one replica's claim: under statement version 1 ``sha256(0x00 ‖ taskId(16) ‖
seed(u64 BE) ‖ outputLen(u32 BE) ‖ digest(32))``, under version 2 ``sha256(0x02 ‖ taskId(16) ‖
orderHash(32 BE) ‖ digest(32))`` (`shardy.statement`); an inner node is ``sha256(0x01 ‖ left
‖ right)``. A node without a sibling is promoted unchanged (no duplication, so no two leaf
lists share a root).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

#: The attestation circuit proves a batch as the statement (taskId = batch id, seed = number of
#: leaves, outputLen = this sentinel, resultDigest = root): no task has this output length.
BATCH_OUTPUT_LEN = 2**32 - 1

#: A path step: (sibling is on the left?, sibling hash as hex).
Step = tuple[bool, str]


def leaf(task_id: str, seed: int, output_len: int, digest: str) -> bytes:
    """The leaf hash of one replica's claim."""
    body = (
        uuid.UUID(task_id).bytes
        + seed.to_bytes(8, "big")
        + output_len.to_bytes(4, "big")
        + bytes.fromhex(digest)
    )
    return hashlib.sha256(b"\x00" + body).digest()


def leaf_v2(task_id: str, order_hash: int, digest: str) -> bytes:
    """The version 2 leaf hash of one replica's claim (its order hash from `shardy.statement`)."""
    body = uuid.UUID(task_id).bytes + order_hash.to_bytes(32, "big") + bytes.fromhex(digest)
    return hashlib.sha256(b"\x02" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        nxt = [_node(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])  # promoted
        levels.append(nxt)
    return levels


def root(leaves: Sequence[bytes]) -> bytes:
    """The root over ``leaves`` (in order)."""
    return _levels(leaves)[-1][0]


def path(leaves: Sequence[bytes], index: int) -> list[Step]:
    """The authentication path of leaf ``index``."""
    steps: list[Step] = []
    for level in _levels(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            steps.append((sibling < index, level[sibling].hex()))
        index //= 2
    return steps


def verify(
    leaf_hash: bytes, index: int, size: int, steps: Sequence[Step], root_hash: bytes
) -> bool:
    """True when ``steps`` lead from ``leaf_hash`` at ``index`` of ``size`` leaves to the root.

    The expected shape of the path is recomputed from (index, size), so a path with extra,
    missing or mis-sided steps fails; malformed steps fail rather than raise.
    """
    if not 0 <= index < size:
        return False
    node, width, want = leaf_hash, size, []
    while width > 1:
        sibling = index ^ 1
        if sibling < width:
            want.append(sibling < index)
        index, width = index // 2, (width + 1) // 2
    if len(steps) != len(want):
        return False
    for (left, sibling_hex), expect_left in zip(steps, want, strict=True):
        if left is not expect_left:
            return False
        try:
            sibling = bytes.fromhex(sibling_hex)
        except (TypeError, ValueError):
            return False
        if len(sibling) != 32:
            return False
        node = _node(sibling, node) if left else _node(node, sibling)
    return node == root_hash
