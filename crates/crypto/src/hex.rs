//! Hex decoding into this crate's [`Error`], and parsing of the digests from hex.
//!
//! The digest types live in [`digest`](crate::digest) without any dependence on the error type
//! (which names [`Root`]); their parsing is here.

use std::str::FromStr;

use crate::{
    digest::{PlaintextCommitment, Root},
    error::Error,
    error::Result,
};

macro_rules! parse_digest {
    ($name:ident, $what:literal) => {
        impl $name {
            /// Parses `0x`-prefixed or bare hex of 32 bytes.
            pub fn from_hex(text: &str) -> Result<Self> {
                Ok(Self::from_bytes(decode_hex_array($what, text)?))
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self> {
                Self::from_hex(text)
            }
        }
    };
}

parse_digest!(Root, "ciphertext root");
parse_digest!(PlaintextCommitment, "plaintext commitment");

/// Decodes `0x`-prefixed or bare hex of any length.
pub(crate) fn decode_hex(what: &'static str, text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(digits).map_err(|err| Error::encoding(what, err.to_string()))
}

/// Decodes `0x`-prefixed or bare hex of exactly `N` bytes.
pub(crate) fn decode_hex_array<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N]> {
    let bytes = decode_hex(what, text)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::encoding(what, format!("{} bytes, want {N}", bytes.len())))
}
