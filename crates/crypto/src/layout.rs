//! The numbers of the ciphertext format: magic, version, lengths and chunk-size bounds.
//!
//! A leaf: [`format`](crate::format) re-exports every constant, and the error messages name
//! them without depending on the codec.

/// First eight bytes of every blob.
pub const MAGIC: [u8; 8] = *b"LAZAIENC";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Algorithm id of AES-256-GCM, the only algorithm of version 1.
pub const ALG_AES_256_GCM: u8 = 1;
/// Length of the random per-file nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Length of the key commitment in the header.
pub const KEY_COMMITMENT_LEN: usize = 32;
/// Length of the encoded header.
pub const HEADER_LEN: usize = 8 + 1 + 1 + 4 + NONCE_PREFIX_LEN + KEY_COMMITMENT_LEN;
/// Length of the framing in front of each chunk: final flag (1) and ciphertext length (u32 BE).
pub const FRAME_LEN: usize = 5;
/// Length of an AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed chunk adds to its plaintext (framing and tag).
pub const CHUNK_OVERHEAD: usize = FRAME_LEN + TAG_LEN;
/// Smallest allowed chunk size (one BLAKE3 chunk).
pub const MIN_CHUNK_SIZE: u32 = 1 << 10;
/// Largest allowed chunk size.
pub const MAX_CHUNK_SIZE: u32 = 1 << 24;
/// The chunk size `EncryptParams::default` uses.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// Largest number of chunks a blob may have (the nonce's chunk counter is a `u32`).
pub const MAX_CHUNKS: u64 = 1 << 32;
