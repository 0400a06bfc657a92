//! Integration tests of lazai-blob: round trips through local and in-memory stores with real
//! blobs, tampering, truncation, wrong roots, size limits, foreign URLs, bad names, locations.

mod fetch;
mod locations;
mod names;
mod put;

use lazai_crypto::{EncryptParams, Summary, encrypt};

/// Deterministic pseudo-random bytes (xorshift; the content does not matter, only that it is
/// not trivially compressible or repetitive).
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Encrypts `plaintext` with `chunk_size`; panics on failure (tests only).
pub fn seal(plaintext: &[u8], chunk_size: u32) -> (Vec<u8>, Summary) {
    let params = EncryptParams::new(chunk_size).expect("valid chunk size");
    let mut blob = Vec::new();
    let summary = encrypt(plaintext, &mut blob, &params).expect("encrypt");
    (blob, summary)
}

/// A small blob (several chunks) and its summary.
pub fn small_blob(seed: u64) -> (Vec<u8>, Summary) {
    seal(&data(10_000, seed), 1024)
}
