//! Validator identity keys: ed25519 generation (random or from a seed) and the hex form used by
//! key files and the genesis document (`consensus_key`).

use crate::error::Error;
use commonware_codec::{Copying, DecodeExt, Encode};
use commonware_cryptography::{Signer, ed25519};
use rand::RngCore;

pub use commonware_cryptography::ed25519::{PrivateKey, PublicKey};

/// A fresh ed25519 private key from the operating system's randomness.
pub fn generate_key() -> PrivateKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = private_key_from_bytes(&seed);
    seed.fill(0);
    key
}

/// A deterministic ed25519 private key derived from `seed` (devnets and tests only).
pub fn key_from_seed(seed: u64) -> PrivateKey {
    <ed25519::PrivateKey as Signer>::from_seed(seed)
}

fn private_key_from_bytes(bytes: &[u8; 32]) -> PrivateKey {
    // Any 32 bytes are a valid ed25519 secret seed, so decoding cannot fail here.
    match ed25519::PrivateKey::decode(Copying(&bytes[..])) {
        Ok(key) => key,
        Err(_) => unreachable!("every 32-byte string is an ed25519 secret"),
    }
}

/// The public key of `key`.
pub fn public_key(key: &PrivateKey) -> PublicKey {
    key.public_key()
}

/// Hex (no `0x`) of the 32-byte private key.
pub fn private_key_to_hex(key: &PrivateKey) -> String {
    hex::encode(key.encode())
}

/// Parses a private key from 32 bytes of hex (with or without `0x`).
pub fn private_key_from_hex(s: &str) -> Result<PrivateKey, Error> {
    let bytes = lazai_types::decode_hex32(s.trim()).map_err(Error::InvalidKey)?;
    Ok(private_key_from_bytes(&bytes))
}

/// Hex (no `0x`) of the 32-byte public key, as genesis `consensus_key` stores it.
pub fn public_key_to_hex(key: &PublicKey) -> String {
    hex::encode(key.as_ref())
}

/// Parses a public key from 32 bytes of hex (with or without `0x`); rejects points that are not
/// valid ed25519 keys.
pub fn public_key_from_hex(s: &str) -> Result<PublicKey, Error> {
    let bytes = lazai_types::decode_hex32(s.trim()).map_err(Error::InvalidKey)?;
    public_key_from_bytes(&bytes)
}

/// Parses a public key from its 32 bytes; rejects points that are not valid ed25519 keys.
pub fn public_key_from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, Error> {
    ed25519::PublicKey::decode(Copying(&bytes[..])).map_err(|e| Error::InvalidKey(e.to_string()))
}

/// Signs `msg` under `namespace` (commonware's ed25519 framing, as the chain verifies it).
pub fn sign(key: &PrivateKey, namespace: &[u8], msg: &[u8]) -> Vec<u8> {
    key.sign(namespace, msg).encode().to_vec()
}

/// The consensus keys of a genesis validator set, in genesis order.
pub fn genesis_participants(genesis: &lazai_types::Genesis) -> Result<Vec<PublicKey>, Error> {
    genesis
        .validators
        .iter()
        .map(|v| public_key_from_hex(&v.consensus_key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_roundtrip() {
        let key = generate_key();
        let hex = private_key_to_hex(&key);
        assert_eq!(hex.len(), 64);
        let parsed = private_key_from_hex(&format!("0x{hex}")).expect("parses");
        assert_eq!(parsed.public_key(), key.public_key());

        let public = public_key_to_hex(&key.public_key());
        assert_eq!(
            public_key_from_hex(&public).expect("parses"),
            key.public_key()
        );
    }

    #[test]
    fn seeded_keys_are_stable_and_distinct() {
        assert_eq!(key_from_seed(1).public_key(), key_from_seed(1).public_key());
        assert_ne!(key_from_seed(1).public_key(), key_from_seed(2).public_key());
    }

    #[test]
    fn rejects_bad_hex() {
        assert!(private_key_from_hex("zz").is_err());
        assert!(public_key_from_hex("00").is_err());
    }
}
