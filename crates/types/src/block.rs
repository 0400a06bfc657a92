//! Block header and block: the unit that consensus orders and the ledger executes.

use crate::receipt::Receipt;
use alloy_primitives::{Address, B256, Bloom, Bytes, keccak256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use std::sync::Arc;

/// Largest encoded signed transaction accepted anywhere (mempool, block, RPC).
pub const MAX_TX_BYTES: usize = 128 * 1024;

/// Largest encoded block; bounds what a peer may make us decode.
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// A LazChain block header.
///
/// The header commits to its own post-state (`state_root` is the root after executing this
/// block's transactions on the parent's post-state), as Ethereum does: see ARCHITECTURE.md.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Header {
    /// Hash of the parent header (zero for genesis).
    pub parent_hash: B256,
    /// Height; genesis is 0.
    pub height: u64,
    /// Milliseconds since the Unix epoch, strictly increasing along the chain.
    pub timestamp_ms: u64,
    /// Fee recipient of the validator that proposed the block.
    pub proposer: Address,
    /// Ethereum ordered-trie root of the EIP-2718 transaction encodings.
    pub transactions_root: B256,
    /// Ethereum ordered-trie root of the EIP-2718 receipt encodings.
    pub receipts_root: B256,
    /// Authenticated commitment to all accounts and module storage after this block.
    pub state_root: B256,
    /// Bloom over every log of the block.
    pub logs_bloom: Bloom,
    /// Base fee per gas (wei) that every transaction of this block pays.
    pub base_fee: u64,
    /// Most gas the block's transactions may use together.
    pub gas_limit: u64,
    /// Gas the block's transactions used together.
    pub gas_used: u64,
    /// Commitment to the block's equivocation evidence: keccak256 of the RLP list of its items,
    /// or zero when it carries none.
    pub evidence_root: B256,
}

impl Header {
    /// The block hash: keccak256 of the header's RLP encoding.
    pub fn hash(&self) -> B256 {
        let mut buf = Vec::with_capacity(512);
        self.encode(&mut buf);
        keccak256(&buf)
    }

    /// Timestamp in whole seconds, as the Ethereum surface reports it.
    pub fn timestamp_secs(&self) -> u64 {
        self.timestamp_ms / 1000
    }

    /// The parent rule, the one place it is written: this header extends `parent` only if its
    /// height is the parent's plus one, it names the parent's hash, and its timestamp is
    /// strictly later. Consensus checks it before voting, the chain before executing.
    pub fn check_child_of(&self, parent: &Header) -> Result<(), NotAChild> {
        self.check_child_of_hash(parent, parent.hash())
    }

    /// [`Self::check_child_of`] with the parent's hash already known.
    pub fn check_child_of_hash(&self, parent: &Header, parent_hash: B256) -> Result<(), NotAChild> {
        if self.height != parent.height.wrapping_add(1) {
            Err(NotAChild::Height)
        } else if self.parent_hash != parent_hash {
            Err(NotAChild::ParentHash)
        } else if self.timestamp_ms <= parent.timestamp_ms {
            Err(NotAChild::Timestamp)
        } else {
            Ok(())
        }
    }
}

/// Why a header does not extend a parent (see [`Header::check_child_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.as_str())]
pub enum NotAChild {
    Height,
    ParentHash,
    Timestamp,
}

impl NotAChild {
    /// The reason as a static string, for structured log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Height => "height is not parent height + 1",
            Self::ParentHash => "parent hash mismatch",
            Self::Timestamp => "timestamp not after parent",
        }
    }
}

/// A finalized block with its receipts, as a node announces it once it is committed.
#[derive(Clone, Debug)]
pub struct FinalizedBlock {
    pub block: Arc<Block>,
    pub hash: B256,
    pub receipts: Arc<Vec<Receipt>>,
}

/// A block: a header and its transactions, each as its EIP-2718 encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<Bytes>,
    /// Proofs that validators equivocated (signed two conflicting consensus messages), each
    /// as the consensus layer encodes it. Recorded on chain for slashing.
    pub evidence: Vec<Bytes>,
}

impl Block {
    /// The block hash (the header's hash).
    pub fn hash(&self) -> B256 {
        self.header.hash()
    }

    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// Canonical encoding of the whole block.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.length());
        self.encode(&mut buf);
        buf
    }

    /// Decodes a block from untrusted bytes: rejects oversized input and trailing bytes.
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Self, alloy_rlp::Error> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(alloy_rlp::Error::Custom(
                "block larger than MAX_BLOCK_BYTES",
            ));
        }
        let block = Block::decode(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(alloy_rlp::Error::UnexpectedLength);
        }
        Ok(block)
    }

    /// The commitment [`Header::evidence_root`] must hold for this block's evidence.
    pub fn compute_evidence_root(&self) -> B256 {
        if self.evidence.is_empty() {
            return B256::ZERO;
        }
        let mut buf = Vec::new();
        self.evidence.encode(&mut buf);
        keccak256(&buf)
    }

    /// Ethereum ordered-trie root over this block's transaction encodings.
    pub fn compute_transactions_root(&self) -> B256 {
        alloy_trie::root::ordered_trie_root_with_encoder(&self.transactions, |tx, buf| {
            buf.extend_from_slice(tx)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn block_round_trips() {
        let block = Block {
            header: Header {
                height: 7,
                timestamp_ms: 1_000,
                base_fee: 7,
                ..Default::default()
            },
            transactions: vec![Bytes::from_static(&[2, 1, 2, 3])],
            evidence: vec![Bytes::from_static(b"proof")],
        };
        let bytes = block.to_bytes();
        assert_eq!(Block::from_bytes(&bytes).expect("decodes"), block);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Block::from_bytes(&trailing).is_err());
    }

    #[test]
    fn parent_rule_checks_height_hash_and_time() {
        let parent = Header {
            height: 3,
            timestamp_ms: 10,
            ..Default::default()
        };
        let child = Header {
            parent_hash: parent.hash(),
            height: 4,
            timestamp_ms: 11,
            ..Default::default()
        };
        assert_eq!(child.check_child_of(&parent), Ok(()));
        let skip = Header {
            height: 5,
            ..child.clone()
        };
        assert_eq!(skip.check_child_of(&parent), Err(NotAChild::Height));
        let orphan = Header {
            parent_hash: B256::ZERO,
            ..child.clone()
        };
        assert_eq!(orphan.check_child_of(&parent), Err(NotAChild::ParentHash));
        let early = Header {
            timestamp_ms: 10,
            ..child
        };
        assert_eq!(early.check_child_of(&parent), Err(NotAChild::Timestamp));
    }

    #[test]
    fn empty_transactions_root_is_ethereum_empty_root() {
        assert_eq!(
            Block::default().compute_transactions_root(),
            alloy_trie::EMPTY_ROOT_HASH
        );
    }

    proptest! {
        #[test]
        fn block_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Block::from_bytes(&bytes);
        }
    }
}
