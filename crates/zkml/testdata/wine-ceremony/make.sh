#!/usr/bin/env bash
# The proof-of-inference circuit of crates/model/testdata/wine-v1.lzmlp through a snarkjs
# ceremony (a toy one: two contributions with fixed entropy, for tests only), then proved by
# snarkjs from the witness `lazai zk export` writes: what an iDAO does for a real network.
# Needs snarkjs (npm i snarkjs@0.7) and the `lazai` binary; writes verification_key.json,
# proof.json and public.json here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lazai="${LAZAI:-lazai}"
snarkjs="${SNARKJS:-npx snarkjs}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$lazai" zk export --model "$here/../../../model/testdata/wine-v1.lzmlp" --r1cs wine.r1cs \
    --features 7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4 --wtns wine.wtns --task 5
$snarkjs wtns check wine.r1cs wine.wtns
$snarkjs powersoftau new bn128 11 pot0.ptau
$snarkjs powersoftau contribute pot0.ptau pot1.ptau --name=one -e=lazai-wine-test
$snarkjs powersoftau prepare phase2 pot1.ptau pot.ptau
$snarkjs groth16 setup wine.r1cs pot.ptau wine0.zkey
$snarkjs zkey contribute wine0.zkey wine.zkey --name=two -e=lazai-wine-phase2
$snarkjs zkey export verificationkey wine.zkey "$here/verification_key.json"
$snarkjs groth16 prove wine.zkey wine.wtns "$here/proof.json" "$here/public.json"
$snarkjs groth16 verify "$here/verification_key.json" "$here/public.json" "$here/proof.json"
