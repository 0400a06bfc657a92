//! Small helpers: randomness and hex encoding.

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
