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
    application::{ApplicationConfig, ChainApplication},
    block::{BlockCodecConfig, ConsensusBlock},
    config::EngineConfig,
    digest::BlockDigest,
    epochs::EpochRegistry,
    error::Error,
    evidence::EvidencePool,
    executor::{Executor, ValidatorSet},
    finalizer::{self, Finalizer},
    keys::PublicKey,
    orchestrator::{EpochChannels, Orchestrator},
    scheme::{FinalityGate, MarshalMailbox, SigningScheme},
    shared::{IO_BUFFER, Shared, VIEW_RETENTION, nz_duration, nz_usize},
    status::{StatusHandle, TrackedReceiver},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{self, Update, core::Actor, resolver::p2p as marshal_resolver, standard::Standard},
    simplex,
    types::{FixedEpocher, ViewDelta},
};
use commonware_cryptography::{Digested, certificate::Verifier as _};
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
use futures::{FutureExt, channel::mpsc::UnboundedReceiver, future::BoxFuture};
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    time::Duration,
};
use tracing::{error, info};

pub use crate::orchestrator::PeerTracker;

/// Pages (4 KiB each) cached for journal and archive reads.
const PAGE_CACHE_PAGES: usize = 1024;
/// Items per archive section.
const ITEMS_PER_SECTION: u64 = 4096;

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
        let mailbox_size = nz_usize(config.mailbox_size);
        let block_cfg = BlockCodecConfig::new(config.max_block_bytes);
        let page_cache = CacheRef::new(page_size(4096), nz_usize(PAGE_CACHE_PAGES));
        let shared = Shared {
            registry: EpochRegistry::default(),
            evidence: EvidencePool::default(),
            // Without epochs, one epoch spans every height (FixedEpocher needs a length above
            // one).
            epocher: FixedEpocher::new(config.epoch_length.unwrap_or(NonZeroU64::MAX)),
            status,
        };

        let genesis = load_genesis(&context, &executor, &config).await?;

        // Marshal: finalized archives, then the actor.
        let marshal_prefix = format!("{}-marshal", config.partition_prefix);
        let finalizations = open_archive(
            context.child("finalizations_by_height"),
            &marshal_prefix,
            "finalizations",
            &page_cache,
            SigningScheme::certificate_codec_config_unbounded(),
        )
        .await?;
        let blocks = open_archive(
            context.child("finalized_blocks"),
            &marshal_prefix,
            "blocks",
            &page_cache,
            block_cfg,
        )
        .await?;
        let (actor, marshal_mailbox, floor) = Actor::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal_config(
                marshal_prefix,
                &shared.registry,
                &shared.epocher,
                &genesis,
                mailbox_size,
                &page_cache,
                block_cfg,
            ),
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
            resolver_config(
                me.clone(),
                peers.clone(),
                blocker.clone(),
                mailbox_size,
                &timeouts,
            ),
            channels.backfill,
        );
        let (broadcast, buffer) = buffered::Engine::new(
            context.child("broadcast"),
            broadcast_config(me, peers, mailbox_size, block_cfg),
        );
        let broadcast = broadcast.start(channels.broadcast);

        // Finalized block delivery to the executor; it announces each epoch's validator set.
        let gate = FinalityGate::default();
        let (reporter, updates) = finalizer::channel();
        let marshal = actor.start(reporter, buffer, resolver);
        let (finalizer, epoch_receiver) = spawn_finalizer(
            &context,
            &config,
            &executor,
            &shared,
            marshal_mailbox.clone(),
            gate.clone(),
            updates,
            genesis.hash(),
        );

        // Application behind marshal's inline wrapper, driven by each epoch's simplex.
        let application = ChainApplication::new(
            executor,
            ApplicationConfig::new(&config, &shared.registry, &shared.evidence, genesis.hash()),
            marshal_mailbox.clone(),
            gate,
        );
        let inline = marshal::standard::Inline::new(
            context.child("application"),
            application,
            marshal_mailbox.clone(),
            shared.epocher.clone(),
        );

        let (epoch_channels, muxers) = start_muxers(
            &context,
            channels.votes,
            channels.certificates,
            channels.resolver,
            &shared.status,
        );
        let orchestrator = Orchestrator::new(
            &config,
            shared,
            page_cache,
            blocker,
            inline,
            marshal_mailbox,
            tracker,
        );
        let orchestrator = context
            .child("orchestrator")
            .spawn(move |context| orchestrator.run(context, epoch_receiver, epoch_channels));

        let mut tasks = vec![
            fallible("orchestrator", orchestrator),
            infallible("marshal", marshal),
            infallible("broadcast", broadcast),
            fallible("finalizer", finalizer),
        ];
        tasks.extend(muxers);
        first_to_stop(tasks).await
    }
}

/// Starts the task that hands finalized blocks to the executor; returns it and the stream of
/// validator sets it announces (for a chain without epochs, the configured participants
/// validate epoch 0 forever).
#[allow(clippy::too_many_arguments)]
fn spawn_finalizer<E: Spawner, X: Executor>(
    context: &E,
    config: &EngineConfig,
    executor: &X,
    shared: &Shared,
    marshal: MarshalMailbox,
    gate: FinalityGate,
    updates: UnboundedReceiver<Update<ConsensusBlock>>,
    genesis: BlockDigest,
) -> (
    commonware_runtime::Handle<Result<(), Error>>,
    UnboundedReceiver<ValidatorSet>,
) {
    let (epoch_sender, epoch_receiver) = futures::channel::mpsc::unbounded();
    if config.epoch_length.is_none() || executor.validator_set().is_none() {
        let _ = epoch_sender.unbounded_send(config.static_validator_set(genesis));
    }
    let finalizer = Finalizer {
        executor: executor.clone(),
        marshal,
        status: shared.status.clone(),
        epocher: shared.epocher.clone(),
        epochs: epoch_sender,
        evidence: shared.evidence.clone(),
        gate,
    };
    let handle = context
        .child("finalizer")
        .spawn(move |context| finalizer.run(context, updates));
    (handle, epoch_receiver)
}

/// Asks the executor for the genesis block (off the async core) and logs the engine's start.
async fn load_genesis<E: Spawner, X: Executor>(
    context: &E,
    executor: &X,
    config: &EngineConfig,
) -> Result<ConsensusBlock, Error> {
    let executor = executor.clone();
    let genesis = context
        .child("genesis")
        .shared(true)
        .spawn(move |_| async move { ConsensusBlock::new(executor.genesis()) })
        .await?;
    info!(
        public_key = %config.public_key(),
        genesis = %genesis.hash(),
        epoch_length = config.epoch_length.map(NonZeroU64::get),
        block_time_ms = config.block_time.as_millis() as u64,
        "starting consensus engine"
    );
    Ok(genesis)
}

/// Marshal's configuration: it starts from `genesis` and keeps its partitions under `prefix`.
fn marshal_config(
    prefix: String,
    registry: &EpochRegistry,
    epocher: &FixedEpocher,
    genesis: &ConsensusBlock,
    mailbox_size: NonZeroUsize,
    page_cache: &CacheRef,
    block_cfg: BlockCodecConfig,
) -> marshal::Config<
    EpochRegistry,
    FixedEpocher,
    Sequential,
    ConsensusBlock,
    Digested<ConsensusBlock>,
> {
    marshal::Config {
        provider: registry.clone(),
        epocher: epocher.clone(),
        start: marshal::Start::Genesis(Digested::precomputed(genesis.clone(), genesis.hash())),
        partition_prefix: prefix,
        mailbox_size,
        view_retention: ViewDelta::new(VIEW_RETENTION),
        prunable_items_per_section: NonZeroU64::new(ITEMS_PER_SECTION).unwrap_or(NonZeroU64::MIN),
        page_cache: page_cache.clone(),
        replay_buffer: nz_usize(IO_BUFFER),
        key_write_buffer: nz_usize(IO_BUFFER),
        value_write_buffer: nz_usize(IO_BUFFER),
        block_codec_config: block_cfg,
        max_repair: nz_usize(16),
        max_pending_acks: nz_usize(16),
        strategy: Sequential,
    }
}

/// Opens one of marshal's finalized archives (`name` under `prefix`).
async fn open_archive<E, K, V>(
    context: E,
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec: V::Cfg,
) -> Result<immutable::Archive<E, K, V>, Error>
where
    E: commonware_storage::Context,
    K: commonware_utils::Array,
    V: commonware_codec::CodecShared,
{
    immutable::Archive::init(context, archive_config(prefix, name, page_cache, codec))
        .await
        .map_err(|e| Error::Storage(format!("{name} archive: {e}")))
}

/// A component of a running engine, named for the log line when it stops.
type Task = BoxFuture<'static, (&'static str, Result<(), Error>)>;

/// A component that ends with `()`.
fn infallible(name: &'static str, handle: commonware_runtime::Handle<()>) -> Task {
    handle.map(move |r| (name, r.map_err(Error::from))).boxed()
}

/// A component that ends with its own result.
fn fallible(name: &'static str, handle: commonware_runtime::Handle<Result<(), Error>>) -> Task {
    handle
        .map(move |r| (name, r.map_err(Error::from).and_then(|r| r)))
        .boxed()
}

/// Marshal's backfill of blocks and finalizations from peers.
fn resolver_config<P, B>(
    me: PublicKey,
    peers: P,
    blocker: B,
    mailbox_size: NonZeroUsize,
    timeouts: &crate::config::Timeouts,
) -> marshal_resolver::Config<PublicKey, P, B>
where
    P: commonware_p2p::Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    marshal_resolver::Config {
        public_key: me,
        peer_provider: peers,
        blocker,
        mailbox_size,
        fetch_timeout: nz_duration(timeouts.fetch),
        fetch_retry_delay: Duration::from_millis(100),
        priority_requests: false,
        priority_responses: false,
    }
}

/// Runs until the first component stops and returns its result.
async fn first_to_stop(tasks: Vec<Task>) -> Result<(), Error> {
    let ((component, result), _, _) = futures::future::select_all(tasks).await;
    match &result {
        Ok(()) => info!(component, "consensus component stopped"),
        Err(e) => error!(component, error = %e, "consensus component failed"),
    }
    result
}

/// The buffered broadcast of whole blocks to every peer.
fn broadcast_config<P>(
    me: PublicKey,
    peers: P,
    mailbox_size: NonZeroUsize,
    block_cfg: BlockCodecConfig,
) -> buffered::Config<PublicKey, BlockCodecConfig, P, Sequential>
where
    P: commonware_p2p::Provider<PublicKey = PublicKey>,
{
    buffered::Config {
        public_key: me,
        mailbox_size,
        deque_size: 16,
        priority: false,
        codec_config: block_cfg,
        peer_provider: peers,
        strategy: Sequential,
    }
}

/// Splits the vote, certificate and resolver channels into per-epoch sub-channels; votes for
/// epochs we don't run land in the backup queue. Returns the muxers as tasks.
fn start_muxers<E, S, R>(
    context: &E,
    votes: (S, R),
    certificates: (S, R),
    resolver: (S, R),
    status: &StatusHandle,
) -> (EpochChannels<S>, [Task; 3])
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let (vote_mux, votes, backup) = Muxer::builder(
        context.child("votes_mux"),
        votes.0,
        TrackedReceiver::new(votes.1, status.clone()),
    )
    .with_backup()
    .build();
    let (certificate_mux, certificates) = Muxer::new(
        context.child("certificates_mux"),
        certificates.0,
        certificates.1,
    );
    let (resolver_mux, resolvers) =
        Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
    let tasks: [Task; 3] = [
        vote_mux
            .start()
            .map(|r| ("votes mux", mux_result(r)))
            .boxed(),
        certificate_mux
            .start()
            .map(|r| ("certificates mux", mux_result(r)))
            .boxed(),
        resolver_mux
            .start()
            .map(|r| ("resolver mux", mux_result(r)))
            .boxed(),
    ];
    (
        EpochChannels {
            votes,
            certificates,
            resolvers,
            backup,
        },
        tasks,
    )
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
