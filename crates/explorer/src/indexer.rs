//! Feeds the index from the node: follows the finalized head of a [`BlockSource`] (JSON-RPC, or
//! the node's own chain in process), fetching blocks and receipts in batches while the previous
//! batch is written. It only reads from the node, so it never holds up block production; after
//! a restart it resumes from the indexed height, and an index built from another chain
//! (another genesis) is emptied first.

use crate::index::{Index, IndexError, extract};
use crate::rpc::SourceError;
use crate::source::{BlockSource, missing_block};
use alloy_primitives::B256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Blocks fetched per round trip.
pub const DEFAULT_BATCH: u64 = 64;

/// What the pages show about indexing.
#[derive(Debug, Default)]
pub struct IndexStatus {
    /// The node's finalized height as last seen (`u64::MAX` before the first answer).
    node_height: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl IndexStatus {
    pub fn new() -> Self {
        Self {
            node_height: AtomicU64::new(u64::MAX),
            last_error: Mutex::new(None),
        }
    }

    pub fn node_height(&self) -> Option<u64> {
        let h = self.node_height.load(Ordering::Relaxed);
        (h != u64::MAX).then_some(h)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    fn set_error(&self, error: Option<String>) {
        if let Ok(mut e) = self.last_error.lock() {
            *e = error;
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the index writer stopped: {0}")]
    Join(String),
}

/// Makes the index follow the chain `rpc` serves, until the task is dropped or aborted.
pub async fn follow(
    source: Arc<dyn BlockSource>,
    index: Arc<Index>,
    status: Arc<IndexStatus>,
    batch: u64,
    poll: Duration,
) {
    let mut backoff = poll;
    loop {
        match run(source.as_ref(), &index, &status, batch.max(1), poll).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, source = source.describe(), "explorer indexer: retrying");
                status.set_error(Some(error.to_string()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Makes sure the index follows the node's chain: same genesis, and the same block at the
/// indexed height. Otherwise (another chain at the same URL) it is emptied. Returns the genesis.
async fn check_chain(source: &dyn BlockSource, index: &Arc<Index>) -> Result<B256, FollowError> {
    let genesis = source
        .block_hash(0)
        .await?
        .ok_or_else(|| missing_block(&source.describe(), 0))?;
    let (stored, at) = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || -> Result<_, IndexError> {
            let at = match index.height()? {
                Some(h) => index.block(h)?,
                None => None,
            };
            Ok((index.genesis()?, at))
        })
        .await
        .map_err(|e| FollowError::Join(e.to_string()))??
    };
    let same_tip = match &at {
        Some(summary) => source.block_hash(summary.height).await? == Some(summary.hash),
        None => true,
    };
    if stored != Some(genesis) || !same_tip {
        if stored.is_some() {
            tracing::info!(%genesis, "explorer index: the node serves another chain; rebuilding");
        }
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.reset(genesis))
            .await
            .map_err(|e| FollowError::Join(e.to_string()))??;
    }
    Ok(genesis)
}

type Write = tokio::task::JoinHandle<Result<(), IndexError>>;

async fn finish(write: Option<Write>) -> Result<(), FollowError> {
    match write {
        Some(w) => Ok(w.await.map_err(|e| FollowError::Join(e.to_string()))??),
        None => Ok(()),
    }
}

async fn run(
    source: &dyn BlockSource,
    index: &Arc<Index>,
    status: &Arc<IndexStatus>,
    batch: u64,
    poll: Duration,
) -> Result<(), FollowError> {
    let genesis = check_chain(source, index).await?;
    let mut next = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.height())
            .await
            .map_err(|e| FollowError::Join(e.to_string()))??
            .map_or(0, |h| h + 1)
    };
    let mut writing: Option<Write> = None;
    // Blocks per round trip: halved when the node cannot answer a batch (too large), grown back
    // by one after each success, never again past a size the node refused (the ceiling rises by
    // one every 32 successes, for blocks that got smaller).
    let mut size = batch;
    let mut ceiling = batch;
    let mut successes = 0u32;
    let outcome = async {
        loop {
            let head = source.finalized_height().await?;
            status.node_height.store(head, Ordering::Relaxed);
            status.set_error(None);
            if next > head {
                finish(writing.take()).await?;
                source.wait_for_block(poll).await;
                continue;
            }
            let last = head.min(next.saturating_add(size - 1));
            let fetched = match source.blocks(next..=last).await {
                Ok(fetched) => {
                    successes += 1;
                    if successes.is_multiple_of(32) {
                        ceiling = (ceiling + 1).min(batch);
                    }
                    size = (size + 1).min(ceiling);
                    fetched
                }
                Err(e) if e.is_unavailable() => return Err(e.into()),
                Err(e) if size > 1 => {
                    tracing::debug!(%e, size, "explorer index: smaller batches");
                    ceiling = (size - 1).max(1);
                    size = (size / 2).max(1);
                    continue;
                }
                Err(e) => {
                    // One block whose receipts the node cannot send: keep its summary.
                    tracing::warn!(height = next, error = %e, "explorer index: block too large to index its receipts; keeping its header only");
                    let block = source
                        .summary(next)
                        .await?
                        .ok_or_else(|| missing_block(&source.describe(), next))?;
                    vec![block]
                }
            };
            finish(writing.take()).await?;
            let index = index.clone();
            writing = Some(tokio::task::spawn_blocking(move || {
                let entries: Vec<_> = fetched.iter().map(extract).collect();
                index.apply(genesis, &entries)
            }));
            next = last + 1;
        }
    }
    .await;
    // A write still running finishes before the next attempt reads the index.
    let _ = finish(writing.take()).await;
    outcome
}
