//! The node's RSA key: what LazAI's SDK wraps a contribution's password to.
//!
//! The SDK reads the key from the chain (`VerifiedComputing.getNode(node).publicKey`, and
//! `DataRegistry.publicKey()`), parses it as PKCS#1 PEM and encrypts the password with RSA
//! PKCS#1 v1.5; the node receives the ciphertext hex-encoded as a `ProofRequest`'s
//! `encryption_key`. The key is made when the worker starts and lives only in its memory
//! (inside the TEE): its public half is bound into the worker's attestation
//! (`lazai_attest::binding`) and published on chain, and a restarted worker has a new one.
//!
//! PKCS#1 v1.5 decryption is a padding oracle if its failures can be told apart
//! (Bleichenbacher): a ciphertext whose padding does not check is not an error here — it
//! yields a pseudo-random password derived from a secret of this key and the ciphertext, so
//! the request fails later exactly as a wrong password does. The `rsa` crate's decryption is
//! not constant-time (RUSTSEC-2023-0071, "Marvin"); the HTTP API therefore handles one
//! unwrap at a time per key.

use alloy_primitives::keccak256;
use rsa::pkcs1::{EncodeRsaPublicKey, LineEnding};
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

/// Modulus size of a node key, in bits.
pub const NODE_KEY_BITS: usize = 3072;
/// Length of the password LazAI's SDK wraps: the hex of a 65-byte signature.
pub const SDK_PASSWORD_LEN: usize = 130;

/// Why an `encryption_key` was refused before any decryption (these depend only on its
/// shape, never on the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// Not hex.
    #[error("encryption_key is not hex: {0}")]
    NotHex(String),
    /// Not one RSA block of this key's size.
    #[error("encryption_key is {got} bytes; an RSA-{bits} ciphertext is {want}")]
    WrongLength {
        got: usize,
        want: usize,
        bits: usize,
    },
}

/// The node's RSA key pair (see the module docs).
pub struct NodeKey {
    private: RsaPrivateKey,
    pem: String,
    der_hash: [u8; 32],
    rejection: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKey")
            .field(
                "public_key_hash",
                &alloy_primitives::hex::encode(self.der_hash),
            )
            .finish_non_exhaustive()
    }
}

impl NodeKey {
    /// A fresh key of [`NODE_KEY_BITS`] from the operating system's randomness.
    pub fn generate() -> anyhow::Result<Self> {
        Self::generate_bits(NODE_KEY_BITS)
    }

    /// A fresh key of `bits` (tests use smaller keys only through this).
    pub fn generate_bits(bits: usize) -> anyhow::Result<Self> {
        let mut rng = rand::rngs::OsRng;
        let private = RsaPrivateKey::new(&mut rng, bits)?;
        let public = RsaPublicKey::from(&private);
        let pem = public.to_pkcs1_pem(LineEnding::LF)?;
        let der = public.to_pkcs1_der()?;
        let mut rejection = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rng, rejection.as_mut());
        Ok(Self {
            private,
            pem,
            der_hash: lazai_attest::binding::rsa_key_hash(der.as_bytes()),
            rejection,
        })
    }

    /// The public key as PKCS#1 PEM, as published on chain.
    pub fn public_pem(&self) -> &str {
        &self.pem
    }

    /// `keccak256` of the public key's PKCS#1 DER: what the attestation binds.
    pub fn public_key_hash(&self) -> [u8; 32] {
        self.der_hash
    }

    /// The modulus size in bytes (the length of every ciphertext).
    pub fn size(&self) -> usize {
        rsa::traits::PublicKeyParts::size(&self.private)
    }

    /// The password inside a `ProofRequest`'s `encryption_key` (hex, `0x` optional). A
    /// ciphertext that does not decrypt gives a pseudo-random password instead of an error
    /// (see the module docs), so only its shape can be refused here.
    pub fn unwrap_password(&self, encryption_key: &str) -> Result<Zeroizing<Vec<u8>>, UnwrapError> {
        let text = encryption_key.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let ciphertext = alloy_primitives::hex::decode(digits)
            .map_err(|e| UnwrapError::NotHex(e.to_string()))?;
        let want = self.size();
        if ciphertext.len() != want {
            return Err(UnwrapError::WrongLength {
                got: ciphertext.len(),
                want,
                bits: want * 8,
            });
        }
        match self.private.decrypt(Pkcs1v15Encrypt, &ciphertext) {
            Ok(password) => Ok(Zeroizing::new(password)),
            Err(_) => Ok(self.implicit_rejection(&ciphertext)),
        }
    }

    /// The stand-in password for a ciphertext that does not decrypt: as long as the SDK's
    /// passwords, hex like them, fixed per ciphertext, unknowable without this key.
    fn implicit_rejection(&self, ciphertext: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SDK_PASSWORD_LEN));
        let mut counter = 0u8;
        while out.len() < SDK_PASSWORD_LEN {
            let block = keccak256([&self.rejection[..], &[counter], ciphertext].concat());
            out.extend_from_slice(alloy_primitives::hex::encode(block).as_bytes());
            counter = counter.wrapping_add(1);
        }
        out.truncate(SDK_PASSWORD_LEN);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::DecodeRsaPublicKey;

    fn key() -> NodeKey {
        NodeKey::generate_bits(2048).expect("key")
    }

    #[test]
    fn a_password_wrapped_as_the_sdk_does_unwraps() {
        let key = key();
        // What alith does: load the PEM with PKCS#1, encrypt with PKCS#1 v1.5, hex-encode.
        let public = RsaPublicKey::from_pkcs1_pem(key.public_pem().trim()).expect("pem");
        let password = "ab".repeat(65);
        let wrapped = public
            .encrypt(&mut rand::rngs::OsRng, Pkcs1v15Encrypt, password.as_bytes())
            .expect("wrap");
        let hex = alloy_primitives::hex::encode(&wrapped);
        assert_eq!(
            &key.unwrap_password(&hex).expect("unwrap")[..],
            password.as_bytes()
        );
        assert_eq!(
            &key.unwrap_password(&format!("0x{hex}")).expect("0x")[..],
            password.as_bytes()
        );
    }

    #[test]
    fn a_ciphertext_that_does_not_decrypt_gives_a_stable_stand_in() {
        let key = key();
        let garbage = "07".repeat(key.size());
        let a = key
            .unwrap_password(&garbage)
            .expect("no error for a bad padding");
        let b = key.unwrap_password(&garbage).expect("again");
        assert_eq!(a, b);
        assert_eq!(a.len(), SDK_PASSWORD_LEN);
        assert!(a.iter().all(u8::is_ascii_hexdigit));
        let other = key
            .unwrap_password(&"08".repeat(key.size()))
            .expect("other");
        assert_ne!(a, other);
    }

    #[test]
    fn the_shape_of_an_encryption_key_is_checked() {
        let key = key();
        assert!(matches!(
            key.unwrap_password("zz"),
            Err(UnwrapError::NotHex(_))
        ));
        assert!(matches!(
            key.unwrap_password("00"),
            Err(UnwrapError::WrongLength {
                got: 1,
                want: 256,
                bits: 2048
            })
        ));
        assert!(matches!(
            key.unwrap_password(""),
            Err(UnwrapError::WrongLength { got: 0, .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever a stranger sends as `encryption_key`, the unwrap answers without panicking:
        /// a shape error, or a password (real or stand-in).
        #[test]
        fn any_encryption_key_is_answered(text in ".{0,600}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let key = KEY.get_or_init(key);
            let _ = key.unwrap_password(&text);
            let _ = key.unwrap_password(&alloy_primitives::hex::encode(&bytes));
            let mut block = bytes.clone();
            block.resize(key.size(), 0);
            proptest::prop_assert!(key.unwrap_password(&alloy_primitives::hex::encode(&block)).is_ok());
        }
    }

    static KEY: std::sync::OnceLock<NodeKey> = std::sync::OnceLock::new();
}
