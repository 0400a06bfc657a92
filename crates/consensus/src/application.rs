//! The chain application marshal drives in standard inline mode: building blocks on the parent
//! consensus names and verifying peers' blocks, both through the [`Executor`].
//!
//! Besides the header checks consensus needs (the parent rule `Header::check_child_of`, which
//! the executor applies again before it executes, and drift), this file guarantees the
//! executor's contract that it only ever sees a child of a block it has built or verified, or of
//! the last finalized block: when consensus asks about a block whose unfinalized ancestors the
//! executor does not know (`Executor::knows`; after a restart, or when it missed a proposal),
//! those ancestors are verified first, oldest to newest.

use crate::{
    block::{BlockCodecConfig, ConsensusBlock},
    config::EngineConfig,
    digest::BlockDigest,
    epochs::EpochRegistry,
    evidence::{self, EvidencePool, MAX_EVIDENCE_PER_BLOCK},
    executor::Executor,
    scheme::{ConsensusContext, FinalityGate, MarshalMailbox, SigningScheme},
};
use commonware_consensus::{Heightable, marshal::ancestry::Ancestry, types::Height};
use commonware_cryptography::{Digested, Digestible};
use commonware_runtime::{Clock, Spawner};
use futures::StreamExt;
use lazai_types::Address;
use std::time::{Duration, UNIX_EPOCH};
use tracing::{debug, info, warn};

/// What a gated verification found.
enum Checked {
    Valid,
    Invalid,
    /// Finality moved past the parent before the executor could look at it.
    Superseded,
}

/// Static parameters of [`ChainApplication`].
#[derive(Clone, Debug)]
pub(crate) struct ApplicationConfig {
    /// Fee recipient to propose with when the epoch names none for this node.
    pub fee_recipient: Address,
    /// Per-epoch fee recipients (and schemes).
    pub epochs: EpochRegistry,
    /// Equivocation evidence waiting for a block.
    pub evidence: EvidencePool,
    pub block_time: Duration,
    pub max_future_drift: Duration,
    pub max_block_bytes: usize,
    /// A devnet's controls (blocks on demand, a movable clock).
    pub dev: Option<lazai_types::DevControls>,
    pub genesis: BlockDigest,
}

impl ApplicationConfig {
    /// The application's part of the engine's configuration; `genesis` is the genesis digest.
    /// `epochs` and `evidence` are the ones the engine's other components share.
    pub(crate) fn new(
        config: &EngineConfig,
        epochs: &EpochRegistry,
        evidence: &EvidencePool,
        genesis: BlockDigest,
    ) -> Self {
        Self {
            fee_recipient: config.fee_recipient,
            epochs: epochs.clone(),
            evidence: evidence.clone(),
            block_time: config.block_time,
            max_future_drift: config.max_future_drift,
            dev: config.dev.clone(),
            max_block_bytes: BlockCodecConfig::new(config.max_block_bytes).max_block_bytes,
            genesis,
        }
    }
}

/// Marshal application backed by an [`Executor`].
#[derive(Clone)]
pub struct ChainApplication<X> {
    executor: X,
    config: ApplicationConfig,
    marshal: MarshalMailbox,
    gate: FinalityGate,
}

/// How often a devnet making blocks on demand looks for work while idle.
const ON_DEMAND_POLL: Duration = Duration::from_millis(20);

fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs CPU-heavy executor work on the runtime's blocking pool. `None` if the task was aborted.
async fn off_core<E, T>(context: &E, work: impl FnOnce() -> T + Send + 'static) -> Option<T>
where
    E: Spawner,
    T: Send + 'static,
{
    context
        .child("executor")
        .shared(true)
        .spawn(move |_| async move { work() })
        .await
        .ok()
}

impl<X: Executor> ChainApplication<X> {
    /// Now, as this chain sees it: the clock, moved by a devnet's controls.
    fn now(&self, clock: &impl Clock) -> u64 {
        let now = now_ms(clock);
        self.config.dev.as_ref().map_or(now, |dev| dev.now_ms(now))
    }

    pub(crate) fn new(
        executor: X,
        config: ApplicationConfig,
        marshal: MarshalMailbox,
        gate: FinalityGate,
    ) -> Self {
        Self {
            executor,
            config,
            marshal,
            gate,
        }
    }

    /// Whether the executor built or verified `digest` and still holds its post-state. The
    /// executor's cache is the only record of verified blocks.
    fn knows(&self, digest: &BlockDigest) -> bool {
        self.executor.knows(&digest.to_b256())
    }

    /// `Executor::verify(anchor, child)` off the async core, unless finality has already
    /// passed `anchor` (checked under the finality gate).
    async fn verify_gated<E: Spawner>(
        &self,
        context: &E,
        anchor: ConsensusBlock,
        child: ConsensusBlock,
    ) -> Option<Checked> {
        let executor = self.executor.clone();
        let gate = self.gate.clone();
        off_core(context, move || {
            let _shared = gate.read();
            if anchor.number() < executor.last_finalized_height() {
                return Checked::Superseded;
            }
            if executor.verify(anchor.block(), child.block()) {
                Checked::Valid
            } else {
                Checked::Invalid
            }
        })
        .await
    }

    /// Every evidence item must verify, with no item twice and at most
    /// [`MAX_EVIDENCE_PER_BLOCK`] of them.
    fn check_evidence(
        &self,
        rng: &mut impl rand_core::CryptoRng,
        items: &[lazai_types::Bytes],
    ) -> Result<(), &'static str> {
        if items.len() > MAX_EVIDENCE_PER_BLOCK {
            return Err("too much evidence");
        }
        let mut seen = std::collections::BTreeSet::new();
        for item in items {
            let parsed = evidence::verify(item, &self.config.epochs, rng)?;
            if !seen.insert(parsed) {
                return Err("evidence listed twice");
            }
        }
        Ok(())
    }

    /// Whether `proposer` is the fee recipient the epoch assigns to the view's leader.
    fn proposer_matches(&self, consensus: &ConsensusContext, proposer: Address) -> bool {
        match self
            .config
            .epochs
            .fee_recipient(consensus.round.epoch(), &consensus.leader)
        {
            Ok(None) => true,
            Ok(Some(expected)) => expected == proposer,
            Err(()) => false,
        }
    }

    /// Whether `block` is the finalized block at its height (its height must be finalized).
    async fn is_finalized(&self, block: &ConsensusBlock) -> bool {
        let height = block.number();
        if height == 0 {
            return block.hash() == self.config.genesis;
        }
        match self.marshal.get_info(Height::new(height)).await {
            Some((_, digest)) => digest == block.hash(),
            None => {
                debug!(height, "finalized block not in local storage");
                false
            }
        }
    }

    /// Makes sure the executor has built or verified `parent`, verifying any unknown unfinalized
    /// ancestors first. `false` if the chain conflicts with finality or an ancestor is invalid.
    async fn ensure_known<E: Spawner>(
        &self,
        context: &E,
        parent: &Digested<ConsensusBlock>,
        ancestry: &mut (impl Ancestry<ConsensusBlock> + 'static),
    ) -> bool {
        let finalized = self.executor.last_finalized_height();
        let parent_height = parent.height().get();
        if parent_height <= finalized {
            return parent_height == finalized && self.is_finalized(parent.inner()).await;
        }
        if self.knows(&parent.digest()) {
            return true;
        }

        // Collect [parent, ..., anchor] where the anchor is known or the last finalized block.
        let mut chain = vec![parent.clone()];
        loop {
            let Some(ancestor) = ancestry.next().await else {
                warn!(parent_height, "ancestry ended before a known block");
                return false;
            };
            let height = ancestor.height().get();
            let known = self.knows(&ancestor.digest());
            chain.push(ancestor);
            if known || height <= finalized {
                break;
            }
        }

        // Finality may have advanced while walking: re-anchor on the newest finalized block.
        let finalized = self.executor.last_finalized_height();
        if let Some(index) = chain.iter().position(|b| b.height().get() <= finalized) {
            let anchor = &chain[index];
            if anchor.height().get() != finalized || !self.is_finalized(anchor.inner()).await {
                warn!(
                    height = anchor.height().get(),
                    finalized, "ancestry conflicts with the finalized chain"
                );
                return false;
            }
            chain.truncate(index + 1);
        }

        info!(
            parent_height,
            unknown = chain.len() - 1,
            "verifying unknown ancestors first"
        );
        for pair in chain.windows(2).rev() {
            let (child, anchor) = (pair[0].inner().clone(), pair[1].inner().clone());
            let valid = match self.verify_gated(context, anchor, child.clone()).await {
                Some(Checked::Valid) => true,
                // Finality passed this pair meanwhile: the child is fine only if it is the
                // block finalized at its height.
                Some(Checked::Superseded) => self.is_finalized(&child).await,
                Some(Checked::Invalid) | None => false,
            };
            if !valid {
                warn!(
                    height = pair[0].height().get(),
                    hash = %pair[0].digest(),
                    "ancestor failed verification"
                );
                return false;
            }
        }
        true
    }
}

impl<E, X> commonware_consensus::Application<E> for ChainApplication<X>
where
    E: Spawner + Clock + rand_core::CryptoRng,
    X: Executor,
{
    type SigningScheme = SigningScheme;
    type Context = ConsensusContext;
    type Block = ConsensusBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (context, consensus): (E, ConsensusContext),
        mut ancestry: impl Ancestry<ConsensusBlock>,
        _input: (),
    ) -> Option<Digested<ConsensusBlock>> {
        let view = consensus.round.view().get();
        let parent = ancestry.next().await?;
        if !self.ensure_known(&context, &parent, &mut ancestry).await {
            warn!(view, parent = %parent.digest(), "cannot build on parent");
            return None;
        }

        // Pace the chain: build no earlier than one block time after the parent (bounded, so a
        // parent stamped in our future cannot stall us). A devnet making blocks on demand waits
        // for a transaction or a request instead.
        let parent_ts = parent.inner().block().header.timestamp_ms;
        let block_time_ms = u64::try_from(self.config.block_time.as_millis()).unwrap_or(u64::MAX);
        let dev = self.config.dev.clone();
        if let Some(dev) = dev.as_ref().filter(|d| d.on_demand()) {
            while !dev.take_block_request() && !self.executor.has_pending() {
                context.sleep(ON_DEMAND_POLL).await;
            }
        } else {
            let now = self.now(&context);
            let target = parent_ts
                .saturating_add(block_time_ms)
                .min(now.saturating_add(block_time_ms));
            if target > now {
                context.sleep(Duration::from_millis(target - now)).await;
            }
        }
        let timestamp = match &dev {
            Some(dev) => dev.block_timestamp(now_ms(&context), parent_ts),
            None => now_ms(&context).max(parent_ts.saturating_add(1)),
        };

        let executor = self.executor.clone();
        let fee_recipient = match self
            .config
            .epochs
            .fee_recipient(consensus.round.epoch(), &consensus.leader)
        {
            Ok(Some(address)) => address,
            _ => self.config.fee_recipient,
        };
        let parent_block = parent.inner().clone();
        let evidence = self.config.evidence.take_for_block();
        let gate = self.gate.clone();
        let built = off_core(&context, move || {
            let _shared = gate.read();
            if parent_block.number() < executor.last_finalized_height() {
                // Finality moved past the parent: a child of it can never be finalized.
                return None;
            }
            executor.propose(parent_block.block(), timestamp, fee_recipient, evidence)
        })
        .await
        .flatten()?;

        let header = &built.header;
        if header
            .check_child_of_hash(&parent.inner().block().header, parent.digest().to_b256())
            .is_err()
        {
            warn!(
                view,
                height = header.height,
                "executor built a block that does not extend the parent"
            );
            return None;
        }
        let block = ConsensusBlock::new(built);
        if block.rlp_len() > self.config.max_block_bytes {
            warn!(
                view,
                size = block.rlp_len(),
                limit = self.config.max_block_bytes,
                "executor built an oversized block"
            );
            return None;
        }
        debug!(
            view,
            height = block.number(),
            hash = %block.hash(),
            transactions = block.block().transactions.len(),
            "proposed block"
        );
        let digest = block.hash();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (mut context, consensus): (E, ConsensusContext),
        mut ancestry: impl Ancestry<ConsensusBlock>,
    ) -> bool {
        let view = consensus.round.view().get();
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            // Marshal always supplies the block and its parent; without them, abstain.
            warn!(view, "verification without block and parent");
            return futures::future::pending().await;
        };
        let header = &block.inner().block().header;
        let parent_header = &parent.inner().block().header;
        let reason =
            if let Err(e) = header.check_child_of_hash(parent_header, parent.digest().to_b256()) {
                Some(e.as_str())
            } else if block.inner().rlp_len() > self.config.max_block_bytes {
                Some("block too large")
            } else if !self.proposer_matches(&consensus, header.proposer) {
                Some("proposer is not the view leader's fee recipient")
            } else {
                self.check_evidence(&mut context, &block.inner().block().evidence)
                    .err()
            };
        if let Some(reason) = reason {
            warn!(view, height = header.height, hash = %block.digest(), reason, "rejected block");
            return false;
        }

        // A timestamp too far in our future is not invalid forever: abstain until it is near.
        let drift_ms = u64::try_from(self.config.max_future_drift.as_millis()).unwrap_or(0);
        let horizon = self.now(&context).saturating_add(drift_ms);
        if header.timestamp_ms > horizon {
            let wait = header.timestamp_ms - horizon;
            debug!(
                view,
                height = header.height,
                wait_ms = wait,
                "block from the future"
            );
            context.sleep(Duration::from_millis(wait)).await;
        }

        if header.height <= self.executor.last_finalized_height() {
            return self.is_finalized(block.inner()).await;
        }
        if self.knows(&block.digest()) {
            return true;
        }
        if !self.ensure_known(&context, &parent, &mut ancestry).await {
            return false;
        }

        let (child, anchor) = (block.inner().clone(), parent.inner().clone());
        let valid = match self.verify_gated(&context, anchor, child).await {
            Some(Checked::Valid) => true,
            Some(Checked::Invalid) => false,
            // Finality passed the parent: the block is valid only if it is the one finalized.
            Some(Checked::Superseded) => return self.is_finalized(block.inner()).await,
            None => return futures::future::pending().await,
        };
        if valid {
            debug!(view, height = header.height, hash = %block.digest(), "verified block");
        } else {
            warn!(view, height = header.height, hash = %block.digest(), "executor rejected block");
        }
        valid
    }
}
