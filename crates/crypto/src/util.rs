//! Small helpers: randomness and hex.

use crate::{error::Error, error::Result};

/// `N` bytes from the operating system's CSPRNG.
///
/// # Panics
/// If the operating system cannot provide randomness; there is no safe way to go on.
pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if let Err(err) = getrandom::fill(&mut out) {
        panic!("operating system randomness unavailable: {err}");
    }
    out
}

/// `0x`-prefixed lowercase hex.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

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
