//! The other direction: keys and proofs made by a prover in this process (arkworks points)
//! into the checked types, and any of them out as snarkjs JSON, so what `lazai zk prove`
//! writes is what snarkjs and `lazai zk verify` read.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::PrimeField;
use serde_json::{Value, json};

use crate::error::ZkError;
use crate::key::{Proof, VerifyingKey};

impl VerifyingKey {
    /// A key from its points, with every check of [`VerifyingKey::from_bytes`] (a prover's
    /// own key is checked like anyone's).
    pub fn from_points(
        alpha_g1: G1Affine,
        beta_g2: G2Affine,
        gamma_g2: G2Affine,
        delta_g2: G2Affine,
        ic: Vec<G1Affine>,
    ) -> Result<Self, ZkError> {
        let unchecked = Self {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            ic,
        };
        if unchecked.ic.len() > crate::MAX_PUBLIC_INPUTS + 1 {
            return Err(ZkError::TooManyInputs {
                what: "verification key",
                got: unchecked.ic.len() - 1,
                max: crate::MAX_PUBLIC_INPUTS,
            });
        }
        Self::from_bytes(&unchecked.to_bytes())
    }

    /// snarkjs's `verification_key.json` (without `vk_alphabeta_12`, which snarkjs does not
    /// need to verify).
    pub fn to_snarkjs_json(&self) -> String {
        let v = json!({
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": self.public_inputs(),
            "vk_alpha_1": g1_json(&self.alpha_g1),
            "vk_beta_2": g2_json(&self.beta_g2),
            "vk_gamma_2": g2_json(&self.gamma_g2),
            "vk_delta_2": g2_json(&self.delta_g2),
            "IC": self.ic.iter().map(g1_json).collect::<Vec<_>>(),
        });
        pretty(&v)
    }
}

impl Proof {
    /// A proof from its points, with every check of [`Proof::from_bytes`].
    pub fn from_points(a: G1Affine, b: G2Affine, c: G1Affine) -> Result<Self, ZkError> {
        Self::from_bytes(&Self { a, b, c }.to_bytes())
    }

    /// snarkjs's `proof.json`.
    pub fn to_snarkjs_json(&self) -> String {
        pretty(&json!({
            "pi_a": g1_json(&self.a),
            "pi_b": g2_json(&self.b),
            "pi_c": g1_json(&self.c),
            "protocol": "groth16",
            "curve": "bn128",
        }))
    }
}

/// snarkjs's `public.json`: the inputs as decimal strings.
pub fn public_inputs_to_snarkjs_json(inputs: &[Fr]) -> String {
    pretty(&Value::from(
        inputs.iter().map(|f| decimal(*f)).collect::<Vec<_>>(),
    ))
}

fn pretty(v: &Value) -> String {
    // A `Value` built here always serializes.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn decimal<F: PrimeField>(f: F) -> String {
    f.into_bigint().to_string()
}

fn g1_json(p: &G1Affine) -> Value {
    json!([decimal::<Fq>(p.x), decimal::<Fq>(p.y), "1"])
}

fn fq2_json(f: &Fq2) -> Value {
    json!([decimal(f.c0), decimal(f.c1)])
}

fn g2_json(p: &G2Affine) -> Value {
    json!([fq2_json(&p.x), fq2_json(&p.y), ["1", "0"]])
}
