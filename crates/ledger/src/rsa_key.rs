//! RSA public keys as LazAI's SDK publishes and reads them: PKCS#1 PEM
//! (`-----BEGIN RSA PUBLIC KEY-----`), parsed and checked before the chain records one.

use alloy_primitives::B256;
use rsa::RsaPublicKey;
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey, LineEnding};
use rsa::traits::PublicKeyParts;

/// Smallest modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 4096;
/// Gas charged for parsing and checking one key, on top of calldata and storage.
pub const RSA_KEY_GAS: u64 = 20_000;

/// A checked RSA public key: its canonical PEM (LF line endings, as `rsa` writes it) and
/// `keccak256` of its PKCS#1 DER, which TEE evidence binds (`lazai_attest::binding`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaKey {
    pub pem: String,
    pub hash: B256,
}

/// Parses a PKCS#1 PEM RSA public key of [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits with an odd
/// public exponent of at least 3; the error says what is wrong, for a revert reason.
pub fn parse(pem: &str) -> Result<RsaKey, String> {
    let key = RsaPublicKey::from_pkcs1_pem(pem.trim())
        .map_err(|e| format!("not a PKCS#1 PEM RSA public key ({e})"))?;
    let bits = key.n().bits();
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!(
            "a {bits}-bit modulus; {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are accepted"
        ));
    }
    let e = key.e().to_bytes_be();
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if key.e().bits() < 2 || !odd {
        return Err("the public exponent must be odd and at least 3".into());
    }
    let der = key
        .to_pkcs1_der()
        .map_err(|e| format!("cannot encode the key ({e})"))?;
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the key ({e})"))?;
    Ok(RsaKey {
        pem,
        hash: B256::from(lazai_attest::binding::rsa_key_hash(der.as_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 2048-bit key made once with `openssl genrsa 2048 | openssl rsa -RSAPublicKey_out`.
    const PEM_2048: &str = include_str!("../tests/fixtures/rsa2048.pem");

    #[test]
    fn a_pkcs1_key_parses_to_its_canonical_form() {
        let key = parse(PEM_2048).expect("valid key");
        assert!(key.pem.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
        // Surrounding whitespace and CRLF line endings name the same key.
        let crlf = format!("\r\n  {}  \r\n", PEM_2048.replace('\n', "\r\n"));
        assert_eq!(parse(&crlf).expect("same key"), key);
        assert_eq!(parse(&key.pem).expect("round trip"), key);
    }

    #[test]
    fn other_text_is_refused_with_a_reason() {
        for bad in [
            "",
            "0x1234",
            "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
            &PEM_2048.replace("RSA PUBLIC KEY", "PUBLIC KEY"),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
