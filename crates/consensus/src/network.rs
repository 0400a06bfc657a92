//! Wiring the engine's channels onto a network: real authenticated p2p (commonware `lookup`:
//! encrypted, ed25519-authenticated connections between validators at known addresses) and the
//! deterministic simulator used by tests.

use crate::{
    Error, Executor,
    engine::{Channels, Engine, channel},
    keys::{PublicKey, public_key_to_hex},
};
use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{
    Address, AddressableManager,
    authenticated::lookup,
    simulated::{self, Oracle},
};
use commonware_runtime::{
    Clock, Metrics, Network as RuntimeNetwork, Quota, Resolver, Spawner, Storage,
};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::ordered::Map;
use futures::FutureExt;
use rand_core::CryptoRng;
use std::{
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    time::Duration,
};
use tracing::{error, info};

/// Per-peer message rates: votes and certificates flow every view, blocks once per view,
/// backfill in bursts while catching up.
fn quota(channel: u64) -> Quota {
    let per_second = match channel {
        channel::VOTES | channel::CERTIFICATES | channel::RESOLVER => 1024,
        channel::BROADCAST => 128,
        _ => 512,
    };
    Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
}

/// Peer-to-peer settings of one validator.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Every validator's key and dialable address (this validator's own entry may be included).
    pub peers: Vec<(PublicKey, SocketAddr)>,
    /// Loopback/LAN mode: allow private addresses and dial aggressively (devnets and tests).
    pub local: bool,
}

/// Runs `engine` over authenticated p2p until the network or the engine stops.
pub async fn run_authenticated<E, X>(
    context: E,
    engine: Engine<X>,
    p2p: P2pConfig,
) -> Result<(), Error>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng + RuntimeNetwork + Resolver,
    X: Executor,
{
    let config = engine.config().clone();
    let me = config.public_key();
    for participant in &config.participants {
        if !p2p.peers.iter().any(|(key, _)| key == participant) {
            return Err(Error::InvalidPeers(format!(
                "no address for validator {}",
                public_key_to_hex(participant)
            )));
        }
    }
    let peers: Map<PublicKey, Address> = Map::try_from(
        p2p.peers
            .iter()
            .filter(|(key, _)| config.participants.contains(key))
            .map(|(key, addr)| (key.clone(), Address::from(*addr)))
            .collect::<Vec<_>>(),
    )
    .map_err(|_| Error::InvalidPeers("a validator is listed twice".into()))?;

    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: config.signer.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let max_message_size = engine.max_message_size();
    let stream_limit = lookup::max_size::<Cups<Sake<crate::keys::PrivateKey>, ChaCha20Poly1305>>();
    if max_message_size > stream_limit {
        return Err(Error::InvalidConfig(format!(
            "blocks of {} bytes need {max_message_size}-byte messages, above the {stream_limit}-byte stream limit",
            config.max_block_bytes
        )));
    }
    let max_peers_per_set =
        NonZeroUsize::new(config.participants.len()).unwrap_or(NonZeroUsize::MIN);
    let mailbox_size = NonZeroUsize::new(config.mailbox_size).unwrap_or(NonZeroUsize::MIN);
    let namespace = config.namespace();
    let preset = if p2p.local {
        lookup::Config::local
    } else {
        lookup::Config::recommended
    };
    let cfg = preset(
        handshake,
        &namespace,
        p2p.listen,
        max_peers_per_set,
        max_message_size,
        mailbox_size,
    );

    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), cfg);
    let _ = oracle.track(0, peers);
    let mut register = |id| network.register(id, quota(id));
    let channels = Channels {
        votes: register(channel::VOTES),
        certificates: register(channel::CERTIFICATES),
        resolver: register(channel::RESOLVER),
        broadcast: register(channel::BROADCAST),
        backfill: register(channel::BACKFILL),
    };
    let network = network.start();
    info!(public_key = %me, listen = %p2p.listen, peers = config.participants.len() - 1, "p2p started");

    let engine = engine.run(context.child("engine"), channels, oracle.clone(), oracle);
    futures::select! {
        result = engine.fuse() => result,
        result = network.fuse() => {
            error!("p2p network stopped");
            result.map_err(Error::from)
        }
    }
}

/// Simulated-network channel types.
pub type SimulatedChannels<E> =
    Channels<simulated::Sender<PublicKey, E>, simulated::Receiver<PublicKey>>;

/// Registers the engine's channels for `me` on a simulated network.
pub async fn register_simulated<E: Clock>(
    oracle: &Oracle<PublicKey, E>,
    me: PublicKey,
) -> Result<SimulatedChannels<E>, Error> {
    let control = oracle.control(me);
    let register = |id: u64| {
        let control = control.clone();
        async move {
            control
                .register(id, quota(id))
                .await
                .map_err(|e| Error::Network(e.to_string()))
        }
    };
    Ok(Channels {
        votes: register(channel::VOTES).await?,
        certificates: register(channel::CERTIFICATES).await?,
        resolver: register(channel::RESOLVER).await?,
        broadcast: register(channel::BROADCAST).await?,
        backfill: register(channel::BACKFILL).await?,
    })
}

/// Runs `engine` on a simulated network (links must be added through the oracle separately).
pub async fn run_simulated<E, X>(
    context: E,
    engine: Engine<X>,
    oracle: &Oracle<PublicKey, E>,
) -> Result<(), Error>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng,
    X: Executor,
{
    let me = engine.config().public_key();
    let channels = register_simulated(oracle, me.clone()).await?;
    engine
        .run(context, channels, oracle.control(me), oracle.manager())
        .await
}
