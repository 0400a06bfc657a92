//! The consensus digest: a LazChain block hash (keccak256 of the header RLP) as a commonware
//! [`Digest`](commonware_cryptography::Digest).
//!
//! Simplex votes, marshal archives and the broadcast buffer all key blocks by this digest, so the
//! hash that consensus finalizes is byte-for-byte the Ethereum-style block hash the RPC reports.

use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_math::algebra::Random;
use commonware_utils::{Array, Span};
use lazai_types::B256;
use rand_core::CryptoRng;
use std::{fmt, ops::Deref};

/// Length in bytes of a [`BlockDigest`].
pub const DIGEST_LENGTH: usize = 32;

/// A 32-byte block hash used as the consensus payload digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct BlockDigest(pub [u8; DIGEST_LENGTH]);

impl BlockDigest {
    /// The digest as an alloy hash.
    pub const fn to_b256(self) -> B256 {
        B256::new(self.0)
    }
}

impl From<B256> for BlockDigest {
    fn from(hash: B256) -> Self {
        Self(hash.0)
    }
}

impl From<BlockDigest> for B256 {
    fn from(digest: BlockDigest) -> Self {
        B256::new(digest.0)
    }
}

impl From<[u8; DIGEST_LENGTH]> for BlockDigest {
    fn from(bytes: [u8; DIGEST_LENGTH]) -> Self {
        Self(bytes)
    }
}

impl Write for BlockDigest {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl Read for BlockDigest {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(<[u8; DIGEST_LENGTH]>::read(buf)?))
    }
}

impl FixedSize for BlockDigest {
    const SIZE: usize = DIGEST_LENGTH;
}

impl Span for BlockDigest {}

impl Array for BlockDigest {}

impl AsRef<[u8]> for BlockDigest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Deref for BlockDigest {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for BlockDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Display for BlockDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl Random for BlockDigest {
    fn random(mut rng: impl CryptoRng) -> Self {
        let mut bytes = [0u8; DIGEST_LENGTH];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl commonware_cryptography::Digest for BlockDigest {
    const EMPTY: Self = Self([0u8; DIGEST_LENGTH]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Copying, DecodeExt, Encode};

    #[test]
    fn roundtrips_through_codec_and_b256() {
        let hash = lazai_types::keccak256(b"lazai");
        let digest = BlockDigest::from(hash);
        let encoded = digest.encode();
        assert_eq!(encoded.len(), DIGEST_LENGTH);
        let decoded = BlockDigest::decode(encoded).expect("32 bytes decode");
        assert_eq!(decoded, digest);
        assert_eq!(decoded.to_b256(), hash);
        assert_eq!(format!("{digest}"), format!("{hash}"));
    }

    #[test]
    fn rejects_short_input() {
        assert!(BlockDigest::decode(Copying(&[0u8; 31][..])).is_err());
        assert!(BlockDigest::decode(Copying(&[0u8; 33][..])).is_err());
    }
}
