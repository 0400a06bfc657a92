//! The crate's one error type.
//!
//! Every failure a caller may want to react to differently has its own variant: a blob that was
//! cut short is not a blob that was tampered with, and neither is a wrong key.

use crate::{digest::Root, layout::HEADER_LEN};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while encrypting, decrypting, committing or sealing.
///
/// Chunk numbers in messages are 0-based positions in the ciphertext stream.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input or writing the output failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// A chunk size that is not a power of two between 1 KiB and 16 MiB.
    #[error("invalid chunk size {0}: must be a power of two between 1 KiB and 16 MiB")]
    InvalidChunkSize(u64),

    /// The stream ended before a whole header was read.
    #[error("ciphertext header is truncated: got {got} of {HEADER_LEN} bytes")]
    TruncatedHeader {
        /// Bytes present.
        got: usize,
    },

    /// The blob does not start with `LAZAIENC`.
    #[error("not a LazAI ciphertext: bad magic bytes")]
    BadMagic,

    /// A header version this implementation does not know.
    #[error("unsupported ciphertext format version {0}")]
    UnsupportedVersion(u8),

    /// An algorithm id this implementation does not know.
    #[error("unsupported ciphertext algorithm id {0}")]
    UnsupportedAlgorithm(u8),

    /// The data key does not match the key commitment in the header.
    #[error(
        "wrong data key: it does not match the blob's key commitment (or the header was altered)"
    )]
    WrongKey,

    /// A chunk's framing is impossible for the header's chunk size.
    #[error("chunk {chunk} is malformed: {reason}")]
    MalformedChunk {
        /// Position of the chunk.
        chunk: u64,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The stream ended at a chunk boundary before the final chunk.
    #[error("ciphertext is truncated: the stream ends after {chunks} chunks without a final chunk")]
    Truncated {
        /// Chunks present (all of them non-final).
        chunks: u64,
    },

    /// The stream ended in the middle of a chunk.
    #[error("ciphertext is truncated inside chunk {chunk}")]
    TruncatedChunk {
        /// Position of the incomplete chunk.
        chunk: u64,
    },

    /// Bytes follow the final chunk.
    #[error("trailing data after the final chunk {after_chunk}")]
    TrailingData {
        /// Position of the final chunk.
        after_chunk: u64,
    },

    /// A chunk that fails authentication: its ciphertext or tag, or the header, was modified.
    #[error(
        "chunk {chunk} failed authentication: its ciphertext, its tag or the header was modified"
    )]
    ChunkTampered {
        /// Position of the chunk.
        chunk: u64,
    },

    /// A chunk that authenticates, but at another position: chunks were swapped or moved.
    #[error("chunk {position} is out of order: it was sealed as chunk {sealed_as}")]
    ChunkOutOfOrder {
        /// Where the chunk was found.
        position: u64,
        /// Where it was sealed.
        sealed_as: u64,
    },

    /// A chunk that repeats an earlier one.
    #[error("chunk {position} is a duplicate of chunk {duplicate_of}")]
    DuplicateChunk {
        /// Where the copy was found.
        position: u64,
        /// The earlier chunk it repeats.
        duplicate_of: u64,
    },

    /// The stream has more chunks than the 32-bit chunk counter allows.
    #[error("too many chunks: the chunk counter is limited to 2^32 chunks")]
    TooManyChunks,

    /// The blob's Merkle root is not the expected one.
    #[error("ciphertext root mismatch: expected {expected}, computed {actual}")]
    RootMismatch {
        /// The root the caller expected (e.g. the one the chain stores).
        expected: Root,
        /// The root of the bytes actually read.
        actual: Root,
    },

    /// Text that should be `0x`-prefixed (or bare) hex of a given length is not.
    #[error("invalid {what}: {reason}")]
    InvalidEncoding {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// HPKE could not seal to the recipient (e.g. a low-order public key).
    #[error("could not seal the data key to the recipient: {0}")]
    Seal(hpke::HpkeError),

    /// The sealed key did not open. HPKE cannot tell these apart, by design.
    #[error(
        "could not open the sealed data key: wrong recipient key, wrong ciphertext root, or a modified sealed key"
    )]
    Unseal,
}

impl Error {
    pub(crate) fn encoding(what: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidEncoding {
            what,
            reason: reason.into(),
        }
    }
}
