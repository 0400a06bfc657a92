//! A small in-memory executor for tests: a "state root" chained by hashing, one synthetic
//! transaction per block, and bookkeeping that records any breach of the executor contract.

use lazai_consensus::Executor;
use lazai_types::{Address, B256, Block, Bytes, Header, keccak256};
use parking_lot::Mutex;
use std::{collections::HashSet, sync::Arc};

#[derive(Default)]
struct State {
    /// Finalized blocks by height (index 0 is genesis).
    finalized: Vec<Block>,
    /// Blocks built or verified (unfinalized post-states "kept").
    known: HashSet<B256>,
    /// Contract breaches observed (must stay empty).
    violations: Vec<String>,
    verifies: u64,
    proposals: u64,
}

/// Shared, restart-surviving test executor (its state plays the role of durable storage).
#[derive(Clone)]
pub struct MockExecutor {
    state: Arc<Mutex<State>>,
}

fn genesis() -> Block {
    let mut block = Block {
        header: Header {
            gas_limit: 30_000_000,
            ..Default::default()
        },
        transactions: Vec::new(),
    };
    block.header.transactions_root = block.compute_transactions_root();
    block
}

fn state_root(parent: &Block, height: u64, transactions: &[Bytes]) -> B256 {
    let mut preimage = parent.header.state_root.to_vec();
    preimage.extend_from_slice(&height.to_be_bytes());
    for tx in transactions {
        preimage.extend_from_slice(tx);
    }
    keccak256(preimage)
}

impl MockExecutor {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                finalized: vec![genesis()],
                ..Default::default()
            })),
        }
    }

    /// Hashes of finalized blocks 1..=height.
    pub fn hashes(&self) -> Vec<B256> {
        self.state.lock().finalized[1..]
            .iter()
            .map(Block::hash)
            .collect()
    }

    /// Finalized blocks 1..=height.
    pub fn blocks(&self) -> Vec<Block> {
        self.state.lock().finalized[1..].to_vec()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().violations.clone()
    }

    pub fn counters(&self) -> (u64, u64) {
        let s = self.state.lock();
        (s.proposals, s.verifies)
    }

    /// Forgets the newest `n` finalized blocks (an executor restored from an older copy).
    pub fn roll_back(&self, n: usize) {
        let mut s = self.state.lock();
        let keep = s.finalized.len().saturating_sub(n).max(1);
        s.finalized.truncate(keep);
        s.known.clear();
    }

    fn parent_usable(s: &State, parent: &Block) -> bool {
        let last = s.finalized.last().map(Block::hash);
        Some(parent.hash()) == last || s.known.contains(&parent.hash())
    }
}

impl Executor for MockExecutor {
    fn genesis(&self) -> Block {
        genesis()
    }

    fn propose(&self, parent: &Block, timestamp_ms: u64, proposer: Address) -> Option<Block> {
        let mut s = self.state.lock();
        if !Self::parent_usable(&s, parent) {
            s.violations.push(format!(
                "propose on unknown parent {}",
                parent.header.height
            ));
        }
        if timestamp_ms <= parent.header.timestamp_ms {
            s.violations
                .push("non-increasing proposal timestamp".into());
        }
        let height = parent.header.height + 1;
        let transactions = vec![Bytes::from(format!("tx-{height}-{proposer}").into_bytes())];
        let mut block = Block {
            header: Header {
                parent_hash: parent.hash(),
                height,
                timestamp_ms,
                proposer,
                state_root: state_root(parent, height, &transactions),
                gas_limit: parent.header.gas_limit,
                ..Default::default()
            },
            transactions,
        };
        block.header.transactions_root = block.compute_transactions_root();
        s.known.insert(block.hash());
        s.proposals += 1;
        Some(block)
    }

    fn verify(&self, parent: &Block, block: &Block) -> bool {
        let mut s = self.state.lock();
        s.verifies += 1;
        if !Self::parent_usable(&s, parent) {
            s.violations.push(format!(
                "verify with unknown parent at height {}",
                parent.header.height
            ));
        }
        let valid = block.header.parent_hash == parent.hash()
            && block.header.height == parent.header.height + 1
            && block.header.timestamp_ms > parent.header.timestamp_ms
            && block.header.state_root
                == state_root(parent, block.header.height, &block.transactions);
        if valid {
            s.known.insert(block.hash());
        }
        valid
    }

    fn finalized(&self, block: &Block) {
        let mut s = self.state.lock();
        let Some(last) = s.finalized.last().cloned() else {
            return;
        };
        if block.header.height <= last.header.height {
            s.violations
                .push(format!("redelivered height {}", block.header.height));
            return;
        }
        if block.header.height != last.header.height + 1 || block.header.parent_hash != last.hash()
        {
            s.violations.push(format!(
                "finalized out of order: {} after {}",
                block.header.height, last.header.height
            ));
        }
        s.finalized.push(block.clone());
    }

    fn last_finalized_height(&self) -> u64 {
        self.state
            .lock()
            .finalized
            .last()
            .map(|b| b.header.height)
            .unwrap_or(0)
    }
}
