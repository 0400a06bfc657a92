//! Groth16 over BN254: verification keys, proofs and public inputs read strictly from snarkjs
//! JSON or from their canonical bytes, and verification, for the chain's Verifier module.
//!
//! Consensus-critical, so: deterministic (no randomness, no floating point; arkworks may split a
//! pairing over threads when a prover in the same build enables its `parallel` feature, which
//! changes no result),
//! never panics on any input, and every byte from outside is checked before use: field
//! elements below their modulus (refused, never reduced), points finite, on their curve and in
//! their prime-order subgroup (an explicit check on G2), counts and lengths bounded
//! ([`MAX_PUBLIC_INPUTS`], [`MAX_JSON_BYTES`]), snarkjs `protocol` and `curve` checked. Each
//! refusal is its own [`ZkError`] variant.
//!
//! - [`VerifyingKey`]: [`VerifyingKey::from_snarkjs_json`], [`VerifyingKey::to_bytes`] /
//!   [`VerifyingKey::from_bytes`] (layout on the type), [`VerifyingKey::id`] (keccak256 of the
//!   bytes), [`VerifyingKey::public_inputs`].
//! - [`Proof`]: [`Proof::from_snarkjs_json`], [`Proof::to_bytes`] / [`Proof::from_bytes`]
//!   (256 bytes: a ‖ b ‖ c). Proofs are malleable: never key anything on proof bytes.
//! - [`PublicInputs`]: [`public_inputs_from_snarkjs_json`], [`public_inputs_from_bytes`],
//!   [`public_inputs_to_bytes`] (32 big-endian bytes each).
//! - Out: [`VerifyingKey::from_points`] / [`Proof::from_points`] (a local prover's arkworks
//!   points, checked), and `to_snarkjs_json` on both plus [`public_inputs_to_snarkjs_json`].
//! - [`verify`] and its gas, [`verify_gas`] ([`VERIFY_GAS_BASE`], [`VERIFY_GAS_PER_INPUT`]).
//!
//! Byte encodings follow Ethereum's BN254 precompiles (EIP-196/197): 32-byte big-endian field
//! elements, G1 as x ‖ y, G2 as x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0; the point at infinity ((0, 0) there)
//! is refused everywhere here.

mod encode;
mod error;
mod export;
mod key;
mod verify;

pub use encode::{FIELD_LEN, G1_LEN, G2_LEN};
pub use error::ZkError;
pub use export::public_inputs_to_snarkjs_json;
pub use key::{
    MAX_JSON_BYTES, MAX_PUBLIC_INPUTS, PROOF_LEN, Proof, PublicInputs, VK_FIXED_LEN, VerifyingKey,
    public_inputs_from_bytes, public_inputs_from_snarkjs_json, public_inputs_to_bytes,
};
pub use verify::{VERIFY_GAS_BASE, VERIFY_GAS_PER_INPUT, verify, verify_gas};

/// The BN254 scalar field, the type of a public input.
pub use ark_bn254::Fr;
