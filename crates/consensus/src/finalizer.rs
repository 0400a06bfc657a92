//! Delivery of finalized blocks to the executor.
//!
//! Marshal reports finalized blocks in height order, at least once, and waits for each to be
//! acknowledged before it records the height as processed. [`FinalizerMailbox`] is the reporter
//! marshal calls; it queues updates for [`run`], which hands each block to
//! [`Executor::finalized`] off the async core and acknowledges it only once that call returns
//! (the executor's state is durable). A restart therefore redelivers from marshal's processed
//! height, and blocks at or below the executor's own finalized height are acknowledged without
//! re-applying them. If the executor is behind marshal (its store was restored from an older
//! copy), [`run`] first replays the missing blocks from marshal's archive.

use crate::{
    block::ConsensusBlock, error::Error, executor::Executor, executor::ValidatorSet,
    scheme::MarshalMailbox, status::StatusHandle,
};
use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter,
    marshal::Update,
    types::{Epocher, FixedEpocher, Height},
};
use commonware_cryptography::Digested;
use commonware_runtime::Spawner;
use commonware_utils::Acknowledgement;
use futures::{
    StreamExt,
    channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded},
};
use tracing::{debug, info};

/// Reporter handed to marshal: forwards updates to the finalizer task.
#[derive(Clone)]
pub(crate) struct FinalizerMailbox {
    sender: UnboundedSender<Update<ConsensusBlock>>,
}

impl Reporter for FinalizerMailbox {
    type Activity = Update<ConsensusBlock>;

    fn report(&mut self, update: Self::Activity) -> Feedback {
        match self.sender.unbounded_send(update) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

/// Creates the reporter and the queue [`run`] drains.
pub(crate) fn channel() -> (FinalizerMailbox, UnboundedReceiver<Update<ConsensusBlock>>) {
    let (sender, receiver) = unbounded();
    (FinalizerMailbox { sender }, receiver)
}

/// State shared by the finalizer task.
pub(crate) struct Finalizer<X> {
    pub executor: X,
    pub marshal: MarshalMailbox,
    pub status: StatusHandle,
    /// Epoch boundaries.
    pub epocher: FixedEpocher,
    /// Where the validator set of each new epoch goes (the engine's orchestrator).
    pub epochs: UnboundedSender<ValidatorSet>,
    /// Pending equivocation evidence (items a finalized block carried leave it).
    pub evidence: crate::evidence::EvidencePool,
    /// Held exclusively while the executor applies a block.
    pub gate: crate::scheme::FinalityGate,
}

impl<X: Executor> Finalizer<X> {
    /// Applies one finalized block durably, off the async core.
    async fn apply<E: Spawner>(&self, context: &E, block: ConsensusBlock) -> Result<(), Error> {
        let height = block.number();
        let hash = block.hash();
        let executor = self.executor.clone();
        let applied = block.clone();
        let gate = self.gate.clone();
        context
            .child("finalize")
            .shared(true)
            .spawn(move |_| async move {
                let _exclusive = gate.write();
                executor.finalized(applied.block())
            })
            .await?;
        self.status.observe_finalized(height, hash.to_b256());
        self.evidence.included(&block.block().evidence);
        let boundary = self
            .epocher
            .containing(Height::new(height))
            .is_some_and(|info| info.last().get() == height);
        if boundary {
            self.announce_epoch();
        }
        info!(
            height,
            hash = %hash,
            transactions = block.block().transactions.len(),
            "finalized block"
        );
        Ok(())
    }

    /// Hands the executor's current validator set to the orchestrator (chains with epochs).
    fn announce_epoch(&self) {
        if let Some(set) = self.executor.validator_set() {
            info!(
                epoch = set.epoch,
                validators = set.validators.len(),
                "validator set for the next epoch"
            );
            let _ = self.epochs.unbounded_send(set);
        }
    }

    /// Replays finalized blocks from marshal's archive up to `through` (inclusive).
    async fn replay<E: Spawner>(&self, context: &E, through: u64) -> Result<(), Error> {
        let from = self.executor.last_finalized_height() + 1;
        if from > through {
            return Ok(());
        }
        info!(from, through, "replaying finalized blocks to the executor");
        for height in from..=through {
            let block: Digested<ConsensusBlock> = self
                .marshal
                .get_block(Height::new(height))
                .await
                .ok_or(Error::MissingFinalized(height))?;
            self.apply(context, block.inner().clone()).await?;
        }
        Ok(())
    }

    /// Drains marshal's updates until marshal stops.
    pub(crate) async fn run<E: Spawner>(
        self,
        context: E,
        mut updates: UnboundedReceiver<Update<ConsensusBlock>>,
    ) -> Result<(), Error> {
        let processed = self
            .marshal
            .get_processed()
            .await
            .map(|p| p.height().get())
            .unwrap_or(0);
        self.replay(&context, processed).await?;
        self.status
            .observe_finalized_height(self.executor.last_finalized_height());
        self.announce_epoch();

        while let Some(update) = updates.next().await {
            let (block, ack) = match update {
                Update::Tip(round, height, digest) => {
                    debug!(view = round.view().get(), height = height.get(), tip = %digest, "finalized tip");
                    continue;
                }
                Update::Block(block, ack) => (block, ack),
            };
            let height = block.inner().number();
            let finalized = self.executor.last_finalized_height();
            if height <= finalized {
                debug!(height, finalized, "skipping already applied block");
                ack.acknowledge();
                continue;
            }
            if height > finalized + 1 {
                // Marshal delivers without gaps from its processed height; fill from the archive.
                self.replay(&context, height - 1).await?;
            }
            self.apply(&context, block.inner().clone()).await?;
            ack.acknowledge();
        }
        debug!("marshal closed the finalized block stream");
        Ok(())
    }
}
