//! Wiring the engine's channels onto a network: real authenticated p2p (commonware `lookup`:
//! encrypted, ed25519-authenticated connections between validators at known addresses) and the
//! deterministic simulator used by tests.

use crate::{
    engine::{Channels, Engine, channel},
    error::Error,
    executor::Executor,
    executor::ValidatorSet,
    keys::{PublicKey, public_key_to_hex},
};
use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{
    Address, AddressableManager, AddressableTrackedPeers, Blocker, Manager, Receiver, Recipients,
    Sender,
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
use futures::{FutureExt, StreamExt, channel::mpsc::UnboundedReceiver};
use lazai_types::Bytes;
use rand_core::CryptoRng;
use std::{
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    sync::Arc,
    time::Duration,
};
use tracing::{debug, error, info, warn};

/// Per-peer message rates and bursts: votes and certificates flow every view, blocks once per
/// view, resolver and backfill in bursts while catching up.
///
/// The burst sizes the p2p layer's queues: each channel preallocates `peers × burst` message
/// slots and the router their sum, whatever the traffic. With the rate as the burst (the
/// default) an idle node held ~880 MB in empty queues at 101 peers; bursts sized to what one
/// peer sends at once keep the rates and cost ~100 MB.
fn quota(channel: u64) -> Quota {
    let (per_second, burst) = match channel {
        channel::VOTES | channel::CERTIFICATES => (1024, 64),
        channel::RESOLVER => (1024, 128),
        channel::BROADCAST => (128, 16),
        channel::TRANSACTIONS => (64, 16),
        _ => (512, 256),
    };
    let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nz(per_second)).allow_burst(nz(burst))
}

/// Peer-to-peer settings of one node.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Known validator addresses (e.g. genesis's); an address the chain publishes for a
    /// validator takes precedence. This node's own entry may be included.
    pub peers: Vec<(PublicKey, SocketAddr)>,
    /// Non-validating nodes allowed to connect and receive consensus traffic (full nodes that
    /// follow this one). They are accepted but never dialed.
    pub observers: Vec<(PublicKey, SocketAddr)>,
    /// Loopback/LAN mode: allow private addresses and dial aggressively (devnets and tests).
    pub local: bool,
}

/// The peers to track for `set`: its validators (dialed) at the address the chain publishes or
/// the configured one, and the configured observers (accepted only).
fn tracked_peers(
    set: &ValidatorSet,
    p2p: &P2pConfig,
    me: &PublicKey,
) -> AddressableTrackedPeers<PublicKey> {
    let mut primary = Vec::new();
    for validator in &set.validators {
        let configured = p2p
            .peers
            .iter()
            .find(|(key, _)| *key == validator.key)
            .map(|(_, addr)| *addr);
        match validator.p2p_addr.or(configured) {
            Some(addr) => primary.push((validator.key.clone(), Address::from(addr))),
            None if validator.key == *me => {}
            None => warn!(
                epoch = set.epoch,
                validator = %public_key_to_hex(&validator.key),
                "no p2p address for validator; it must dial us"
            ),
        }
    }
    let secondary: Vec<_> = p2p
        .observers
        .iter()
        .filter(|(key, _)| !set.validators.iter().any(|v| v.key == *key))
        .map(|(key, addr)| (key.clone(), Address::from(*addr)))
        .collect();
    AddressableTrackedPeers::new(
        Map::from_iter_dedup(primary),
        Map::from_iter_dedup(secondary),
    )
}

/// Largest transaction gossip message (a batch of raw transactions).
pub const MAX_GOSSIP_BYTES: usize = 1 << 20;
/// Most transactions in one gossip message.
pub const MAX_GOSSIP_TXS: usize = 4096;

/// Called with the transactions of each well-formed gossip message a peer sent.
pub type GossipInbound = Arc<dyn Fn(&PublicKey, Vec<Bytes>) + Send + Sync>;

/// Transaction gossip: the node hands raw transactions to send to every connected peer and
/// receives the ones peers send. The bytes are the node's business (it validates every
/// transaction); this layer batches them into messages of at most [`MAX_GOSSIP_BYTES`] and
/// [`MAX_GOSSIP_TXS`] (each transaction framed by its 4-byte big-endian length) under a per-peer
/// rate, and blocks a peer whose message does not parse.
pub struct Gossip {
    /// Raw transactions to send to every peer.
    pub outbound: UnboundedReceiver<Bytes>,
    /// Handler of received transactions.
    pub inbound: GossipInbound,
}

/// Frames transactions into one gossip message; `None` if they exceed the limits.
pub fn encode_gossip(txs: &[Bytes]) -> Option<Vec<u8>> {
    if txs.is_empty() || txs.len() > MAX_GOSSIP_TXS {
        return None;
    }
    let size: usize = txs.iter().map(|tx| 4 + tx.len()).sum();
    if size > MAX_GOSSIP_BYTES {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    for tx in txs {
        out.extend_from_slice(&u32::try_from(tx.len()).ok()?.to_be_bytes());
        out.extend_from_slice(tx);
    }
    Some(out)
}

/// Parses a gossip message; `None` if it is empty, truncated, oversized or holds an empty
/// transaction.
pub fn decode_gossip(mut bytes: &[u8]) -> Option<Vec<Bytes>> {
    if bytes.is_empty() || bytes.len() > MAX_GOSSIP_BYTES {
        return None;
    }
    let mut txs = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if len == 0 || len > rest.len() || txs.len() == MAX_GOSSIP_TXS {
            return None;
        }
        txs.push(Bytes::copy_from_slice(&rest[..len]));
        bytes = &rest[len..];
    }
    Some(txs)
}

async fn run_gossip<S, R, B>(
    mut gossip: Gossip,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
) -> Result<(), Error>
where
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    loop {
        futures::select! {
            first = gossip.outbound.next() => {
                let Some(first) = first else { return Ok(()) };
                // Send what is queued now as few messages as the limits allow.
                let mut pending = vec![first];
                while let Ok(tx) = gossip.outbound.try_recv() {
                    pending.push(tx);
                }
                let mut batch: Vec<Bytes> = Vec::new();
                let mut size = 0;
                for tx in pending {
                    if 4 + tx.len() > MAX_GOSSIP_BYTES {
                        continue;
                    }
                    if batch.len() == MAX_GOSSIP_TXS || size + 4 + tx.len() > MAX_GOSSIP_BYTES {
                        send_batch(&mut sender, &batch);
                        batch.clear();
                        size = 0;
                    }
                    size += 4 + tx.len();
                    batch.push(tx);
                }
                send_batch(&mut sender, &batch);
            }
            message = receiver.recv().fuse() => {
                let (peer, bytes) = message.map_err(|e| Error::Network(e.to_string()))?;
                match decode_gossip(bytes.as_ref()) {
                    Some(txs) => (gossip.inbound)(&peer, txs),
                    None => {
                        warn!(%peer, bytes = bytes.len(), "malformed transaction gossip; blocking peer");
                        let _ = blocker.block(peer);
                    }
                }
            }
        }
    }
}

fn send_batch<S: Sender<PublicKey = PublicKey>>(sender: &mut S, batch: &[Bytes]) {
    if let Some(message) = encode_gossip(batch) {
        let sent = sender.send(Recipients::All, message, false);
        debug!(
            txs = batch.len(),
            peers = sent.len(),
            "gossiped transactions"
        );
    }
}

/// Runs `engine` over authenticated p2p until the network or the engine stops, with
/// transaction gossip on its own channel when `gossip` is given.
pub async fn run_authenticated<E, X>(
    context: E,
    engine: Engine<X>,
    p2p: P2pConfig,
    gossip: Option<Gossip>,
) -> Result<(), Error>
where
    E: Spawner + Metrics + Clock + Storage + CryptoRng + RuntimeNetwork + Resolver,
    X: Executor,
{
    let config = engine.config().clone();
    let me = config.public_key();
    if config.epoch_length.is_none() {
        for participant in &config.participants {
            if !p2p.peers.iter().any(|(key, _)| key == participant) {
                return Err(Error::InvalidPeers(format!(
                    "no address for validator {}",
                    public_key_to_hex(participant)
                )));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (key, _) in &p2p.peers {
        if !seen.insert(key.clone()) {
            return Err(Error::InvalidPeers(format!(
                "peer {} is listed twice",
                public_key_to_hex(key)
            )));
        }
    }

    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: config.signer.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let max_validators = config.max_validators.max(config.participants.len());
    let max_message_size = crate::engine::max_message_size(max_validators, config.max_block_bytes);
    let stream_limit = lookup::max_size::<Cups<Sake<crate::keys::PrivateKey>, ChaCha20Poly1305>>();
    if max_message_size > stream_limit {
        return Err(Error::InvalidConfig(format!(
            "blocks of {} bytes need {max_message_size}-byte messages, above the {stream_limit}-byte stream limit",
            config.max_block_bytes
        )));
    }
    let max_peers_per_set =
        // Every validator, every observer, and this node (counted even when it is in no set).
        NonZeroUsize::new(max_validators + p2p.observers.len() + 1).unwrap_or(NonZeroUsize::MIN);
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

    let (mut network, oracle) = lookup::Network::new(context.child("p2p"), cfg);
    let oracle_for_gossip = oracle.clone();
    let mut register = |id| network.register(id, quota(id));
    let channels = Channels {
        votes: register(channel::VOTES),
        certificates: register(channel::CERTIFICATES),
        resolver: register(channel::RESOLVER),
        broadcast: register(channel::BROADCAST),
        backfill: register(channel::BACKFILL),
    };
    let transactions = register(channel::TRANSACTIONS);
    let network = network.start();
    let gossip = match gossip {
        Some(gossip) => context
            .child("gossip")
            .spawn(move |_| run_gossip(gossip, transactions, oracle_for_gossip))
            .boxed(),
        None => futures::future::pending().boxed(),
    };
    info!(public_key = %me, listen = %p2p.listen, observers = p2p.observers.len(), "p2p started");

    let mut manager = oracle.clone();
    let tracker: crate::engine::PeerTracker = Box::new(move |set: &ValidatorSet| {
        let peers = tracked_peers(set, &p2p, &me);
        info!(
            epoch = set.epoch,
            validators = peers.primary.len(),
            observers = peers.secondary.len(),
            "tracking peers"
        );
        let _ = AddressableManager::track(&mut manager, set.epoch, peers);
    });
    let engine = engine.run(
        context.child("engine"),
        channels,
        oracle.clone(),
        oracle,
        tracker,
    );
    futures::select! {
        result = engine.fuse() => result,
        result = network.fuse() => {
            error!("p2p network stopped");
            result.map_err(Error::from)
        }
        result = gossip.fuse() => {
            error!("transaction gossip stopped");
            result.map_err(Error::from).and_then(|r| r)
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
    // Epoch 0's peers are set up by whoever built the simulated network; later epochs track
    // their validators.
    let mut manager = oracle.manager();
    let tracker: crate::engine::PeerTracker = Box::new(move |set: &ValidatorSet| {
        if set.epoch > 0 {
            let keys = set.validators.iter().map(|v| v.key.clone());
            let _ = Manager::track(
                &mut manager,
                set.epoch,
                commonware_utils::ordered::Set::from_iter_dedup(keys),
            );
        }
    });
    engine
        .run(
            context,
            channels,
            oracle.control(me),
            oracle.manager(),
            tracker,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gossip_framing_roundtrips_and_rejects_garbage() {
        let txs = vec![Bytes::from_static(b"abc"), Bytes::from(vec![7u8; 300])];
        let encoded = encode_gossip(&txs).expect("within limits");
        assert_eq!(decode_gossip(&encoded), Some(txs));
        assert_eq!(decode_gossip(&[]), None);
        assert_eq!(decode_gossip(&[0, 0, 0, 5, 1, 2]), None, "truncated");
        assert_eq!(decode_gossip(&[0, 0, 0, 0]), None, "empty transaction");
        assert_eq!(decode_gossip(&[0, 0, 1]), None, "short length");
        assert_eq!(decode_gossip(&vec![0u8; MAX_GOSSIP_BYTES + 1]), None);
        assert!(encode_gossip(&[]).is_none());
        assert!(encode_gossip(&vec![Bytes::from_static(b"x"); MAX_GOSSIP_TXS + 1]).is_none());
        let many = encode_gossip(&vec![Bytes::from_static(b"x"); MAX_GOSSIP_TXS]).expect("fits");
        assert_eq!(decode_gossip(&many).map(|t| t.len()), Some(MAX_GOSSIP_TXS));
    }

    /// The p2p layer preallocates `peers × burst` slots per channel, and as many again in
    /// its router: with the rate as the burst (3,776 slots per peer) an idle devnet held
    /// ~880 MB of empty queues. The bursts keep it to a few hundred slots per peer.
    #[test]
    fn bursts_keep_preallocated_queues_small() {
        let channels = [
            channel::VOTES,
            channel::CERTIFICATES,
            channel::RESOLVER,
            channel::BROADCAST,
            channel::BACKFILL,
            channel::TRANSACTIONS,
        ];
        let slots: u32 = channels.iter().map(|&c| quota(c).burst_size().get()).sum();
        assert!(slots <= 640, "{slots} queue slots per peer");
        // The rates are the same as before: only the instantaneous burst shrank.
        assert_eq!(
            quota(channel::VOTES).replenish_interval(),
            Quota::per_second(NonZeroU32::new(1024).expect("nz")).replenish_interval()
        );
    }
}
