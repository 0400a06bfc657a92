#!/usr/bin/env bash
# Regenerates the Groth16 (BN254) dev fixture of lazai-zk's tests from multiplier.circom.
#
# DEV FIXTURE ONLY: the powers of tau and the phase-2 contribution below use fixed, published
# entropy, so anyone can forge proofs for this key. Never register this key on a real network.
#
# Needs node/npm: `npm install --prefix /tmp/zktools circom2 snarkjs` (or set ZKTOOLS); the
# committed files were made with circom2 0.2.23 and snarkjs 0.7.6. Each run makes a new key and
# proof (fullprove draws fresh randomness), so tests must not pin their bytes.
# Writes verification_key.json, proof.json and public.json here; the intermediate files
# (ptau, r1cs, zkey, wasm, witness) go to a temporary directory and are not committed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tools="${ZKTOOLS:-/tmp/zktools}"
circom2="$tools/node_modules/.bin/circom2"
snarkjs="$tools/node_modules/.bin/snarkjs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
"$circom2" "$here/multiplier.circom" --r1cs --wasm -o "$work"

# Phase 1: a tiny powers of tau (2^8 constraints), one contribution with fixed entropy.
"$snarkjs" powersoftau new bn128 8 pot_0.ptau
"$snarkjs" powersoftau contribute pot_0.ptau pot_1.ptau --name="lazai-zk dev fixture" \
    -e="lazai-zk dev fixture phase 1 entropy (public, not secret)"
"$snarkjs" powersoftau prepare phase2 pot_1.ptau pot_final.ptau

# Phase 2: circuit-specific setup, one contribution with fixed entropy.
"$snarkjs" groth16 setup multiplier.r1cs pot_final.ptau multiplier_0.zkey
"$snarkjs" zkey contribute multiplier_0.zkey multiplier_final.zkey --name="lazai-zk dev fixture" \
    -e="lazai-zk dev fixture phase 2 entropy (public, not secret)"
"$snarkjs" zkey export verificationkey multiplier_final.zkey "$here/verification_key.json"

# A proof for a = 3, b = 11, task = 42: public signals [33, 42].
"$snarkjs" groth16 fullprove "$here/input.json" multiplier_js/multiplier.wasm \
    multiplier_final.zkey "$here/proof.json" "$here/public.json"
"$snarkjs" groth16 verify "$here/verification_key.json" "$here/public.json" "$here/proof.json"
