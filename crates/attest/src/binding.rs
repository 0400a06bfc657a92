//! Binding a worker's keys to its TEE evidence.
//!
//! The worker puts 64 bytes in its evidence's report data (SGX/TDX `report_data`, SEV-SNP
//! `report_data`, Nitro `user_data`, dev: the signed report data):
//!
//! ```text
//! report_data[0..32]  = keccak256("LazAI TEE key binding v1" ‖ chain_id ‖ signer ‖ hpke_public_key)
//!                       chain_id: 8 bytes big-endian; signer: the 20-byte Ethereum address that
//!                       signs the worker's transactions and results; hpke_public_key: its
//!                       32-byte X25519 public key, to which contributors seal data keys
//! report_data[32..56] = zero
//! report_data[56..64] = issued_at: Unix seconds, 8 bytes big-endian, when the evidence was made
//! ```
//!
//! So evidence names the chain, the signing key and the encryption key; it cannot be replayed
//! by another address or on another chain, and its age is signed by the hardware (a DCAP quote
//! or SNP report has no clock of its own).

use alloy_primitives::{Address, keccak256};

/// The domain separator at the start of the preimage.
pub const DOMAIN: &[u8] = b"LazAI TEE key binding v1";

/// The 32-byte binding of a worker's keys on a chain.
pub fn key_hash(chain_id: u64, signer: Address, hpke_public_key: &[u8; 32]) -> [u8; 32] {
    let mut pre = Vec::with_capacity(DOMAIN.len() + 8 + 20 + 32);
    pre.extend_from_slice(DOMAIN);
    pre.extend_from_slice(&chain_id.to_be_bytes());
    pre.extend_from_slice(signer.as_slice());
    pre.extend_from_slice(hpke_public_key);
    keccak256(pre).0
}

/// The 64 report-data bytes a worker asks its TEE to sign.
pub fn report_data(
    chain_id: u64,
    signer: Address,
    hpke_public_key: &[u8; 32],
    issued_at: u64,
) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&key_hash(chain_id, signer, hpke_public_key));
    out[56..].copy_from_slice(&issued_at.to_be_bytes());
    out
}

/// The issue time in report data made by [`report_data`].
pub fn issued_at(report_data: &[u8; 64]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&report_data[56..]);
    u64::from_be_bytes(b)
}
