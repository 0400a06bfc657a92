//! Integration tests of lazai-crypto: round trips, tampering, truncation, reordering, keys,
//! HPKE sealing, commitments, garbage input and golden vectors.

mod commitment;
mod files;
mod garbage;
mod golden;
mod reorder;
mod roundtrip;
mod seal;
mod tamper;
mod truncation;
mod verify;

use lazai_crypto::{DataKey, EncryptParams, Result, Root, Summary, decrypt, encrypt};

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Encrypts `plaintext` with `chunk_size`; panics on failure (tests only).
pub fn seal(plaintext: &[u8], chunk_size: u32) -> (Vec<u8>, Summary) {
    let params = EncryptParams::new(chunk_size).expect("valid chunk size");
    let mut blob = Vec::new();
    let summary = encrypt(plaintext, &mut blob, &params).expect("encrypt");
    (blob, summary)
}

/// Decrypts, returning the result and whatever was written.
pub fn open(blob: &[u8], key: &DataKey, root: Option<&Root>) -> (Result<Summary>, Vec<u8>) {
    let mut out = Vec::new();
    let result = decrypt(blob, &mut out, key, root);
    (result, out)
}

/// Byte offset of sealed chunk `i` in a blob whose chunks are all full except the last.
pub fn chunk_offset(i: usize, chunk_size: u32) -> usize {
    lazai_crypto::HEADER_LEN + i * (chunk_size as usize + 21)
}
