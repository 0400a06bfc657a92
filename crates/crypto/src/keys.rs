//! The per-file data key and the subkeys derived from it.
//!
//! One random 32-byte data key per file; it is the only secret the owner seals (HPKE) to the
//! worker. Everything else is derived from it with HKDF-SHA256 (empty salt, distinct `info`
//! strings), so each key has one job:
//!
//! | `info`                            | output                                        |
//! |-----------------------------------|-----------------------------------------------|
//! | `lazai chunk encryption v1`       | the AES-256-GCM key of the chunks             |
//! | `lazai key commitment v1`         | the key commitment stored in the header        |
//! | `lazai plaintext commitment v1`   | the BLAKE3 key of the plaintext commitment    |

use aes_gcm::{Aes256Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{error::Error, error::Result, hex, util};

const INFO_CHUNK_KEY: &[u8] = b"lazai chunk encryption v1";
const INFO_KEY_COMMITMENT: &[u8] = b"lazai key commitment v1";
const INFO_PLAINTEXT_COMMITMENT: &[u8] = b"lazai plaintext commitment v1";

/// A file's 32-byte data key. Zeroed on drop; `Debug` does not print it; compared in constant
/// time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        let diff = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl Eq for DataKey {}

impl DataKey {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's CSPRNG.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness (there is no safe fallback).
    pub fn generate() -> Self {
        Self(util::random_array())
    }

    /// Wraps raw key bytes (e.g. just unsealed with [`open_data_key`](crate::seal::open_data_key)).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 32 bytes of key material from a slice.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::encoding("data key", format!("{} bytes, want 32", bytes.len())))?;
        Ok(Self(bytes))
    }

    /// Parses `0x`-prefixed or bare hex.
    pub fn from_hex(text: &str) -> Result<Self> {
        Ok(Self(hex::decode_hex_array("data key", text)?))
    }

    /// The raw key bytes. Handle with care.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `0x`-prefixed hex of the key. Handle with care.
    pub fn to_hex(&self) -> String {
        util::encode_hex(&self.0)
    }

    /// Derives the subkeys (see the module docs).
    pub(crate) fn derive(&self) -> DerivedKeys {
        let hkdf = Hkdf::<Sha256>::new(None, &self.0);
        let mut chunk_key = [0u8; 32];
        let mut key_commitment = [0u8; 32];
        let mut commitment_key = [0u8; 32];
        // Expanding 32 bytes from SHA-256 HKDF cannot exceed the 255 * 32 byte limit.
        for (info, out) in [
            (INFO_CHUNK_KEY, &mut chunk_key),
            (INFO_KEY_COMMITMENT, &mut key_commitment),
            (INFO_PLAINTEXT_COMMITMENT, &mut commitment_key),
        ] {
            if hkdf.expand(info, out).is_err() {
                unreachable!("32-byte HKDF-SHA256 output is always valid");
            }
        }
        let cipher = Aes256Gcm::new(&chunk_key.into());
        chunk_key.zeroize();
        DerivedKeys {
            cipher,
            key_commitment,
            commitment_key: CommitmentKey(commitment_key),
        }
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// The BLAKE3 key of the plaintext commitment. Zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct CommitmentKey(pub(crate) [u8; 32]);

/// Keys derived from a [`DataKey`]; shared read-only by the worker threads.
pub(crate) struct DerivedKeys {
    pub(crate) cipher: Aes256Gcm,
    pub(crate) key_commitment: [u8; 32],
    pub(crate) commitment_key: CommitmentKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_are_distinct_and_deterministic() {
        let key = DataKey::from_bytes([7; 32]);
        let a = key.derive();
        let b = key.derive();
        assert_eq!(a.key_commitment, b.key_commitment);
        assert_eq!(a.commitment_key.0, b.commitment_key.0);
        assert_ne!(a.key_commitment, a.commitment_key.0);
        assert_ne!(a.key_commitment, *key.as_bytes());
    }

    #[test]
    fn debug_redacts() {
        assert_eq!(format!("{:?}", DataKey::generate()), "DataKey(<redacted>)");
    }

    #[test]
    fn hex_round_trip() {
        let key = DataKey::generate();
        assert_eq!(DataKey::from_hex(&key.to_hex()).ok(), Some(key));
    }
}
