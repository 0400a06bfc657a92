//! Groth16 verification and its gas.

use ark_bn254::{Bn254, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, PrimeField};

use crate::error::ZkError;
use crate::key::{Proof, VerifyingKey};

/// Gas of a verification with no public inputs.
///
/// Priced as Ethereum prices a Groth16 verifier contract under EIP-1108: a 4-pairing check
/// (45 000 + 4 × 34 000 = 181 000 gas) plus the contract's calldata, memory and bookkeeping,
/// 207 700 gas in all; [`VERIFY_GAS_PER_INPUT`] is the ecMul (6 000) and ecAdd (150) of each
/// input with its share of that overhead.
///
/// Measured natively (`examples/verify_time.rs`: ark-bn254 at the dev profile's opt-level 2,
/// one core of a 2-core Xeon shared with other builds, thread CPU time): about 2.2 ms per
/// verification plus 0.08 ms per public input (2.2, 2.3, 2.5 and 3.4 ms for 0, 1, 4 and 16
/// inputs). Both constants come to about 90–95 gas per microsecond of that time (some
/// 10–11 ns per gas), so the Ethereum prices keep the measured proportion of fixed to
/// per-input cost; a release build on an unshared core is faster, which only makes the
/// charge more conservative.
pub const VERIFY_GAS_BASE: u64 = 207_700;
/// Gas of each public input of a verification (see [`VERIFY_GAS_BASE`]).
pub const VERIFY_GAS_PER_INPUT: u64 = 7_160;

/// Gas of verifying a proof with `inputs` public inputs: `VERIFY_GAS_BASE +
/// VERIFY_GAS_PER_INPUT · inputs` (saturating, so any count prices without overflow).
pub fn verify_gas(inputs: usize) -> u64 {
    let n = u64::try_from(inputs).unwrap_or(u64::MAX);
    VERIFY_GAS_BASE.saturating_add(VERIFY_GAS_PER_INPUT.saturating_mul(n))
}

/// Verifies a Groth16 proof of `inputs` under `vk`.
///
/// `Err(ZkError::InputCount)` unless `inputs` has exactly [`VerifyingKey::public_inputs`]
/// values; otherwise `Ok(true)` if the pairing check
/// `e(A, B) = e(alpha, beta) · e(vk_x, gamma) · e(C, delta)` with
/// `vk_x = IC[0] + Σ inputs[i] · IC[i + 1]` holds, `Ok(false)` if not. Computed as one
/// 4-pairing product (one Miller loop, one final exponentiation), as Ethereum's pairing
/// precompile does. Deterministic; never panics (the key, proof and inputs were checked when
/// they were read, and scalars are below r by type).
///
/// Proofs are malleable (see [`Proof`]): a different valid proof of the same statement can be
/// made from any valid one, so accept or refuse statements, never proof bytes.
pub fn verify(vk: &VerifyingKey, proof: &Proof, inputs: &[ark_bn254::Fr]) -> Result<bool, ZkError> {
    if inputs.len() != vk.public_inputs() {
        return Err(ZkError::InputCount {
            expected: vk.public_inputs(),
            got: inputs.len(),
        });
    }
    let Some((ic0, ic_rest)) = vk.ic.split_first() else {
        return Err(ZkError::EmptyIc);
    };
    let mut vk_x: G1Projective = ic0.into_group();
    for (x, p) in inputs.iter().zip(ic_rest) {
        vk_x += p.mul_bigint(x.into_bigint());
    }
    let vk_x = vk_x.into_affine();
    // e(A, B) · e(-vk_x, gamma) · e(-C, delta) · e(-alpha, beta) = 1
    let miller = Bn254::multi_miller_loop(
        [proof.a, -vk_x, -proof.c, -vk.alpha_g1],
        [proof.b, vk.gamma_g2, vk.delta_g2, vk.beta_g2],
    );
    Ok(Bn254::final_exponentiation(miller).is_some_and(|gt| gt.0.is_one()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::public_inputs_from_snarkjs_json;
    use ark_bn254::Fr;

    /// The same answers as arkworks' own Groth16 verifier, on the snarkjs fixture and on
    /// changed inputs.
    #[test]
    fn agrees_with_ark_groth16() {
        let vk = VerifyingKey::from_snarkjs_json(include_str!("../testdata/verification_key.json"))
            .expect("vk");
        let proof =
            Proof::from_snarkjs_json(include_str!("../testdata/proof.json")).expect("proof");
        let inputs = public_inputs_from_snarkjs_json(include_str!("../testdata/public.json"))
            .expect("inputs");
        let ark_vk = ark_groth16::VerifyingKey::<Bn254> {
            alpha_g1: vk.alpha_g1,
            beta_g2: vk.beta_g2,
            gamma_g2: vk.gamma_g2,
            delta_g2: vk.delta_g2,
            gamma_abc_g1: vk.ic.clone(),
        };
        let pvk = ark_groth16::prepare_verifying_key(&ark_vk);
        let ark_proof = ark_groth16::Proof::<Bn254> {
            a: proof.a,
            b: proof.b,
            c: proof.c,
        };
        let mut cases = vec![inputs.clone()];
        for i in 0..inputs.len() {
            let mut changed = inputs.clone();
            changed[i] += Fr::from(1u64);
            cases.push(changed);
        }
        for case in cases {
            let theirs = ark_groth16::Groth16::<Bn254>::verify_proof(&pvk, &ark_proof, &case)
                .expect("well-formed");
            assert_eq!(verify(&vk, &proof, &case), Ok(theirs), "{case:?}");
        }
        assert_eq!(verify(&vk, &proof, &inputs), Ok(true));
    }
}
