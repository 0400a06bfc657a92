//! Sealing a file's data key to a recipient (the iDAO's attested TEE worker) with HPKE.
//!
//! RFC 9180, mode base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; `info` is
//! `lazai data key v1` and the AAD is the file's 32-byte ciphertext [`Root`], so a sealed key
//! opens only for the blob it was made for: moving it to another file's permission fails.
//!
//! A [`SealedKey`] is the encapsulated key (32 bytes) followed by the HPKE ciphertext of the data
//! key (32 bytes and a 16-byte tag): 80 bytes, or a `0x`-prefixed hex string of 160 digits, the
//! form the DataRegistry stores as a permission key.

use std::{fmt, str::FromStr};

use hpke::{
    Deserializable, Kem as _, OpModeR, OpModeS, Serializable, aead::AesGcm256, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};
use zeroize::Zeroize;

use crate::{digest::Root, error::Error, error::Result, hex, keys::DataKey, util};

type Kem = X25519HkdfSha256;

/// The HPKE `info` string of every data-key seal.
pub const SEAL_INFO: &[u8] = b"lazai data key v1";
/// Length of an X25519 public key, secret key and encapsulated key.
pub const X25519_KEY_LEN: usize = 32;
/// Length of an encoded [`SealedKey`].
pub const SEALED_KEY_LEN: usize = X25519_KEY_LEN + DataKey::LEN + 16;

/// A recipient's X25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(<Kem as hpke::Kem>::PublicKey);

/// A recipient's X25519 secret key. Zeroed on drop; `Debug` does not print it.
#[derive(Clone)]
pub struct SecretKey(<Kem as hpke::Kem>::PrivateKey);

/// A fresh X25519 key pair from the operating system's CSPRNG.
///
/// # Panics
/// If the operating system cannot provide randomness.
pub fn generate_keypair() -> (SecretKey, PublicKey) {
    let (sk, pk) = Kem::gen_keypair();
    (SecretKey(sk), PublicKey(pk))
}

impl PublicKey {
    /// Parses 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|err| Error::encoding("X25519 public key", err.to_string()))
    }

    /// Parses `0x`-prefixed or bare hex of 32 bytes.
    pub fn from_hex(text: &str) -> Result<Self> {
        Self::from_bytes(&hex::decode_hex("X25519 public key", text)?)
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; X25519_KEY_LEN] {
        self.0.to_bytes().into()
    }

    /// `0x`-prefixed hex.
    pub fn to_hex(&self) -> String {
        util::encode_hex(&self.to_bytes())
    }
}

impl SecretKey {
    /// Parses 32 bytes (clamped as X25519 requires).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|err| Error::encoding("X25519 secret key", err.to_string()))
    }

    /// Parses `0x`-prefixed or bare hex of 32 bytes.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut bytes = hex::decode_hex("X25519 secret key", text)?;
        let key = Self::from_bytes(&bytes);
        bytes.zeroize();
        key
    }

    /// The 32 (clamped) bytes. Handle with care.
    pub fn to_bytes(&self) -> [u8; X25519_KEY_LEN] {
        self.0.to_bytes().into()
    }

    /// `0x`-prefixed hex. Handle with care.
    pub fn to_hex(&self) -> String {
        let mut bytes = self.to_bytes();
        let text = util::encode_hex(&bytes);
        bytes.zeroize();
        text
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Kem::sk_to_pk(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for PublicKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::from_hex(text)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A data key sealed to one recipient for one ciphertext root: `enc ‖ ciphertext`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey([u8; SEALED_KEY_LEN]);

impl SealedKey {
    /// Parses the 80-byte encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes = bytes.try_into().map_err(|_| {
            Error::encoding(
                "sealed key",
                format!("{} bytes, want {SEALED_KEY_LEN}", bytes.len()),
            )
        })?;
        Ok(Self(bytes))
    }

    /// Parses `0x`-prefixed or bare hex of the 80-byte encoding.
    pub fn from_hex(text: &str) -> Result<Self> {
        Ok(Self(hex::decode_hex_array("sealed key", text)?))
    }

    /// The 80-byte encoding: encapsulated key (32) ‖ HPKE ciphertext (48).
    pub fn as_bytes(&self) -> &[u8; SEALED_KEY_LEN] {
        &self.0
    }

    /// `0x`-prefixed hex of the encoding (what the DataRegistry stores).
    pub fn to_hex(&self) -> String {
        util::encode_hex(&self.0)
    }
}

impl fmt::Display for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedKey({})", self.to_hex())
    }
}

impl FromStr for SealedKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::from_hex(text)
    }
}

/// Seals `data_key` to `recipient` for the blob whose ciphertext root is `root`.
///
/// Each call uses a fresh ephemeral key, so sealing twice gives different bytes. Fails only for
/// a public key HPKE refuses (an all-zero shared secret, i.e. a low-order point).
pub fn seal_data_key(recipient: &PublicKey, data_key: &DataKey, root: &Root) -> Result<SealedKey> {
    let (enc, ciphertext) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Kem>(
        &OpModeS::Base,
        &recipient.0,
        SEAL_INFO,
        data_key.as_bytes(),
        root.as_bytes(),
    )
    .map_err(Error::Seal)?;
    let mut out = [0u8; SEALED_KEY_LEN];
    out[..X25519_KEY_LEN].copy_from_slice(&enc.to_bytes());
    if ciphertext.len() != SEALED_KEY_LEN - X25519_KEY_LEN {
        return Err(Error::Seal(hpke::HpkeError::SealError));
    }
    out[X25519_KEY_LEN..].copy_from_slice(&ciphertext);
    Ok(SealedKey(out))
}

/// Opens a sealed data key with the recipient's secret key, for the blob whose root is `root`.
///
/// [`Error::Unseal`] if the key is not the recipient's, the root is not the one it was sealed
/// for, or the sealed key was modified; HPKE deliberately does not say which.
pub fn open_data_key(recipient: &SecretKey, sealed: &SealedKey, root: &Root) -> Result<DataKey> {
    let (enc, ciphertext) = sealed.0.split_at(X25519_KEY_LEN);
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| Error::Unseal)?;
    let mut plaintext = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        &recipient.0,
        &enc,
        SEAL_INFO,
        ciphertext,
        root.as_bytes(),
    )
    .map_err(|_| Error::Unseal)?;
    let key = DataKey::from_slice(&plaintext).map_err(|_| Error::Unseal);
    plaintext.zeroize();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let (sk, pk) = generate_keypair();
        let root = Root::from_bytes([1; 32]);
        let sealed = seal_data_key(&pk, &DataKey::generate(), &root);
        assert_eq!(
            sealed.map(|s| s.to_hex().len()).ok(),
            Some(2 + 2 * SEALED_KEY_LEN)
        );
        assert_eq!(sk.public_key(), pk);
        assert_eq!(format!("{sk:?}"), "SecretKey(<redacted>)");
    }
}
