// Merkle trees over replica leaves for batch attestations, as shardy/merkle.py: a leaf is, under
// statement version 1, sha256(0x00 ‖ taskId(16) ‖ seed(u64 BE) ‖ outputLen(u32 BE) ‖
// digest(32)), under version 2 sha256(0x02 ‖ taskId(16) ‖ orderHash(32 BE) ‖ digest(32)); an
// inner node is sha256(0x01 ‖ left ‖ right), and a node without a sibling is promoted unchanged.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

/** The attestation statement of a batch has this output length (no task has it). */
export const BATCH_OUTPUT_LEN = 2 ** 32 - 1;

/** The version 1 leaf hash of one replica's claim. */
export function leaf(taskId, seed, outputLen, digestHex) {
  const body = new Uint8Array(1 + 16 + 8 + 4 + 32);
  body.set(hexToBytes(taskId.replaceAll("-", "")), 1);
  const view = new DataView(body.buffer);
  view.setBigUint64(17, BigInt(seed), false);
  view.setUint32(25, Number(outputLen), false);
  body.set(hexToBytes(digestHex), 29);
  return sha256(body);
}

/** The version 2 leaf hash of one replica's claim (its order hash a BigInt below 2**256). */
export function leafV2(taskId, orderHash, digestHex) {
  const body = new Uint8Array(1 + 16 + 32 + 32);
  body[0] = 2;
  body.set(hexToBytes(taskId.replaceAll("-", "")), 1);
  body.set(hexToBytes(BigInt(orderHash).toString(16).padStart(64, "0")), 17);
  body.set(hexToBytes(digestHex), 49);
  return sha256(body);
}

function node(left, right) {
  const body = new Uint8Array(65);
  body[0] = 1;
  body.set(left, 1);
  body.set(right, 33);
  return sha256(body);
}

function levels(leaves) {
  if (!leaves.length) throw new Error("a Merkle tree needs at least one leaf");
  const out = [leaves];
  while (out.at(-1).length > 1) {
    const cur = out.at(-1);
    const next = [];
    for (let i = 0; i + 1 < cur.length; i += 2) next.push(node(cur[i], cur[i + 1]));
    if (cur.length % 2) next.push(cur.at(-1));  // promoted
    out.push(next);
  }
  return out;
}

/** The root over `leaves` (in order), as hex. */
export function root(leaves) {
  return bytesToHex(levels(leaves).at(-1)[0]);
}

/** The authentication path of leaf `index`: [sibling on the left?, sibling hex] per level. */
export function path(leaves, index) {
  const steps = [];
  for (const level of levels(leaves).slice(0, -1)) {
    const sibling = index ^ 1;
    if (sibling < level.length) steps.push([sibling < index, bytesToHex(level[sibling])]);
    index = Math.floor(index / 2);
  }
  return steps;
}
