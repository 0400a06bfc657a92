//! The engine: wires simplex (votes, certificates), marshal (ordering, storage, backfill), the
//! buffered broadcast of blocks, the chain application and the finalizer onto five p2p
//! channels, then runs until one of them stops.
//!
//! Everything persistent lives under the configured partition prefix `P` in the runtime's
//! storage: `P-simplex-epoch-0` (simplex's vote journal), `P-marshal-*` (marshal's caches and
//! processed-height metadata), `P-marshal-finalizations-*` and `P-marshal-blocks-*` (finalized
//! certificates and blocks by height). Restarting over the same storage resumes all of them.

use crate::{
    EngineConfig, Error, Executor,
    application::{ApplicationConfig, ChainApplication, KnownBlocks, SigningScheme},
    block::{BlockCodecConfig, ConsensusBlock},
    digest::BlockDigest,
    finalizer::{self, Finalizer},
    keys::PublicKey,
    status::{StatusHandle, StatusReporter, TrackedReceiver},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{self, core::Actor, resolver::p2p as marshal_resolver, standard::Standard},
    simplex::{self, elector::RoundRobin},
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digested, Sha256,
    certificate::{Provider, Scoped, Verifier as _},
};
use commonware_p2p::{Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Metrics, Spawner, Storage,
    buffer::paged::{CacheRef, page_size},
};
use commonware_storage::archive::immutable;
use commonware_utils::{NonZeroDuration, ordered::Set};
use futures::{FutureExt, future::BoxFuture};
use parking_lot::Mutex;
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::Duration,
};
use tracing::{error, info};

/// The only epoch for now: a static validator set from genesis.
pub const EPOCH: Epoch = Epoch::zero();

/// Views of history simplex and marshal keep behind the finalized tip.
const VIEW_RETENTION: u64 = 256;
/// Pages (4 KiB each) cached for journal and archive reads.
const PAGE_CACHE_PAGES: usize = 1024;
/// Items per archive section.
const ITEMS_PER_SECTION: u64 = 4096;
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

/// Signing schemes by epoch (one static epoch today).
#[derive(Clone)]
struct EpochSchemes {
    epoch: Epoch,
    scheme: Arc<SigningScheme>,
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = SigningScheme;

    fn scoped(&self, scope: Epoch) -> Option<Scoped<SigningScheme>> {
        (scope == self.epoch).then(|| Scoped::scheme(self.scheme.clone()))
    }
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
        max_message_size(self.config.participants.len(), self.config.max_block_bytes)
    }

    /// Runs consensus until a component stops (the runtime shuts down or storage fails).
    ///
    /// `blocker` disconnects misbehaving peers; `peers` tells the broadcast and backfill engines
    /// which peers exist (both come from the network the channels were registered on).
    pub async fn run<E, S, R, B, P>(
        self,
        context: E,
        channels: Channels<S, R>,
        blocker: B,
        peers: P,
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

        let participants = Set::try_from(config.participants.clone())
            .map_err(|_| Error::InvalidConfig("duplicate participants".into()))?;
        let scheme =
            SigningScheme::signer(&config.namespace(), participants, config.signer.clone())
                .ok_or_else(|| Error::NotAParticipant(crate::keys::public_key_to_hex(&me)))?;
        let provider = EpochSchemes {
            epoch: EPOCH,
            scheme: Arc::new(scheme.clone()),
        };
        // One epoch spanning every height (FixedEpocher requires a length above one).
        let epocher = FixedEpocher::new(NonZeroU64::MAX);

        let genesis_executor = executor.clone();
        let genesis = context
            .child("genesis")
            .shared(true)
            .spawn(move |_| async move { ConsensusBlock::new(genesis_executor.genesis()) })
            .await?;
        info!(
            public_key = %me,
            participants = config.participants.len(),
            genesis = %genesis.hash(),
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
                provider,
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

        // Finalized block delivery to the executor.
        let known = Arc::new(Mutex::new(KnownBlocks::default()));
        let (reporter, updates) = finalizer::channel();
        let marshal = actor.start(reporter, buffer, resolver);
        let finalizer = Finalizer {
            executor: executor.clone(),
            marshal: marshal_mailbox.clone(),
            status: status.clone(),
            known: known.clone(),
        };
        let finalizer = context
            .child("finalizer")
            .spawn(move |context| finalizer.run(context, updates));

        // Application behind marshal's inline wrapper, driven by simplex.
        let application = ChainApplication::new(
            executor,
            ApplicationConfig {
                fee_recipient: config.fee_recipient,
                fee_recipients: config.fee_recipients.clone(),
                block_time: config.block_time,
                max_future_drift: config.max_future_drift,
                max_block_bytes: block_cfg.max_block_bytes,
                genesis: genesis.hash(),
            },
            known,
            marshal_mailbox.clone(),
        );
        let inline = marshal::standard::Inline::new(
            context.child("application"),
            application,
            marshal_mailbox,
            epocher,
        );
        let engine = simplex::Engine::new(
            context.child("simplex"),
            simplex::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker,
                automaton: inline.clone(),
                relay: inline.clone(),
                reporter: StatusReporter::new(inline, status.clone()),
                strategy: Sequential,
                partition: format!("{prefix}-simplex-epoch-{}", EPOCH.get()),
                mailbox_size,
                epoch: EPOCH,
                floor: simplex::Floor::Genesis(genesis.hash()),
                replay_buffer: nz_usize(IO_BUFFER),
                write_buffer: nz_usize(IO_BUFFER),
                page_cache,
                leader_timeout: timeouts.leader,
                certification_timeout: timeouts.certification,
                timeout_retry: timeouts.retry,
                view_retention: ViewDelta::new(VIEW_RETENTION),
                skip: simplex::SkipPolicy::Enabled {
                    timeout: timeouts.skip,
                    budget: simplex::SkipBudget::Participants,
                },
                fetch_timeout: nz_duration(timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                forward: simplex::ForwardPolicy::SilentLeader,
                track_historical_votes: false,
            },
        );
        let (vote_sender, vote_receiver) = channels.votes;
        let simplex = engine.start(
            (vote_sender, TrackedReceiver::new(vote_receiver, status)),
            channels.certificates,
            channels.resolver,
        );

        // Run until the first component stops.
        let tasks: Vec<BoxFuture<'static, (&'static str, Result<(), Error>)>> = vec![
            simplex.map(|r| ("simplex", r.map_err(Error::from))).boxed(),
            marshal.map(|r| ("marshal", r.map_err(Error::from))).boxed(),
            broadcast
                .map(|r| ("broadcast", r.map_err(Error::from)))
                .boxed(),
            finalizer
                .map(|r| ("finalizer", r.map_err(Error::from).and_then(|r| r)))
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
