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
//! A worker that also holds an RSA key (LazAI's SDK wraps a contribution's password to it, see
//! `DataRegistry.publicKey()`) binds it too, with a second domain:
//!
//! ```text
//! report_data[0..32]  = keccak256("LazAI TEE key binding v2" ‖ chain_id ‖ signer ‖ hpke_public_key
//!                                 ‖ keccak256(rsa_public_key))
//!                       rsa_public_key: the PKCS#1 DER encoding of the RSA public key
//! ```
//!
//! The rest is as in v1. The two domains never produce the same preimage length, so evidence
//! made for one cannot pass as the other.
//!
//! So evidence names the chain, the signing key and the encryption key; it cannot be replayed
//! by another address or on another chain, and its age is signed by the hardware (a DCAP quote
//! or SNP report has no clock of its own).

use alloy_primitives::{Address, keccak256};

/// The domain separator at the start of the preimage.
pub const DOMAIN: &[u8] = b"LazAI TEE key binding v1";

/// The domain separator of a binding that includes an RSA key.
pub const DOMAIN_WITH_RSA: &[u8] = b"LazAI TEE key binding v2";

/// The 32-byte binding of a worker's keys on a chain.
pub fn key_hash(chain_id: u64, signer: Address, hpke_public_key: &[u8; 32]) -> [u8; 32] {
    preimage_hash(DOMAIN, chain_id, signer, hpke_public_key, None)
}

/// The 32-byte binding of a worker's keys on a chain when it also holds an RSA key;
/// `rsa_key_hash` is [`rsa_key_hash`] of its public key.
pub fn key_hash_with_rsa(
    chain_id: u64,
    signer: Address,
    hpke_public_key: &[u8; 32],
    rsa_key_hash: &[u8; 32],
) -> [u8; 32] {
    preimage_hash(
        DOMAIN_WITH_RSA,
        chain_id,
        signer,
        hpke_public_key,
        Some(rsa_key_hash),
    )
}

/// `keccak256` of an RSA public key's PKCS#1 DER encoding: what a binding names.
pub fn rsa_key_hash(pkcs1_der: &[u8]) -> [u8; 32] {
    keccak256(pkcs1_der).0
}

fn preimage_hash(
    domain: &[u8],
    chain_id: u64,
    signer: Address,
    hpke_public_key: &[u8; 32],
    rsa_key_hash: Option<&[u8; 32]>,
) -> [u8; 32] {
    let mut pre = Vec::with_capacity(domain.len() + 8 + 20 + 32 + 32);
    pre.extend_from_slice(domain);
    pre.extend_from_slice(&chain_id.to_be_bytes());
    pre.extend_from_slice(signer.as_slice());
    pre.extend_from_slice(hpke_public_key);
    if let Some(rsa) = rsa_key_hash {
        pre.extend_from_slice(rsa);
    }
    keccak256(pre).0
}

/// The 64 report-data bytes a worker asks its TEE to sign.
pub fn report_data(
    chain_id: u64,
    signer: Address,
    hpke_public_key: &[u8; 32],
    issued_at: u64,
) -> [u8; 64] {
    with_issue_time(key_hash(chain_id, signer, hpke_public_key), issued_at)
}

/// The 64 report-data bytes of a worker that also binds an RSA key (`rsa_key_hash`: see
/// [`rsa_key_hash`]); `None` gives [`report_data`].
pub fn report_data_with_rsa(
    chain_id: u64,
    signer: Address,
    hpke_public_key: &[u8; 32],
    rsa_key_hash: Option<&[u8; 32]>,
    issued_at: u64,
) -> [u8; 64] {
    let keys = match rsa_key_hash {
        Some(rsa) => key_hash_with_rsa(chain_id, signer, hpke_public_key, rsa),
        None => key_hash(chain_id, signer, hpke_public_key),
    };
    with_issue_time(keys, issued_at)
}

fn with_issue_time(keys: [u8; 32], issued_at: u64) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&keys);
    out[56..].copy_from_slice(&issued_at.to_be_bytes());
    out
}

/// The issue time in report data made by [`report_data`].
pub fn issued_at(report_data: &[u8; 64]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&report_data[56..]);
    u64::from_be_bytes(b)
}
