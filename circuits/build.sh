#!/usr/bin/env bash
# Build Shardy's attestation circuit and run a DEVELOPMENT trusted setup.
#
#   npm ci --prefix circuits && circuits/build.sh [v1|v2]
#
# v2 (statement version 2, attestation_v2.circom, the default key) writes circuits/build-v2/;
# v1 (attestation.circom, kept for deployments still rotating off it) writes circuits/build/.
# Each gets attestation.r1cs, attestation.wasm (circom's witness calculator), attestation.zkey
# (Groth16 proving key) and vkey.json (verifying key), all committed. After a rebuild, put the
# new key id and file hashes in circuits/manifest.json (`shardy keys list` prints them).
#
# The ceremony here is single-party and for development only: one phase-1 contribution on a
# fresh BLS12-381 powers of tau (2^POWER), then one phase-2 contribution, both with the fixed
# entropy strings below (snarkjs also mixes in OS randomness, so reruns give different keys).
# Whoever runs it could keep the toxic waste and forge proofs. Production deployments run their
# own multi-party ceremony and install its key by rotation: see docs/security.md, "Trusted setup".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
POWER=8                      # 2^8 = 256 >= constraints + public inputs + 1
case "${1:-v2}" in
    v1) SOURCE=attestation; OUT=build ;;
    v2) SOURCE=attestation_v2; OUT=build-v2 ;;
    *) echo "usage: circuits/build.sh [v1|v2]" >&2; exit 2 ;;
esac
PHASE1_ENTROPY="shardy dev ceremony phase 1 (not for production)"
PHASE2_ENTROPY="shardy dev ceremony phase 2 (not for production)"

if [ ! -x node_modules/.bin/snarkjs ] || [ ! -x node_modules/.bin/circom2 ]; then
    echo "circuits/node_modules is missing: run 'npm ci --prefix circuits' first" >&2
    exit 1
fi
snarkjs() { node_modules/.bin/snarkjs "$@"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"

# 1. Compile (the constants include is generated: python -m shardy.zk.poseidon_params).
node_modules/.bin/circom2 "$SOURCE.circom" --prime bls12381 --r1cs --wasm --O2 -o "$work"

# 2. Phase 1: powers of tau on BLS12-381, one contribution, prepared for phase 2.
snarkjs powersoftau new bls12381 "$POWER" "$work/pot_0.ptau"
snarkjs powersoftau contribute "$work/pot_0.ptau" "$work/pot_1.ptau" \
    --name="shardy dev phase 1" -e="$PHASE1_ENTROPY"
snarkjs powersoftau prepare phase2 "$work/pot_1.ptau" "$work/pot_final.ptau"

# 3. Phase 2: circuit-specific key, one contribution, checked against the r1cs and the ptau.
snarkjs groth16 setup "$work/$SOURCE.r1cs" "$work/pot_final.ptau" "$work/att_0.zkey"
snarkjs zkey contribute "$work/att_0.zkey" "$work/att_1.zkey" \
    --name="shardy dev phase 2" -e="$PHASE2_ENTROPY"
snarkjs zkey verify "$work/$SOURCE.r1cs" "$work/pot_final.ptau" "$work/att_1.zkey"

# 4. Install the artifacts.
cp "$work/$SOURCE.r1cs" "$OUT/attestation.r1cs"
cp "$work/${SOURCE}_js/$SOURCE.wasm" "$OUT/attestation.wasm"
cp "$work/att_1.zkey" "$OUT/attestation.zkey"
snarkjs zkey export verificationkey "$OUT/attestation.zkey" "$OUT/vkey.json"
sha256sum "$OUT"/attestation.r1cs "$OUT"/attestation.wasm "$OUT"/attestation.zkey "$OUT"/vkey.json
