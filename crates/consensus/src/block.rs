//! The block type consensus orders: a LazChain [`Block`](lazai_types::Block) with its canonical
//! encoding and hash computed once, implementing the commonware codec and block traits marshal
//! needs.
//!
//! Wire format: `varint(len) || rlp(block)`. Decoding is bounded by [`BlockCodecConfig`], rejects
//! non-canonical RLP (the block is re-encoded and compared byte-for-byte, as marshal requires
//! `encode(decode(bytes)) == bytes`) and never panics on peer input.

use crate::digest::BlockDigest;
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write, varint::UInt};
use commonware_consensus::{Heightable, types::Height};
use commonware_cryptography::Digestible;
use std::{fmt, sync::Arc};

/// Largest encoding of the `u32` length prefix.
const LENGTH_PREFIX_MAX: usize = 5;

/// Bounds applied when decoding a [`ConsensusBlock`] from peers or storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCodecConfig {
    /// Largest accepted RLP encoding of a block, in bytes. Never above
    /// [`lazai_types::MAX_BLOCK_BYTES`].
    pub max_block_bytes: usize,
}

impl BlockCodecConfig {
    /// A bound of `max_block_bytes`, clamped to [`lazai_types::MAX_BLOCK_BYTES`].
    pub fn new(max_block_bytes: usize) -> Self {
        Self {
            max_block_bytes: max_block_bytes.min(lazai_types::MAX_BLOCK_BYTES),
        }
    }
}

impl Default for BlockCodecConfig {
    fn default() -> Self {
        Self::new(lazai_types::MAX_BLOCK_BYTES)
    }
}

struct Inner {
    block: lazai_types::Block,
    encoded: Bytes,
    digest: BlockDigest,
}

/// A LazChain block as consensus sees it. Cheap to clone (shared).
#[derive(Clone)]
pub struct ConsensusBlock(Arc<Inner>);

impl ConsensusBlock {
    /// Wraps a block, encoding and hashing it once.
    pub fn new(block: lazai_types::Block) -> Self {
        let encoded = Bytes::from(block.to_bytes());
        let digest = BlockDigest::from(block.hash());
        Self(Arc::new(Inner {
            block,
            encoded,
            digest,
        }))
    }

    /// The LazChain block.
    pub fn block(&self) -> &lazai_types::Block {
        &self.0.block
    }

    /// The block hash as a consensus digest.
    pub fn hash(&self) -> BlockDigest {
        self.0.digest
    }

    /// The block height.
    pub fn number(&self) -> u64 {
        self.0.block.header.height
    }

    /// Length of the block's RLP encoding.
    pub fn rlp_len(&self) -> usize {
        self.0.encoded.len()
    }

    /// Decodes a block from its RLP encoding, enforcing `cfg` and canonicity.
    pub fn from_rlp(bytes: &[u8], cfg: &BlockCodecConfig) -> Result<Self, CodecError> {
        if bytes.len() > cfg.max_block_bytes {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        let block = lazai_types::Block::from_bytes(bytes)
            .map_err(|_| CodecError::Invalid("ConsensusBlock", "malformed block rlp"))?;
        let encoded = block.to_bytes();
        if encoded.as_slice() != bytes {
            return Err(CodecError::Invalid(
                "ConsensusBlock",
                "non-canonical block rlp",
            ));
        }
        // The digest covers only the header; the header commits to the transactions through
        // their root. Checking it here means a peer cannot pair a real header with another
        // transaction list: every block marshal holds is the block its digest names.
        if block.compute_transactions_root() != block.header.transactions_root {
            return Err(CodecError::Invalid(
                "ConsensusBlock",
                "transactions do not match the header's transactions root",
            ));
        }
        if block.compute_evidence_root() != block.header.evidence_root {
            return Err(CodecError::Invalid(
                "ConsensusBlock",
                "evidence does not match the header's evidence root",
            ));
        }
        let digest = BlockDigest::from(block.hash());
        Ok(Self(Arc::new(Inner {
            block,
            encoded: Bytes::from(encoded),
            digest,
        })))
    }
}

impl From<lazai_types::Block> for ConsensusBlock {
    fn from(block: lazai_types::Block) -> Self {
        Self::new(block)
    }
}

impl PartialEq for ConsensusBlock {
    fn eq(&self, other: &Self) -> bool {
        self.0.digest == other.0.digest && self.0.encoded == other.0.encoded
    }
}

impl Eq for ConsensusBlock {}

impl fmt::Debug for ConsensusBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsensusBlock")
            .field("height", &self.number())
            .field("hash", &self.0.digest)
            .field("parent", &self.0.block.header.parent_hash)
            .field("transactions", &self.0.block.transactions.len())
            .finish()
    }
}

impl Write for ConsensusBlock {
    fn write(&self, buf: &mut impl BufMut) {
        // Blocks are built locally under the codec bound (<= 16 MiB), so the length fits u32.
        let len = u32::try_from(self.0.encoded.len()).unwrap_or(u32::MAX);
        UInt(len).write(buf);
        buf.put_slice(&self.0.encoded);
    }
}

impl EncodeSize for ConsensusBlock {
    fn encode_size(&self) -> usize {
        let len = u32::try_from(self.0.encoded.len()).unwrap_or(u32::MAX);
        UInt(len).encode_size() + self.0.encoded.len()
    }
}

impl Read for ConsensusBlock {
    type Cfg = BlockCodecConfig;

    fn read_cfg(buf: &mut impl Buf, cfg: &BlockCodecConfig) -> Result<Self, CodecError> {
        let len = UInt::<u32>::read(buf)?.0 as usize;
        if len > cfg.max_block_bytes {
            return Err(CodecError::InvalidLength(len));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let bytes = buf.copy_to_bytes(len);
        Self::from_rlp(&bytes, cfg)
    }
}

impl Digestible for ConsensusBlock {
    type Digest = BlockDigest;

    fn digest(&self) -> BlockDigest {
        self.0.digest
    }
}

impl Heightable for ConsensusBlock {
    fn height(&self) -> Height {
        Height::new(self.0.block.header.height)
    }
}

impl commonware_consensus::Block for ConsensusBlock {
    fn parent(&self) -> BlockDigest {
        BlockDigest::from(self.0.block.header.parent_hash)
    }
}

impl commonware_consensus::BoundedBlock for ConsensusBlock {
    fn max_encode_size(cfg: &BlockCodecConfig) -> usize {
        LENGTH_PREFIX_MAX + cfg.max_block_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Copying, Decode, Encode};
    use lazai_types::{Address, B256, Block, Bytes as TxBytes, Header};

    fn sample() -> Block {
        let mut block = Block {
            header: Header {
                parent_hash: B256::repeat_byte(7),
                height: 42,
                timestamp_ms: 1_700_000_000_000,
                proposer: Address::repeat_byte(1),
                gas_limit: 30_000_000,
                ..Default::default()
            },
            transactions: vec![
                TxBytes::from(vec![1u8, 2, 3]),
                TxBytes::from(vec![0xffu8; 300]),
            ],
            evidence: Vec::new(),
        };
        block.header.transactions_root = block.compute_transactions_root();
        block
    }

    #[test]
    fn rejects_a_header_paired_with_other_transactions() {
        let mut tampered = sample();
        tampered.transactions[0] = TxBytes::from(vec![9u8, 9, 9]);
        assert_eq!(tampered.hash(), sample().hash(), "same header, same digest");
        let bytes = tampered.to_bytes();
        let err = ConsensusBlock::from_rlp(&bytes, &BlockCodecConfig::default());
        assert!(
            err.is_err(),
            "a transaction list that does not match the root is refused"
        );
    }

    #[test]
    fn roundtrip_preserves_hash_and_bytes() {
        let block = ConsensusBlock::new(sample());
        let encoded = block.encode();
        assert_eq!(encoded.len(), block.encode_size());
        let decoded = ConsensusBlock::decode_cfg(encoded.clone(), &BlockCodecConfig::default())
            .expect("decodes");
        assert_eq!(decoded, block);
        assert_eq!(decoded.digest().to_b256(), sample().hash());
        assert_eq!(decoded.encode(), encoded);
        assert_eq!(
            commonware_consensus::Block::parent(&decoded).to_b256(),
            B256::repeat_byte(7)
        );
        assert_eq!(decoded.height().get(), 42);
    }

    #[test]
    fn rejects_oversized_and_garbage_without_panicking() {
        let block = ConsensusBlock::new(sample());
        let tight = BlockCodecConfig::new(block.rlp_len() - 1);
        assert!(ConsensusBlock::decode_cfg(block.encode(), &tight).is_err());

        let cfg = BlockCodecConfig::default();
        for input in [
            vec![],
            vec![0x05, 0xc0],
            vec![0xff, 0xff, 0xff, 0xff, 0x0f],
            vec![0x03, 0xc2, 0x80, 0x80],
            vec![0x80; 64],
        ] {
            assert!(ConsensusBlock::decode_cfg(Copying(&input[..]), &cfg).is_err());
        }
        let mut truncated = block.encode().to_vec();
        truncated.pop();
        assert!(ConsensusBlock::decode_cfg(Copying(&truncated[..]), &cfg).is_err());
        let mut extended = block.encode().to_vec();
        extended.push(0);
        assert!(ConsensusBlock::decode_cfg(Copying(&extended[..]), &cfg).is_err());
    }
}
