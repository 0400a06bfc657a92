//! A small in-memory executor for tests: a "state root" chained by hashing, one synthetic
//! transaction per block, and bookkeeping that records any breach of the executor contract.
//! Also the shared harness for running validators on the deterministic runtime over the
//! simulated network.

use crate::MAX_BLOCK_BYTES;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{
    Clock, Handle, Spawner, Supervisor,
    deterministic::{self, Context},
};
use commonware_utils::NZUsize;
use lazai_consensus::{
    Engine, EngineConfig, Executor, StatusHandle, keys::PublicKey, max_message_size, run_simulated,
};
use lazai_types::{Address, B256, Block, Bytes, Header, keccak256};
use parking_lot::Mutex;
use std::{collections::HashSet, sync::Arc, time::Duration};

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
        evidence: Vec::new(),
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

    fn propose(
        &self,
        parent: &Block,
        timestamp_ms: u64,
        proposer: Address,
        evidence: Vec<Bytes>,
    ) -> Option<Block> {
        let mut s = self.state.lock();
        if !Self::parent_usable(&s, parent) {
            let last = s.finalized.last().map_or(0, |b| b.header.height);
            s.violations.push(format!(
                "propose on unknown parent {} (last finalized {last})",
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
            evidence,
        };
        block.header.transactions_root = block.compute_transactions_root();
        block.header.evidence_root = block.compute_evidence_root();
        s.known.insert(block.hash());
        s.proposals += 1;
        Some(block)
    }

    fn verify(&self, parent: &Block, block: &Block) -> bool {
        let mut s = self.state.lock();
        s.verifies += 1;
        if !Self::parent_usable(&s, parent) {
            let last = s.finalized.last().map_or(0, |b| b.header.height);
            s.violations.push(format!(
                "verify with unknown parent at height {} (last finalized {last})",
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

    fn knows(&self, hash: &B256) -> bool {
        self.state.lock().known.contains(hash)
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

/// A deterministic runtime seeded with `seed` (simulated-time timeout as a backstop).
pub fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::default()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// The link every pair of validators gets by default: fast and lossless.
pub fn default_link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// Starts a simulated network of `participants` without any links.
pub async fn unlinked_network(
    context: &Context,
    participants: &[PublicKey],
) -> Oracle<PublicKey, Context> {
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: max_message_size(participants.len(), MAX_BLOCK_BYTES),
            max_peers_per_set: NZUsize!(participants.len()),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        participants.to_vec(),
    )
    .await;
    network.start();
    oracle
}

/// Adds `link` in both directions between every member of `a` and every member of `b`.
pub async fn link(
    oracle: &Oracle<PublicKey, Context>,
    a: &[PublicKey],
    b: &[PublicKey],
    link: &Link,
) {
    let mut pairs = Vec::new();
    for x in a {
        for y in b.iter().filter(|y| *y != x) {
            for pair in [(x, y), (y, x)] {
                if !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
    }
    for (from, to) in pairs {
        oracle
            .add_link(from.clone(), to.clone(), link.clone())
            .await
            .expect("add link");
    }
}

/// Starts a simulated network of `participants`, every pair joined by [`default_link`].
pub async fn network(context: &Context, participants: &[PublicKey]) -> Oracle<PublicKey, Context> {
    let oracle = unlinked_network(context, participants).await;
    link(&oracle, participants, participants, &default_link()).await;
    oracle
}

/// Spawns validator `index` as a task of `context`; aborting the returned handle crashes it
/// (its storage and executor survive for a restart).
pub fn spawn_validator(
    context: &Context,
    oracle: &Oracle<PublicKey, Context>,
    index: usize,
    config: &EngineConfig,
    executor: &MockExecutor,
) -> (StatusHandle, Handle<()>) {
    let engine = Engine::new(config.clone(), executor.clone()).expect("valid config");
    let status = engine.status();
    let oracle = oracle.clone();
    let handle = context
        .child("validator")
        .with_attribute("index", index)
        .spawn(move |context| async move {
            if let Err(e) = run_simulated(context, engine, &oracle).await {
                panic!("validator {index} failed: {e}");
            }
        });
    (status, handle)
}

/// Starts every validator as a task of `context` on a fully linked simulated network.
pub async fn start(
    context: &Context,
    configs: &[EngineConfig],
    executors: &[MockExecutor],
) -> Vec<StatusHandle> {
    let oracle = network(context, &configs[0].participants).await;
    configs
        .iter()
        .zip(executors)
        .enumerate()
        .map(|(i, (config, executor))| spawn_validator(context, &oracle, i, config, executor).0)
        .collect()
}

/// Waits until every executor finalized at least `height`.
pub async fn wait_for(context: &Context, executors: &[MockExecutor], height: u64) {
    while executors.iter().any(|e| e.last_finalized_height() < height) {
        context.sleep(Duration::from_millis(50)).await;
    }
}
