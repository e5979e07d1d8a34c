#!/usr/bin/env bash
# Build Shardy's attestation circuit and run a DEVELOPMENT trusted setup.
#
#   npm ci --prefix circuits && circuits/build.sh
#
# Writes circuits/build/: attestation.r1cs, attestation.wasm (circom's witness calculator),
# attestation.zkey (Groth16 proving key) and vkey.json (verifying key), all committed.
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
PHASE1_ENTROPY="shardy dev ceremony phase 1 (not for production)"
PHASE2_ENTROPY="shardy dev ceremony phase 2 (not for production)"

if [ ! -x node_modules/.bin/snarkjs ] || [ ! -x node_modules/.bin/circom2 ]; then
    echo "circuits/node_modules is missing: run 'npm ci --prefix circuits' first" >&2
    exit 1
fi
snarkjs() { node_modules/.bin/snarkjs "$@"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p build

# 1. Compile (the constants include is generated: python -m shardy.zk.poseidon_params).
node_modules/.bin/circom2 attestation.circom --prime bls12381 --r1cs --wasm --O2 -o "$work"

# 2. Phase 1: powers of tau on BLS12-381, one contribution, prepared for phase 2.
snarkjs powersoftau new bls12381 "$POWER" "$work/pot_0.ptau"
snarkjs powersoftau contribute "$work/pot_0.ptau" "$work/pot_1.ptau" \
    --name="shardy dev phase 1" -e="$PHASE1_ENTROPY"
snarkjs powersoftau prepare phase2 "$work/pot_1.ptau" "$work/pot_final.ptau"

# 3. Phase 2: circuit-specific key, one contribution, checked against the r1cs and the ptau.
snarkjs groth16 setup "$work/attestation.r1cs" "$work/pot_final.ptau" "$work/att_0.zkey"
snarkjs zkey contribute "$work/att_0.zkey" "$work/att_1.zkey" \
    --name="shardy dev phase 2" -e="$PHASE2_ENTROPY"
snarkjs zkey verify "$work/attestation.r1cs" "$work/pot_final.ptau" "$work/att_1.zkey"

# 4. Install the artifacts.
cp "$work/attestation.r1cs" build/attestation.r1cs
cp "$work/attestation_js/attestation.wasm" build/attestation.wasm
cp "$work/att_1.zkey" build/attestation.zkey
snarkjs zkey export verificationkey build/attestation.zkey build/vkey.json
sha256sum build/attestation.r1cs build/attestation.wasm build/attestation.zkey build/vkey.json
