//! The verification key, the proof and public inputs: snarkjs JSON in, canonical bytes in and
//! out, every value from outside checked.

use alloy_primitives::keccak256;
use ark_bn254::{Fr, G1Affine, G2Affine};
use serde::Deserialize;

use crate::encode::{
    FIELD_LEN, G1_LEN, G2_LEN, fr_from_be, fr_from_decimal, fr_to_be, g1_from_be, g1_from_snarkjs,
    g1_to_be, g2_from_be, g2_from_snarkjs, g2_to_be,
};
use crate::error::ZkError;

/// Most public inputs a key, an input list or a verification may have.
pub const MAX_PUBLIC_INPUTS: usize = 1024;
/// Longest JSON text any `*_from_snarkjs_json` function reads (2 MiB; a snarkjs key with
/// [`MAX_PUBLIC_INPUTS`] inputs is about 200 KB).
pub const MAX_JSON_BYTES: usize = 2 << 20;
/// Bytes of a proof: a (G1) ‖ b (G2) ‖ c (G1).
pub const PROOF_LEN: usize = 2 * G1_LEN + G2_LEN;
/// Bytes of a verification key before its IC points: alpha (G1) ‖ beta, gamma, delta (G2) ‖
/// the IC count (u32).
pub const VK_FIXED_LEN: usize = G1_LEN + 3 * G2_LEN + 4;

/// Public inputs of a proof, in the circuit's order (snarkjs's `public.json`: outputs, then
/// public inputs), each a scalar below the BN254 group order r.
pub type PublicInputs = Vec<Fr>;

/// A Groth16 verification key over BN254, every point checked finite, on its curve and in its
/// prime-order subgroup.
///
/// Canonical bytes ([`VerifyingKey::to_bytes`]), big-endian 32-byte field elements and
/// uncompressed points, G2 in the EIP-197 order (x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0):
///
/// ```text
/// alpha_g1 (64) ‖ beta_g2 (128) ‖ gamma_g2 (128) ‖ delta_g2 (128) ‖ n (u32 BE) ‖ IC[0..n] (64 each)
/// ```
///
/// so `452 + 64·n` bytes with `1 ≤ n ≤ MAX_PUBLIC_INPUTS + 1`; the key takes `n - 1` public
/// inputs. Nothing else is accepted: no trailing bytes, no other length.
///
/// An IC point at infinity is refused too: it would leave its public input unbound by the
/// proof. snarkjs never makes one (its setup adds a constraint for every public input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub(crate) alpha_g1: G1Affine,
    pub(crate) beta_g2: G2Affine,
    pub(crate) gamma_g2: G2Affine,
    pub(crate) delta_g2: G2Affine,
    pub(crate) ic: Vec<G1Affine>,
}

/// A Groth16 proof over BN254, its points checked finite, on their curves and in their
/// subgroups.
///
/// Canonical bytes ([`Proof::to_bytes`]), [`PROOF_LEN`] = 256 of them, laid out as the
/// verification key's points are: `a (G1, 64) ‖ b (G2, 128, EIP-197 order) ‖ c (G1, 64)`.
///
/// Groth16 proofs are malleable: anyone holding a valid proof can make other valid proofs of
/// the same statement (negating both a and b, or re-randomizing it outright) without the
/// witness. Nothing may be keyed on, or deduplicated by, a proof's bytes or hash; key on the
/// statement (verification key id and public inputs) instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub(crate) a: G1Affine,
    pub(crate) b: G2Affine,
    pub(crate) c: G1Affine,
}

fn parse_json<'a, T: Deserialize<'a>>(json: &'a str) -> Result<T, ZkError> {
    if json.len() > MAX_JSON_BYTES {
        return Err(ZkError::JsonTooLarge {
            len: json.len(),
            max: MAX_JSON_BYTES,
        });
    }
    serde_json::from_str(json).map_err(|e| ZkError::Json(e.to_string()))
}

fn check_protocol(protocol: &str, curve: &str) -> Result<(), ZkError> {
    if protocol != "groth16" {
        return Err(ZkError::Protocol(protocol.chars().take(64).collect()));
    }
    if curve != "bn128" {
        return Err(ZkError::Curve(curve.chars().take(64).collect()));
    }
    Ok(())
}

/// snarkjs `verification_key.json`; other fields (`vk_alphabeta_12`) are ignored.
#[derive(Deserialize)]
struct SnarkjsVk {
    protocol: String,
    curve: String,
    #[serde(rename = "nPublic")]
    n_public: u64,
    vk_alpha_1: Vec<String>,
    vk_beta_2: Vec<Vec<String>>,
    vk_gamma_2: Vec<Vec<String>>,
    vk_delta_2: Vec<Vec<String>>,
    #[serde(rename = "IC")]
    ic: Vec<Vec<String>>,
}

/// snarkjs `proof.json`; `protocol` and `curve` are checked when present (some provers, such
/// as rapidsnark, leave `curve` out).
#[derive(Deserialize)]
struct SnarkjsProof {
    pi_a: Vec<String>,
    pi_b: Vec<Vec<String>>,
    pi_c: Vec<String>,
    protocol: Option<String>,
    curve: Option<String>,
}

impl VerifyingKey {
    /// Reads a snarkjs `verification_key.json` (Groth16, curve `bn128`): `protocol` and `curve`
    /// checked, `nPublic` equal to the IC count less one and at most [`MAX_PUBLIC_INPUTS`],
    /// points as projective decimal strings with z = 1, every coordinate below p, every point
    /// finite, on its curve and in its subgroup; `vk_alphabeta_12` and unknown fields ignored.
    pub fn from_snarkjs_json(json: &str) -> Result<Self, ZkError> {
        let raw: SnarkjsVk = parse_json(json)?;
        check_protocol(&raw.protocol, &raw.curve)?;
        if raw.ic.is_empty() {
            return Err(ZkError::EmptyIc);
        }
        if raw.ic.len() > MAX_PUBLIC_INPUTS + 1 {
            return Err(ZkError::TooManyInputs {
                what: "verification key",
                got: raw.ic.len() - 1,
                max: MAX_PUBLIC_INPUTS,
            });
        }
        if raw.n_public != (raw.ic.len() - 1) as u64 {
            return Err(ZkError::NPublic {
                n_public: raw.n_public,
                ic: raw.ic.len(),
            });
        }
        let ic = raw
            .ic
            .iter()
            .enumerate()
            .map(|(i, p)| g1_from_snarkjs(p, &format!("vk.IC[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            alpha_g1: g1_from_snarkjs(&raw.vk_alpha_1, "vk.alpha")?,
            beta_g2: g2_from_snarkjs(&raw.vk_beta_2, "vk.beta")?,
            gamma_g2: g2_from_snarkjs(&raw.vk_gamma_2, "vk.gamma")?,
            delta_g2: g2_from_snarkjs(&raw.vk_delta_2, "vk.delta")?,
            ic,
        })
    }

    /// The canonical bytes (layout on [`VerifyingKey`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VK_FIXED_LEN + G1_LEN * self.ic.len());
        g1_to_be(&self.alpha_g1, &mut out);
        g2_to_be(&self.beta_g2, &mut out);
        g2_to_be(&self.gamma_g2, &mut out);
        g2_to_be(&self.delta_g2, &mut out);
        // At most MAX_PUBLIC_INPUTS + 1 points, checked when the key was read.
        out.extend_from_slice(&(self.ic.len() as u32).to_be_bytes());
        for p in &self.ic {
            g1_to_be(p, &mut out);
        }
        out
    }

    /// Reads canonical bytes (layout on [`VerifyingKey`]), with the same checks as
    /// [`VerifyingKey::from_snarkjs_json`] and an exact length.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ZkError> {
        if b.len() < VK_FIXED_LEN {
            return Err(ZkError::Length {
                what: "verification key (at least)",
                expected: VK_FIXED_LEN,
                got: b.len(),
            });
        }
        let (points, rest) = b.split_at(VK_FIXED_LEN - 4);
        let (count, ic_bytes) = rest.split_at(4);
        let mut count_be = [0u8; 4];
        count_be.copy_from_slice(count);
        let n = u32::from_be_bytes(count_be) as usize;
        if n == 0 {
            return Err(ZkError::EmptyIc);
        }
        if n > MAX_PUBLIC_INPUTS + 1 {
            return Err(ZkError::TooManyInputs {
                what: "verification key",
                got: n - 1,
                max: MAX_PUBLIC_INPUTS,
            });
        }
        if ic_bytes.len() != n * G1_LEN {
            return Err(ZkError::Length {
                what: "verification key",
                expected: VK_FIXED_LEN + n * G1_LEN,
                got: b.len(),
            });
        }
        let g2_at = |i: usize| &points[G1_LEN + i * G2_LEN..G1_LEN + (i + 1) * G2_LEN];
        let ic = ic_bytes
            .chunks_exact(G1_LEN)
            .enumerate()
            .map(|(i, p)| g1_from_be(p, &format!("vk.IC[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            alpha_g1: g1_from_be(&points[..G1_LEN], "vk.alpha")?,
            beta_g2: g2_from_be(g2_at(0), "vk.beta")?,
            gamma_g2: g2_from_be(g2_at(1), "vk.gamma")?,
            delta_g2: g2_from_be(g2_at(2), "vk.delta")?,
            ic,
        })
    }

    /// The key's id: keccak256 of its canonical bytes.
    pub fn id(&self) -> [u8; 32] {
        keccak256(self.to_bytes()).0
    }

    /// How many public inputs the key takes: the IC count less one.
    pub fn public_inputs(&self) -> usize {
        // Never empty (checked when read); saturating all the same.
        self.ic.len().saturating_sub(1)
    }
}

impl Proof {
    /// Reads a snarkjs `proof.json` (`pi_a`, `pi_b`, `pi_c` as projective decimal strings with
    /// z = 1; `protocol` and `curve`, when present, must be `groth16` and `bn128`), every
    /// coordinate below p and every point finite, on its curve and in its subgroup.
    pub fn from_snarkjs_json(json: &str) -> Result<Self, ZkError> {
        let raw: SnarkjsProof = parse_json(json)?;
        check_protocol(
            raw.protocol.as_deref().unwrap_or("groth16"),
            raw.curve.as_deref().unwrap_or("bn128"),
        )?;
        Ok(Self {
            a: g1_from_snarkjs(&raw.pi_a, "proof.a")?,
            b: g2_from_snarkjs(&raw.pi_b, "proof.b")?,
            c: g1_from_snarkjs(&raw.pi_c, "proof.c")?,
        })
    }

    /// The canonical 256 bytes: a ‖ b ‖ c (layout on [`Proof`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_LEN);
        g1_to_be(&self.a, &mut out);
        g2_to_be(&self.b, &mut out);
        g1_to_be(&self.c, &mut out);
        out
    }

    /// Reads exactly [`PROOF_LEN`] canonical bytes, with the checks of
    /// [`Proof::from_snarkjs_json`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, ZkError> {
        if b.len() != PROOF_LEN {
            return Err(ZkError::Length {
                what: "proof",
                expected: PROOF_LEN,
                got: b.len(),
            });
        }
        Ok(Self {
            a: g1_from_be(&b[..G1_LEN], "proof.a")?,
            b: g2_from_be(&b[G1_LEN..G1_LEN + G2_LEN], "proof.b")?,
            c: g1_from_be(&b[G1_LEN + G2_LEN..], "proof.c")?,
        })
    }
}

/// Reads a snarkjs `public.json`: a JSON array of at most [`MAX_PUBLIC_INPUTS`] decimal
/// strings, each below the scalar field modulus r (refused, never reduced).
pub fn public_inputs_from_snarkjs_json(json: &str) -> Result<PublicInputs, ZkError> {
    let raw: Vec<String> = parse_json(json)?;
    if raw.len() > MAX_PUBLIC_INPUTS {
        return Err(ZkError::TooManyInputs {
            what: "public inputs",
            got: raw.len(),
            max: MAX_PUBLIC_INPUTS,
        });
    }
    raw.iter()
        .enumerate()
        .map(|(i, s)| fr_from_decimal(s, &format!("public[{i}]")))
        .collect()
}

/// Reads public inputs as bytes: 32 big-endian bytes each, concatenated, no count (an empty
/// slice is no inputs); at most [`MAX_PUBLIC_INPUTS`], each below r.
pub fn public_inputs_from_bytes(b: &[u8]) -> Result<PublicInputs, ZkError> {
    if !b.len().is_multiple_of(FIELD_LEN) {
        return Err(ZkError::Length {
            what: "public inputs (a multiple of 32)",
            expected: b.len() / FIELD_LEN * FIELD_LEN,
            got: b.len(),
        });
    }
    let n = b.len() / FIELD_LEN;
    if n > MAX_PUBLIC_INPUTS {
        return Err(ZkError::TooManyInputs {
            what: "public inputs",
            got: n,
            max: MAX_PUBLIC_INPUTS,
        });
    }
    b.chunks_exact(FIELD_LEN)
        .enumerate()
        .map(|(i, chunk)| {
            let mut word = [0u8; FIELD_LEN];
            word.copy_from_slice(chunk);
            fr_from_be(&word, &format!("public[{i}]"))
        })
        .collect()
}

/// Public inputs as the bytes [`public_inputs_from_bytes`] reads: 32 big-endian bytes each.
pub fn public_inputs_to_bytes(inputs: &[Fr]) -> Vec<u8> {
    inputs.iter().flat_map(fr_to_be).collect()
}
