//! The orchestrator: starts and stops one simplex instance per epoch as the finalized chain
//! crosses epoch boundaries, and asks marshal to catch up when peers are in a later epoch.
//! See the engine's module doc for the whole picture.

use crate::{
    application::ChainApplication,
    block::ConsensusBlock,
    config::EngineConfig,
    digest::BlockDigest,
    epochs::EpochRegistry,
    error::Error,
    evidence::{EvidencePool, EvidenceReporter},
    executor::Executor,
    executor::ValidatorSet,
    keys::PublicKey,
    scheme::SigningScheme,
    shared::{IO_BUFFER, STALE_JOURNALS_SWEPT, Shared, VIEW_RETENTION, nz_duration, nz_usize},
    status::{StatusHandle, StatusReporter},
};
use commonware_consensus::{
    marshal,
    simplex::{self, elector::RoundRobin},
    types::{Epoch, Epocher, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{Sha256, Signer as _};
use commonware_p2p::{Blocker, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{ordered::Set, vec::NonEmptyVec};
use futures::{FutureExt, StreamExt, channel::mpsc::UnboundedReceiver};
use lazai_types::Address;
use rand_core::CryptoRng;
use std::{
    collections::BTreeMap,
    num::NonZeroUsize,
    time::{Duration, SystemTime},
};
use tracing::{debug, error, info, warn};

/// Tells the network layer which peers an epoch needs (called once per epoch, in order).
pub type PeerTracker = Box<dyn FnMut(&ValidatorSet) + Send>;

pub(crate) type MuxHandle<S> = commonware_p2p::utils::mux::MuxHandle<S>;
pub(crate) type BackupQueue =
    commonware_utils::channel::mpsc::Receiver<(u64, commonware_p2p::Message<PublicKey>)>;
pub(crate) type InlineApp<E, X> =
    marshal::standard::Inline<E, SigningScheme, ChainApplication<X>, ConsensusBlock, FixedEpocher>;

/// Starts and stops one simplex instance per epoch as the finalized chain crosses boundaries.
/// The epoch-keyed sub-channels simplex instances register on.
pub(crate) struct EpochChannels<S: Sender> {
    pub(crate) votes: MuxHandle<S>,
    pub(crate) certificates: MuxHandle<S>,
    pub(crate) resolvers: MuxHandle<S>,
    /// Votes for epochs this node does not run.
    pub(crate) backup: BackupQueue,
}

pub(crate) struct Orchestrator<E: Spawner + Metrics + Clock + Storage + CryptoRng, X: Executor, B> {
    pub(crate) signer: crate::keys::PrivateKey,
    pub(crate) namespace: Vec<u8>,
    pub(crate) prefix: String,
    pub(crate) mailbox_size: NonZeroUsize,
    pub(crate) timeouts: crate::config::Timeouts,
    pub(crate) page_cache: CacheRef,
    pub(crate) blocker: B,
    pub(crate) inline: InlineApp<E, X>,
    pub(crate) status: StatusHandle,
    pub(crate) registry: EpochRegistry,
    pub(crate) evidence: EvidencePool,
    pub(crate) epocher: FixedEpocher,
    pub(crate) marshal: crate::scheme::MarshalMailbox,
    pub(crate) tracker: PeerTracker,
    /// The epoch running and its simplex instance.
    pub(crate) current: Option<(Epoch, commonware_runtime::Handle<()>)>,
    /// Last catch-up hint (epoch it targeted, when), to send at most one per fetch timeout.
    pub(crate) last_hint: Option<(Epoch, SystemTime)>,
}

impl<E, X, B> Orchestrator<E, X, B>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng,
    X: Executor,
    B: Blocker<PublicKey = PublicKey>,
{
    /// An orchestrator that has entered no epoch yet.
    pub(crate) fn new(
        config: &EngineConfig,
        shared: Shared,
        page_cache: CacheRef,
        blocker: B,
        inline: InlineApp<E, X>,
        marshal: crate::scheme::MarshalMailbox,
        tracker: PeerTracker,
    ) -> Self {
        Self {
            signer: config.signer.clone(),
            namespace: config.namespace(),
            prefix: config.partition_prefix.clone(),
            mailbox_size: nz_usize(config.mailbox_size),
            timeouts: config.timeouts(),
            page_cache,
            blocker,
            inline,
            status: shared.status,
            registry: shared.registry,
            evidence: shared.evidence,
            epocher: shared.epocher,
            marshal,
            tracker,
            current: None,
            last_hint: None,
        }
    }

    /// Enters each epoch `epochs` announces, until the announcements end or the vote channel
    /// closes.
    pub(crate) async fn run<S: Sender<PublicKey = PublicKey>>(
        mut self,
        context: E,
        mut epochs: UnboundedReceiver<ValidatorSet>,
        channels: EpochChannels<S>,
    ) -> Result<(), Error> {
        let EpochChannels {
            mut votes,
            mut certificates,
            mut resolvers,
            mut backup,
        } = channels;
        loop {
            futures::select! {
                set = epochs.next() => {
                    let Some(set) = set else {
                        debug!("epoch announcements closed");
                        return Ok(());
                    };
                    self.enter(&context, set, &mut votes, &mut certificates, &mut resolvers)
                        .await?;
                }
                message = backup.recv().fuse() => {
                    let Some((epoch, (peer, _))) = message else {
                        return Err(Error::Network("vote channel closed".into()));
                    };
                    self.on_unknown_epoch(&context, Epoch::new(epoch), peer);
                }
            }
        }
    }

    /// Moves consensus to `set`'s epoch (ignores sets at or below the running epoch).
    async fn enter<S: Sender<PublicKey = PublicKey>>(
        &mut self,
        context: &E,
        set: ValidatorSet,
        votes: &mut MuxHandle<S>,
        certificates: &mut MuxHandle<S>,
        resolvers: &mut MuxHandle<S>,
    ) -> Result<(), Error> {
        let epoch = Epoch::new(set.epoch);
        if self
            .current
            .as_ref()
            .is_some_and(|(running, _)| *running >= epoch)
        {
            return Ok(());
        }
        let keys: Vec<PublicKey> = set.validators.iter().map(|v| v.key.clone()).collect();
        let Ok(participants) = Set::try_from(keys.clone()) else {
            error!(
                epoch = set.epoch,
                "validator set lists a key twice; not entering it"
            );
            return Err(Error::InvalidConfig(format!(
                "epoch {} validator set has a duplicate key",
                set.epoch
            )));
        };
        let me = self.signer.public_key();
        let scheme =
            SigningScheme::signer(&self.namespace, participants.clone(), self.signer.clone())
                .unwrap_or_else(|| SigningScheme::verifier(&self.namespace, participants));
        let voting = keys.contains(&me);
        self.registry
            .insert(epoch, scheme.clone(), fee_recipients(&set));
        (self.tracker)(&set);
        self.status
            .observe_epoch(set.epoch, keys, set.validators.clone());

        let channel = set.epoch;
        let register = |handle: &mut MuxHandle<S>| {
            let mut handle = handle.clone();
            async move {
                handle
                    .register(channel)
                    .await
                    .map_err(|e| Error::Network(format!("epoch {channel} channel: {e}")))
            }
        };
        let vote_channel = register(votes).await?;
        let certificate_channel = register(certificates).await?;
        let resolver_channel = register(resolvers).await?;

        let engine = simplex::Engine::new(
            context.child("simplex").with_attribute("epoch", set.epoch),
            simplex::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker: self.blocker.clone(),
                automaton: self.inline.clone(),
                relay: self.inline.clone(),
                reporter: StatusReporter::new(
                    EvidenceReporter {
                        inner: self.inline.clone(),
                        pool: self.evidence.clone(),
                        registry: self.registry.clone(),
                    },
                    self.status.clone(),
                ),
                strategy: Sequential,
                partition: format!("{}-simplex-epoch-{}", self.prefix, set.epoch),
                mailbox_size: self.mailbox_size,
                epoch,
                floor: simplex::Floor::Genesis(BlockDigest::from(set.boundary)),
                replay_buffer: nz_usize(IO_BUFFER),
                write_buffer: nz_usize(IO_BUFFER),
                page_cache: self.page_cache.clone(),
                leader_timeout: self.timeouts.leader,
                certification_timeout: self.timeouts.certification,
                timeout_retry: self.timeouts.retry,
                view_retention: ViewDelta::new(VIEW_RETENTION),
                skip: simplex::SkipPolicy::Enabled {
                    timeout: self.timeouts.skip,
                    budget: simplex::SkipBudget::Participants,
                },
                fetch_timeout: nz_duration(self.timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                forward: simplex::ForwardPolicy::SilentLeader,
                track_historical_votes: false,
            },
        );
        let handle = engine.start(vote_channel, certificate_channel, resolver_channel);
        info!(
            epoch = set.epoch,
            validators = set.validators.len(),
            voting,
            boundary = %set.boundary,
            "entered epoch"
        );
        if let Some((previous, old)) = self.current.replace((epoch, handle)) {
            old.abort();
            debug!(
                epoch = previous.get(),
                "stopped the previous epoch's consensus"
            );
        }
        sweep_journals(context, &self.prefix, set.epoch).await;
        Ok(())
    }

    /// A peer sent votes for an epoch we are not running. If it is ahead, fetch the
    /// finalization of our epoch's last block from it (at most once per fetch timeout).
    fn on_unknown_epoch(&mut self, context: &E, epoch: Epoch, peer: PublicKey) {
        let Some((running, _)) = &self.current else {
            return;
        };
        let running = *running;
        if epoch <= running {
            return;
        }
        let now = context.current();
        // A clock that stepped back since the last hint does not hold the next one back.
        if let Some((hinted, at)) = self.last_hint
            && hinted == running
            && now
                .duration_since(at)
                .is_ok_and(|elapsed| elapsed < self.timeouts.fetch)
        {
            return;
        }
        let Some(last) = self.epocher.last(running) else {
            return;
        };
        warn!(
            running = running.get(),
            peer_epoch = epoch.get(),
            %peer,
            boundary_height = last.get(),
            "peer is in a later epoch; fetching our epoch's last block"
        );
        self.last_hint = Some((running, now));
        self.marshal
            .hint_finalized(Height::new(last.get()), NonEmptyVec::new(peer));
    }
}

/// The fee recipient each validator of `set` must propose with. A set without fee recipients (a
/// chain configured without them) checks no proposer.
fn fee_recipients(set: &ValidatorSet) -> BTreeMap<PublicKey, Address> {
    if set
        .validators
        .iter()
        .all(|v| v.fee_recipient == Address::ZERO)
    {
        return BTreeMap::new();
    }
    set.validators
        .iter()
        .map(|v| (v.key.clone(), v.fee_recipient))
        .collect()
}

/// Removes the vote journals of epochs two or more behind `epoch`: they are never read again
/// (the previous one may still be flushing after its abort).
async fn sweep_journals<E: Storage>(context: &E, prefix: &str, epoch: u64) {
    for behind in 2..=STALE_JOURNALS_SWEPT {
        let Some(stale) = epoch.checked_sub(behind) else {
            break;
        };
        let partition = format!("{prefix}-simplex-epoch-{stale}");
        if context.remove(&partition, None).await.is_ok() {
            debug!(epoch = stale, "removed a retired epoch's vote journal");
        }
    }
}
