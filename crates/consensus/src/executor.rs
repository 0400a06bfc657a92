//! The seam between consensus and the chain: what the engine asks of the ledger.

use crate::keys::PublicKey;
use lazai_types::{Address, B256, Block, U256};
use std::net::SocketAddr;

/// One member of an epoch's validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its ed25519 consensus key (signs votes, authenticates p2p connections).
    pub key: PublicKey,
    /// Where the priority fees of the blocks it proposes go (a block whose `proposer` field is
    /// anything else is invalid).
    pub fee_recipient: Address,
    /// Bonded stake it was selected with (wei).
    pub stake: U256,
    /// Its peer-to-peer address, if it published one.
    pub p2p_addr: Option<SocketAddr>,
}

/// The validator set of one epoch, as the chain's state decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The epoch this set runs.
    pub epoch: u64,
    /// Members in the order the chain ranked them.
    pub validators: Vec<Validator>,
    /// Hash of the block the epoch starts after: genesis for epoch 0, otherwise the last block
    /// of the previous epoch (the new epoch's consensus starts from it).
    pub boundary: B256,
}

/// The chain side of consensus. Implemented by the node (ledger + state snapshots + mempool);
/// the engine only ever hands it whole blocks.
///
/// Contract:
/// - `genesis` returns the same block on every validator of a network.
/// - `propose` and `verify` may be called for blocks that never finalize (forks of unfinalized
///   views) and for parents that are not finalized yet; the executor keeps post-states of
///   unfinalized blocks it built or verified, keyed by block hash, and `knows` answers from
///   that one cache (the engine keeps no second record of verified blocks).
/// - `verify` is single-shot: `false` means the block is permanently invalid as a child of
///   `parent` (bad state root, bad transaction, wrong height/parent hash). It never sees a block
///   whose parent it has not built or verified, except the last finalized block.
/// - `finalized` is called in height order, at least once per height (a restart may redeliver
///   blocks at or below `last_finalized_height`, which the executor ignores). It returns only once
///   the block and its state are durable.
/// - `validator_set`, when it returns a set, is read from the finalized state: after the last
///   block of epoch `e` is finalized it names the set of epoch `e + 1`.
///
/// The methods are synchronous and may be CPU-heavy (executing thousands of transactions); the
/// engine calls them off its async tasks.
pub trait Executor: Clone + Send + Sync + 'static {
    /// The genesis block (height 0).
    fn genesis(&self) -> Block;

    /// Builds a child of `parent` with the given timestamp (strictly greater than the parent's),
    /// fee recipient and equivocation evidence (already verified; the block must carry it
    /// unchanged). `None` declines to propose (the view times out).
    fn propose(
        &self,
        parent: &Block,
        timestamp_ms: u64,
        proposer: Address,
        evidence: Vec<lazai_types::Bytes>,
    ) -> Option<Block>;

    /// Checks that `block` is a valid child of `parent` by re-executing it. The engine has
    /// already verified the signatures of its evidence.
    fn verify(&self, parent: &Block, block: &Block) -> bool;

    /// Whether the executor holds the post-state of the unfinalized block `hash`: it built or
    /// verified it and no finalization has dropped it since. The engine calls this from its
    /// async tasks, so it must answer from memory at once. A `true` lets the engine skip
    /// verifying that block (and its ancestors) again.
    fn knows(&self, hash: &B256) -> bool;

    /// Applies a finalized block durably.
    fn finalized(&self, block: &Block);

    /// Height of the last block that `finalized` made durable (0 after genesis).
    fn last_finalized_height(&self) -> u64;

    /// Whether transactions wait to be included (a devnet making blocks on demand builds one
    /// when they do). The default, for executors without a pool, is never.
    fn has_pending(&self) -> bool {
        false
    }

    /// The validator set of the epoch that follows the last finalized block. `None` (the
    /// default) means the chain has no epochs: the engine's configured participants validate
    /// every height.
    fn validator_set(&self) -> Option<ValidatorSet> {
        None
    }
}
