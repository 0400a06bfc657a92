//! Where the indexer reads finalized blocks: any node's JSON-RPC ([`Rpc`]), or — when the
//! explorer runs inside a node (`lazai devnet`, `lazai node` with `explorer = true`) — the
//! node's own chain, with no JSON in between. Pages always read through JSON-RPC.

use crate::index::{BlockSummary, IndexReceipt};
use crate::rpc::{FullBlock, Rpc, SourceError, SourceResult};
use alloy_primitives::B256;
use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::time::Duration;

/// A finalized block as the index reads it: its summary, its parent, its receipts.
#[derive(Clone, Debug)]
pub struct SourceBlock {
    pub summary: BlockSummary,
    pub parent: B256,
    /// In transaction order; empty when the block is kept as a summary only.
    pub receipts: Vec<IndexReceipt>,
}

impl SourceBlock {
    /// The block as `eth_getBlockByNumber` describes it, with its receipts.
    pub fn from_rpc(block: &FullBlock, receipts: Vec<IndexReceipt>) -> Self {
        Self {
            summary: BlockSummary {
                height: block.header.number,
                hash: block.header.hash,
                timestamp: block.header.timestamp,
                tx_count: block.transactions.len() as u32,
                gas_used: block.header.gas_used,
                proposer: block.header.beneficiary,
            },
            parent: block.header.parent_hash,
            receipts,
        }
    }
}

/// A boxed future of a source's answer.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = SourceResult<T>> + Send + 'a>>;

/// Finalized blocks for the indexer.
pub trait BlockSource: Send + Sync + 'static {
    /// What the logs call this source (a URL, "this node").
    fn describe(&self) -> String;

    /// The finalized height.
    fn finalized_height(&self) -> SourceFuture<'_, u64>;

    /// The hash of the finalized block at `height`, `None` past the head.
    fn block_hash(&self, height: u64) -> SourceFuture<'_, Option<B256>>;

    /// The finalized blocks of `range` with their receipts, in order. May fail for a range too
    /// large to send at once (the indexer then asks for fewer).
    fn blocks(&self, range: RangeInclusive<u64>) -> SourceFuture<'_, Vec<SourceBlock>>;

    /// One finalized block without its receipts, for a block whose receipts cannot be sent.
    fn summary(&self, height: u64) -> SourceFuture<'_, Option<SourceBlock>>;

    /// Waits (at most `poll`) for the next finalized block once the index has caught up.
    fn wait_for_block(&self, poll: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(poll))
    }
}

impl BlockSource for Rpc {
    fn describe(&self) -> String {
        self.url().to_string()
    }

    fn finalized_height(&self) -> SourceFuture<'_, u64> {
        Box::pin(self.block_number())
    }

    fn block_hash(&self, height: u64) -> SourceFuture<'_, Option<B256>> {
        Box::pin(async move { Ok(self.block(height).await?.map(|b| b.header.hash)) })
    }

    fn blocks(&self, range: RangeInclusive<u64>) -> SourceFuture<'_, Vec<SourceBlock>> {
        Box::pin(self.blocks_with_receipts(range))
    }

    fn summary(&self, height: u64) -> SourceFuture<'_, Option<SourceBlock>> {
        Box::pin(async move {
            Ok(self
                .block(height)
                .await?
                .map(|b| SourceBlock::from_rpc(&b, Vec::new())))
        })
    }
}

/// A source that answered without a block it should have: the node's chain is inconsistent or
/// moved under the indexer.
pub fn missing_block(source: &str, height: u64) -> SourceError {
    SourceError::Malformed {
        method: source.to_string(),
        reason: format!("finalized block {height} is missing"),
    }
}
