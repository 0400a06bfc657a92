//! The engine: wires simplex (votes, certificates), marshal (ordering, storage, backfill), the
//! buffered broadcast of blocks, the chain application and the finalizer onto five p2p
//! channels, then runs until one of them stops.
//!
//! ## Epochs
//!
//! Heights are cut into fixed-length epochs (`EngineConfig::epoch_length`; one endless epoch
//! when unset). Each epoch runs its own simplex instance over the epoch's validator set, on
//! sub-channels of the vote, certificate and resolver channels keyed by the epoch number.
//! Marshal, the block broadcast and the finalizer span epochs. When the finalizer applies the
//! last block of epoch `e`, the executor's state names the set of epoch `e + 1`; the
//! orchestrator then registers that set's signing scheme and fee recipients, tells the network
//! which peers to connect to, starts simplex for `e + 1` from the boundary block (marshal's
//! inline wrapper re-proposes it for the rest of `e`, so no block of `e` follows it) and stops
//! the instance of `e`. A node that is not in an epoch's set runs that epoch's simplex as an
//! observer: it verifies and follows certificates but never votes. A node that falls behind
//! learns of a later epoch from messages on an unknown sub-channel and asks marshal to fetch
//! the finalization of its current epoch's last block from that peer, which moves it forward
//! one epoch at a time.
//!
//! Everything persistent lives under the configured partition prefix `P` in the runtime's
//! storage: `P-simplex-epoch-<e>` (simplex's vote journal of each epoch), `P-marshal-*`
//! (marshal's caches and processed-height metadata), `P-marshal-finalizations-*` and
//! `P-marshal-blocks-*` (finalized certificates and blocks by height). Restarting over the same
//! storage resumes all of them.

use crate::{
    EngineConfig, Error, Executor, ValidatorSet,
    application::{ApplicationConfig, ChainApplication, KnownBlocks, SigningScheme},
    block::{BlockCodecConfig, ConsensusBlock},
    digest::BlockDigest,
    epochs::EpochRegistry,
    evidence::{EvidencePool, EvidenceReporter},
    finalizer::{self, Finalizer},
    keys::PublicKey,
    status::{StatusHandle, StatusReporter, TrackedReceiver},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{self, core::Actor, resolver::p2p as marshal_resolver, standard::Standard},
    simplex::{self, elector::RoundRobin},
    types::{Epoch, Epocher, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{Digested, Sha256, Signer as _, certificate::Verifier as _};
use commonware_p2p::{
    Blocker, Receiver, Sender,
    utils::mux::{Builder as _, Muxer},
};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Metrics, Spawner, Storage,
    buffer::paged::{CacheRef, page_size},
};
use commonware_storage::archive::immutable;
use commonware_utils::{NonZeroDuration, ordered::Set, vec::NonEmptyVec};
use futures::{FutureExt, StreamExt, channel::mpsc::UnboundedReceiver, future::BoxFuture};
use lazai_types::Address;
use parking_lot::Mutex;
use rand_core::CryptoRng;
use std::{
    collections::BTreeMap,
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::{Duration, Instant},
};
use tracing::{debug, error, info, warn};

/// Tells the network layer which peers an epoch needs (called once per epoch, in order).
pub type PeerTracker = Box<dyn FnMut(&ValidatorSet) + Send>;

/// Views of history simplex and marshal keep behind the finalized tip.
const VIEW_RETENTION: u64 = 256;
/// Pages (4 KiB each) cached for journal and archive reads.
const PAGE_CACHE_PAGES: usize = 1024;
/// Items per archive section.
const ITEMS_PER_SECTION: u64 = 4096;
/// How many retired epochs' vote journals each epoch change looks for (covers restarts that
/// skipped some changes).
const STALE_JOURNALS_SWEPT: u64 = 16;
/// Write/replay buffer for journals and archives.
const IO_BUFFER: usize = 1 << 16;

/// The p2p channels the engine needs, each a `(sender, receiver)` pair. All five must be
/// registered with a message limit of at least [`max_message_size`].
pub struct Channels<S, R> {
    /// Simplex votes.
    pub votes: (S, R),
    /// Simplex certificates.
    pub certificates: (S, R),
    /// Simplex certificate backfill.
    pub resolver: (S, R),
    /// Block dissemination (buffered broadcast).
    pub broadcast: (S, R),
    /// Marshal block and finalization backfill.
    pub backfill: (S, R),
}

/// Channel ids used when registering [`Channels`] on a network.
pub mod channel {
    /// Simplex votes.
    pub const VOTES: u64 = 0;
    /// Simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Simplex certificate backfill.
    pub const RESOLVER: u64 = 2;
    /// Block broadcast.
    pub const BROADCAST: u64 = 3;
    /// Marshal backfill.
    pub const BACKFILL: u64 = 4;
    /// Transaction gossip (registered by the network layer, not the engine).
    pub const TRANSACTIONS: u64 = 5;
}

/// Largest p2p payload the engine sends for `participants` validators and blocks of at most
/// `max_block_bytes`: the network's `max_message_size` must be at least this.
pub fn max_message_size(participants: usize, max_block_bytes: usize) -> u32 {
    let participants = u32::try_from(participants).unwrap_or(u32::MAX);
    let block_cfg = BlockCodecConfig::new(max_block_bytes);
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<SigningScheme, BlockDigest>(participants),
        marshal::max_payload_size::<Standard<ConsensusBlock>, SigningScheme>(
            participants,
            &block_cfg,
        ),
    ])
}

fn nz_usize(value: usize) -> NonZeroUsize {
    NonZeroUsize::new(value).unwrap_or(NonZeroUsize::MIN)
}

fn nz_duration(value: Duration) -> NonZeroDuration {
    NonZeroDuration::new(value)
        .unwrap_or_else(|| NonZeroDuration::new_panic(Duration::from_millis(1)))
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec: C,
) -> immutable::Config<C> {
    let buffer = nz_usize(IO_BUFFER);
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 65_536,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 16_384,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 1 << 29,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NonZeroU64::new(ITEMS_PER_SECTION).unwrap_or(NonZeroU64::MIN),
        freezer_key_write_buffer: buffer,
        freezer_value_write_buffer: buffer,
        ordinal_write_buffer: buffer,
        replay_buffer: buffer,
        codec_config: codec,
    }
}

/// One validator's consensus engine, ready to run.
pub struct Engine<X> {
    config: EngineConfig,
    executor: X,
    status: StatusHandle,
}

impl<X: Executor> Engine<X> {
    /// Validates `config` and prepares an engine around `executor`.
    pub fn new(config: EngineConfig, executor: X) -> Result<Self, Error> {
        config.validate()?;
        let status = StatusHandle::new(config.public_key(), config.participants.clone());
        Ok(Self {
            config,
            executor,
            status,
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The status handle the running engine updates.
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// The `max_message_size` the network carrying this engine's channels needs.
    pub fn max_message_size(&self) -> u32 {
        max_message_size(self.config.max_validators, self.config.max_block_bytes)
    }

    /// Runs consensus until a component stops (the runtime shuts down or storage fails).
    ///
    /// `blocker` disconnects misbehaving peers; `peers` tells the broadcast and backfill engines
    /// which peers exist (both come from the network the channels were registered on);
    /// `tracker` is told each epoch's validator set so the network can connect to it.
    pub async fn run<E, S, R, B, P>(
        self,
        context: E,
        channels: Channels<S, R>,
        blocker: B,
        peers: P,
        tracker: PeerTracker,
    ) -> Result<(), Error>
    where
        E: Spawner + Metrics + Clock + Storage + CryptoRng,
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
        B: Blocker<PublicKey = PublicKey>,
        P: commonware_p2p::Provider<PublicKey = PublicKey>,
    {
        let Self {
            config,
            executor,
            status,
        } = self;
        let me = config.public_key();
        let timeouts = config.timeouts();
        let prefix = config.partition_prefix.clone();
        let mailbox_size = nz_usize(config.mailbox_size);
        let block_cfg = BlockCodecConfig::new(config.max_block_bytes);
        let page_cache = CacheRef::new(page_size(4096), nz_usize(PAGE_CACHE_PAGES));
        let registry = EpochRegistry::default();
        let evidence = EvidencePool::default();
        // Without epochs, one epoch spans every height (FixedEpocher needs a length above one).
        let epocher = FixedEpocher::new(config.epoch_length.unwrap_or(NonZeroU64::MAX));

        let genesis_executor = executor.clone();
        let genesis = context
            .child("genesis")
            .shared(true)
            .spawn(move |_| async move { ConsensusBlock::new(genesis_executor.genesis()) })
            .await?;
        info!(
            public_key = %me,
            genesis = %genesis.hash(),
            epoch_length = config.epoch_length.map(NonZeroU64::get),
            block_time_ms = config.block_time.as_millis() as u64,
            "starting consensus engine"
        );

        // Marshal: finalized archives, then the actor.
        let marshal_prefix = format!("{prefix}-marshal");
        let finalizations = immutable::Archive::init(
            context.child("finalizations_by_height"),
            archive_config(
                &marshal_prefix,
                "finalizations",
                &page_cache,
                SigningScheme::certificate_codec_config_unbounded(),
            ),
        )
        .await
        .map_err(|e| Error::Storage(format!("finalizations archive: {e}")))?;
        let blocks = immutable::Archive::init(
            context.child("finalized_blocks"),
            archive_config(&marshal_prefix, "blocks", &page_cache, block_cfg),
        )
        .await
        .map_err(|e| Error::Storage(format!("blocks archive: {e}")))?;
        let (actor, marshal_mailbox, floor) = Actor::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: registry.clone(),
                epocher: epocher.clone(),
                start: marshal::Start::Genesis(Digested::precomputed(
                    genesis.clone(),
                    genesis.hash(),
                )),
                partition_prefix: marshal_prefix,
                mailbox_size,
                view_retention: ViewDelta::new(VIEW_RETENTION),
                prunable_items_per_section: NonZeroU64::new(ITEMS_PER_SECTION)
                    .unwrap_or(NonZeroU64::MIN),
                page_cache: page_cache.clone(),
                replay_buffer: nz_usize(IO_BUFFER),
                key_write_buffer: nz_usize(IO_BUFFER),
                value_write_buffer: nz_usize(IO_BUFFER),
                block_codec_config: block_cfg,
                max_repair: nz_usize(16),
                max_pending_acks: nz_usize(16),
                strategy: Sequential,
            },
        )
        .await;
        info!(
            processed = floor.processed().map(|p| p.height().get()),
            executor_finalized = executor.last_finalized_height(),
            "restored marshal"
        );

        // Backfill resolver and block broadcast.
        let resolver = marshal_resolver::init(
            context.child("backfill"),
            marshal_resolver::Config {
                public_key: me.clone(),
                peer_provider: peers.clone(),
                blocker: blocker.clone(),
                mailbox_size,
                fetch_timeout: nz_duration(timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                priority_requests: false,
                priority_responses: false,
            },
            channels.backfill,
        );
        let (broadcast, buffer) = buffered::Engine::new(
            context.child("broadcast"),
            buffered::Config {
                public_key: me.clone(),
                mailbox_size,
                deque_size: 16,
                priority: false,
                codec_config: block_cfg,
                peer_provider: peers,
                strategy: Sequential,
            },
        );
        let broadcast = broadcast.start(channels.broadcast);

        // Finalized block delivery to the executor; it announces each epoch's validator set.
        let known = Arc::new(Mutex::new(KnownBlocks::default()));
        let gate = crate::application::FinalityGate::default();
        let (reporter, updates) = finalizer::channel();
        let marshal = actor.start(reporter, buffer, resolver);
        let (epoch_sender, epoch_receiver) = futures::channel::mpsc::unbounded();
        if config.epoch_length.is_none() || executor.validator_set().is_none() {
            // A chain without epochs: the configured participants validate epoch 0 forever.
            let _ = epoch_sender.unbounded_send(config.static_validator_set(genesis.hash()));
        }
        let finalizer = Finalizer {
            executor: executor.clone(),
            marshal: marshal_mailbox.clone(),
            status: status.clone(),
            known: known.clone(),
            epocher: epocher.clone(),
            epochs: epoch_sender,
            evidence: evidence.clone(),
            gate: gate.clone(),
        };
        let finalizer = context
            .child("finalizer")
            .spawn(move |context| finalizer.run(context, updates));

        // Application behind marshal's inline wrapper, driven by each epoch's simplex.
        let application = ChainApplication::new(
            executor,
            ApplicationConfig {
                fee_recipient: config.fee_recipient,
                epochs: registry.clone(),
                evidence: evidence.clone(),
                block_time: config.block_time,
                max_future_drift: config.max_future_drift,
                max_block_bytes: block_cfg.max_block_bytes,
                genesis: genesis.hash(),
            },
            known,
            marshal_mailbox.clone(),
            gate,
        );
        let inline = marshal::standard::Inline::new(
            context.child("application"),
            application,
            marshal_mailbox.clone(),
            epocher.clone(),
        );

        // Per-epoch sub-channels; votes for epochs we don't run land in the backup queue.
        let (vote_sender, vote_receiver) = channels.votes;
        let (vote_mux, votes, backup) = Muxer::builder(
            context.child("votes_mux"),
            vote_sender,
            TrackedReceiver::new(vote_receiver, status.clone()),
        )
        .with_backup()
        .build();
        let (certificate_mux, certificates) = Muxer::new(
            context.child("certificates_mux"),
            channels.certificates.0,
            channels.certificates.1,
        );
        let (resolver_mux, resolvers) = Muxer::new(
            context.child("resolver_mux"),
            channels.resolver.0,
            channels.resolver.1,
        );
        let muxers = [
            vote_mux.start(),
            certificate_mux.start(),
            resolver_mux.start(),
        ];

        let orchestrator = Orchestrator {
            signer: config.signer.clone(),
            namespace: config.namespace(),
            prefix,
            mailbox_size,
            timeouts,
            page_cache,
            blocker,
            inline,
            status,
            registry,
            evidence,
            epocher,
            marshal: marshal_mailbox,
            tracker,
            current: None,
            last_hint: None,
        };
        let orchestrator = context.child("orchestrator").spawn(move |context| {
            orchestrator.run(
                context,
                epoch_receiver,
                votes,
                certificates,
                resolvers,
                backup,
            )
        });

        // Run until the first component stops.
        let [votes_mux, certificates_mux, resolver_mux] = muxers;
        let tasks: Vec<BoxFuture<'static, (&'static str, Result<(), Error>)>> = vec![
            orchestrator
                .map(|r| ("orchestrator", r.map_err(Error::from).and_then(|r| r)))
                .boxed(),
            marshal.map(|r| ("marshal", r.map_err(Error::from))).boxed(),
            broadcast
                .map(|r| ("broadcast", r.map_err(Error::from)))
                .boxed(),
            finalizer
                .map(|r| ("finalizer", r.map_err(Error::from).and_then(|r| r)))
                .boxed(),
            votes_mux.map(|r| ("votes mux", mux_result(r))).boxed(),
            certificates_mux
                .map(|r| ("certificates mux", mux_result(r)))
                .boxed(),
            resolver_mux
                .map(|r| ("resolver mux", mux_result(r)))
                .boxed(),
        ];
        let ((component, result), _, _) = futures::future::select_all(tasks).await;
        match &result {
            Ok(()) => info!(component, "consensus component stopped"),
            Err(e) => error!(component, error = %e, "consensus component failed"),
        }
        result
    }
}

fn mux_result<T, E: std::fmt::Display>(
    result: Result<Result<T, E>, commonware_runtime::Error>,
) -> Result<(), Error> {
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Network(e.to_string())),
        Err(e) => Err(Error::from(e)),
    }
}

type MuxHandle<S> = commonware_p2p::utils::mux::MuxHandle<S>;
type BackupQueue =
    commonware_utils::channel::mpsc::Receiver<(u64, commonware_p2p::Message<PublicKey>)>;
type InlineApp<E, X> =
    marshal::standard::Inline<E, SigningScheme, ChainApplication<X>, ConsensusBlock, FixedEpocher>;

/// Starts and stops one simplex instance per epoch as the finalized chain crosses boundaries.
struct Orchestrator<E: Spawner + Metrics + Clock + Storage + CryptoRng, X: Executor, B> {
    signer: crate::keys::PrivateKey,
    namespace: Vec<u8>,
    prefix: String,
    mailbox_size: NonZeroUsize,
    timeouts: crate::Timeouts,
    page_cache: CacheRef,
    blocker: B,
    inline: InlineApp<E, X>,
    status: StatusHandle,
    registry: EpochRegistry,
    evidence: EvidencePool,
    epocher: FixedEpocher,
    marshal: crate::application::MarshalMailbox,
    tracker: PeerTracker,
    /// The epoch running and its simplex instance.
    current: Option<(Epoch, commonware_runtime::Handle<()>)>,
    /// Last catch-up hint (epoch it targeted, when), to send at most one per fetch timeout.
    last_hint: Option<(Epoch, Instant)>,
}

impl<E, X, B> Orchestrator<E, X, B>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng,
    X: Executor,
    B: Blocker<PublicKey = PublicKey>,
{
    async fn run<S: Sender<PublicKey = PublicKey>>(
        mut self,
        context: E,
        mut epochs: UnboundedReceiver<ValidatorSet>,
        mut votes: MuxHandle<S>,
        mut certificates: MuxHandle<S>,
        mut resolvers: MuxHandle<S>,
        mut backup: BackupQueue,
    ) -> Result<(), Error> {
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
                    self.on_unknown_epoch(Epoch::new(epoch), peer);
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
        // A set without fee recipients (a chain configured without them) checks no proposer.
        let fee_recipients: BTreeMap<PublicKey, Address> = if set
            .validators
            .iter()
            .all(|v| v.fee_recipient == Address::ZERO)
        {
            BTreeMap::new()
        } else {
            set.validators
                .iter()
                .map(|v| (v.key.clone(), v.fee_recipient))
                .collect()
        };
        self.registry.insert(epoch, scheme.clone(), fee_recipients);
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
        // The vote journals of epochs two or more behind are never read again (the previous
        // one may still be flushing after its abort).
        for behind in 2..=STALE_JOURNALS_SWEPT {
            let Some(stale) = set.epoch.checked_sub(behind) else {
                break;
            };
            let partition = format!("{}-simplex-epoch-{stale}", self.prefix);
            if context.remove(&partition, None).await.is_ok() {
                debug!(epoch = stale, "removed a retired epoch's vote journal");
            }
        }
        Ok(())
    }

    /// A peer sent votes for an epoch we are not running. If it is ahead, fetch the
    /// finalization of our epoch's last block from it (at most once per fetch timeout).
    fn on_unknown_epoch(&mut self, epoch: Epoch, peer: PublicKey) {
        let Some((running, _)) = &self.current else {
            return;
        };
        let running = *running;
        if epoch <= running {
            return;
        }
        let now = Instant::now();
        if let Some((hinted, at)) = self.last_hint
            && hinted == running
            && now.duration_since(at) < self.timeouts.fetch
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
