//! Running validators as tasks of one process: a single validator, or a local network of N
//! validators on loopback talking over real authenticated p2p (`lazai devnet --validators N`).
//!
//! Each validator gets its own partition prefix (`<prefix>-v<i>`) in the runtime's storage and its
//! own `SocketAddr`; keys come from fixed seeds so a devnet genesis can list them.

use crate::{
    config::EngineConfig,
    engine::Engine,
    error::Error,
    executor::Executor,
    keys::{PrivateKey, PublicKey, key_from_seed},
    network::{Gossip, P2pConfig, run_authenticated},
    status::StatusHandle,
};
use commonware_cryptography::Signer;
use commonware_runtime::{
    Clock, Handle, Metrics, Network as RuntimeNetwork, Resolver, Spawner, Storage,
};
use lazai_types::Address;
use rand_core::CryptoRng;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

/// A running validator.
pub struct ValidatorHandle {
    /// The validator's key.
    pub public_key: PublicKey,
    /// Its p2p address.
    pub p2p_addr: SocketAddr,
    /// Live status (view, finalized height, active peers).
    pub status: StatusHandle,
    handle: Handle<Result<(), Error>>,
}

impl ValidatorHandle {
    /// Stops the validator's engine and network (its storage stays; it can be restarted).
    pub fn abort(&self) {
        self.handle.abort();
    }

    /// Waits for the validator to stop and returns why.
    pub async fn join(self) -> Result<(), Error> {
        self.handle.await?
    }
}

/// Keys of devnet validator `index` (seeded; never use outside devnets).
pub fn devnet_key(index: usize) -> PrivateKey {
    key_from_seed(index as u64)
}

/// The devnet validator set of size `n`, in index order.
pub fn devnet_participants(n: usize) -> Vec<PublicKey> {
    (0..n).map(|i| devnet_key(i).public_key()).collect()
}

/// One validator of a local network.
pub struct LocalValidator<X> {
    /// Engine configuration (its `partition_prefix` must be unique in the process).
    pub config: EngineConfig,
    /// Loopback address it listens on.
    pub p2p_addr: SocketAddr,
    /// Its executor (each validator has its own chain state).
    pub executor: X,
}

/// Settings for [`devnet_validators`].
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Number of validators.
    pub validators: usize,
    /// Chain id.
    pub chain_id: u64,
    /// First p2p port; validator `i` listens on `127.0.0.1:(base_port + i)`.
    pub base_port: u16,
    /// Target block time.
    pub block_time: Duration,
    /// Storage prefix; validator `i` uses `<prefix>-v<i>`.
    pub partition_prefix: String,
    /// Fee recipient of each validator (missing entries use the zero address).
    pub fee_recipients: Vec<Address>,
}

/// Builds the per-validator configurations of a devnet; pair each with an executor and pass them
/// to [`start_local_network`].
pub fn devnet_validators(devnet: &DevnetConfig) -> Result<Vec<(EngineConfig, SocketAddr)>, Error> {
    let participants = devnet_participants(devnet.validators);
    (0..devnet.validators)
        .map(|i| {
            let port = u16::try_from(i)
                .ok()
                .and_then(|i| devnet.base_port.checked_add(i))
                .ok_or_else(|| Error::InvalidConfig("p2p ports overflow".into()))?;
            let mut config = EngineConfig::new(
                devnet_key(i),
                devnet
                    .fee_recipients
                    .get(i)
                    .copied()
                    .unwrap_or(Address::ZERO),
                participants.clone(),
                devnet.chain_id,
            );
            config.block_time = devnet.block_time;
            config.partition_prefix = format!("{}-v{i}", devnet.partition_prefix);
            config.validate()?;
            Ok((
                config,
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            ))
        })
        .collect()
}

/// Starts one node (a validator, or an observer when its key is in no epoch's set) over
/// authenticated p2p as a task of `context`, with transaction gossip when `gossip` is given.
pub fn start_validator<E, X>(
    context: E,
    config: EngineConfig,
    p2p: P2pConfig,
    executor: X,
    gossip: Option<Gossip>,
) -> Result<ValidatorHandle, Error>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng + RuntimeNetwork + Resolver,
    X: Executor,
{
    let engine = Engine::new(config, executor)?;
    let status = engine.status();
    let public_key = engine.config().public_key();
    let p2p_addr = p2p.listen;
    let handle = context
        .child("validator")
        .with_attribute("key", &public_key)
        .spawn(move |context| run_authenticated(context, engine, p2p, gossip));
    Ok(ValidatorHandle {
        public_key,
        p2p_addr,
        status,
        handle,
    })
}

/// Starts every validator of a local network as tasks of `context`, each listening on its own
/// address and dialing the others over authenticated p2p.
pub fn start_local_network<E, X>(
    context: E,
    validators: Vec<LocalValidator<X>>,
) -> Result<Vec<ValidatorHandle>, Error>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng + RuntimeNetwork + Resolver,
    X: Executor,
{
    let peers: Vec<(PublicKey, SocketAddr)> = validators
        .iter()
        .map(|v| (v.config.public_key(), v.p2p_addr))
        .collect();
    let mut prefixes = std::collections::BTreeSet::new();
    for v in &validators {
        if !prefixes.insert(v.config.partition_prefix.clone()) {
            return Err(Error::InvalidConfig(format!(
                "partition prefix {:?} is used by two validators",
                v.config.partition_prefix
            )));
        }
    }
    validators
        .into_iter()
        .map(|v| {
            let p2p = P2pConfig {
                listen: v.p2p_addr,
                peers: peers.clone(),
                observers: Vec::new(),
                local: true,
            };
            start_validator(context.child("devnet"), v.config, p2p, v.executor, None)
        })
        .collect()
}
