//! The byte format of a ciphertext blob: the header, the per-chunk framing and the nonces.
//!
//! This module only encodes and decodes; it holds no keys. The layout is documented in the crate
//! docs and in `FORMAT.md`, and golden vectors in the tests pin it.

pub use crate::layout::{
    ALG_AES_256_GCM, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, FRAME_LEN, HEADER_LEN, KEY_COMMITMENT_LEN,
    MAGIC, MAX_CHUNK_SIZE, MAX_CHUNKS, MIN_CHUNK_SIZE, NONCE_PREFIX_LEN, TAG_LEN, VERSION,
};
use crate::{error::Error, error::Result};

/// Checks that `chunk_size` is a power of two in `MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE`.
///
/// Powers of two keep every chunk a whole BLAKE3 subtree, which lets the plaintext commitment be
/// computed chunk by chunk in parallel and still equal `blake3::keyed_hash` of the whole file.
pub fn check_chunk_size(chunk_size: u64) -> Result<u32> {
    if chunk_size.is_power_of_two()
        && (u64::from(MIN_CHUNK_SIZE)..=u64::from(MAX_CHUNK_SIZE)).contains(&chunk_size)
    {
        Ok(chunk_size as u32)
    } else {
        Err(Error::InvalidChunkSize(chunk_size))
    }
}

/// The decoded header of a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk (the final chunk may be shorter).
    pub chunk_size: u32,
    /// Random per-file prefix of every chunk nonce.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// Commitment to the data key (HKDF output), so a wrong key is told apart from tampering.
    pub key_commitment: [u8; KEY_COMMITMENT_LEN],
}

impl Header {
    /// Encodes the header; these exact bytes are the AAD of every chunk and Merkle leaf 0.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8] = VERSION;
        out[9] = ALG_AES_256_GCM;
        out[10..14].copy_from_slice(&self.chunk_size.to_be_bytes());
        out[14..21].copy_from_slice(&self.nonce_prefix);
        out[21..53].copy_from_slice(&self.key_commitment);
        out
    }

    /// Decodes and validates a header. Never panics, whatever the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::TruncatedHeader { got: bytes.len() });
        }
        if bytes[0..8] != MAGIC {
            return Err(Error::BadMagic);
        }
        if bytes[8] != VERSION {
            return Err(Error::UnsupportedVersion(bytes[8]));
        }
        if bytes[9] != ALG_AES_256_GCM {
            return Err(Error::UnsupportedAlgorithm(bytes[9]));
        }
        let mut size = [0u8; 4];
        size.copy_from_slice(&bytes[10..14]);
        let chunk_size = check_chunk_size(u64::from(u32::from_be_bytes(size)))?;
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(&bytes[14..21]);
        let mut key_commitment = [0u8; KEY_COMMITMENT_LEN];
        key_commitment.copy_from_slice(&bytes[21..53]);
        Ok(Self {
            chunk_size,
            nonce_prefix,
            key_commitment,
        })
    }
}

/// The AES-GCM nonce of chunk `index`: prefix ‖ index (u32 BE) ‖ final flag.
pub fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// The framing in front of a sealed chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Whether this is the final chunk (equals the nonce's last byte).
    pub last: bool,
    /// Length of the ciphertext (= plaintext) that follows, before the tag.
    pub len: u32,
}

impl Frame {
    /// Encodes the framing.
    pub fn encode(self) -> [u8; FRAME_LEN] {
        let mut out = [0u8; FRAME_LEN];
        out[0] = u8::from(self.last);
        out[1..5].copy_from_slice(&self.len.to_be_bytes());
        out
    }

    /// Decodes the framing of chunk `index` and checks it against the chunk size. Never panics.
    ///
    /// Only canonical framings pass: a non-final chunk is exactly `chunk_size` long, the final
    /// chunk is `1..=chunk_size` long, and only a lone final chunk (an empty file) may be empty.
    pub fn decode(bytes: &[u8; FRAME_LEN], index: u64, chunk_size: u32) -> Result<Self> {
        let malformed = |reason| Error::MalformedChunk {
            chunk: index,
            reason,
        };
        let last = match bytes[0] {
            0 => false,
            1 => true,
            _ => return Err(malformed("final-chunk flag is neither 0 nor 1")),
        };
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[1..5]);
        let len = u32::from_be_bytes(len);
        if len > chunk_size {
            return Err(malformed("longer than the chunk size"));
        }
        if !last && len != chunk_size {
            return Err(malformed(
                "a non-final chunk must be exactly the chunk size",
            ));
        }
        if last && len == 0 && index != 0 {
            return Err(malformed(
                "only the sole chunk of an empty file may be empty",
            ));
        }
        Ok(Self { last, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_bounds() {
        assert!(check_chunk_size(1024).is_ok());
        assert!(check_chunk_size(1 << 24).is_ok());
        assert!(check_chunk_size(512).is_err());
        assert!(check_chunk_size(1 << 25).is_err());
        assert!(check_chunk_size(3000).is_err());
        assert!(check_chunk_size(0).is_err());
    }

    #[test]
    fn header_round_trip() {
        let header = Header {
            chunk_size: 4096,
            nonce_prefix: [1, 2, 3, 4, 5, 6, 7],
            key_commitment: [9; 32],
        };
        let bytes = header.encode();
        assert_eq!(&bytes[..8], b"LAZAIENC");
        assert_eq!(bytes[8..14], [1, 1, 0, 0, 0x10, 0]);
        assert_eq!(Header::decode(&bytes).ok(), Some(header));
    }

    #[test]
    fn nonce_layout() {
        let nonce = chunk_nonce(&[0xaa; 7], 0x0102_0304, true);
        assert_eq!(
            nonce,
            [0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 1, 2, 3, 4, 1]
        );
    }

    #[test]
    fn frame_rules() {
        let ok = |last, len, index| Frame::decode(&Frame { last, len }.encode(), index, 1024);
        assert!(ok(false, 1024, 3).is_ok());
        assert!(ok(true, 1, 3).is_ok());
        assert!(ok(true, 0, 0).is_ok());
        assert!(ok(true, 0, 1).is_err());
        assert!(ok(false, 1023, 0).is_err());
        assert!(ok(true, 1025, 0).is_err());
        assert!(Frame::decode(&[2, 0, 0, 4, 0], 0, 1024).is_err());
    }
}
