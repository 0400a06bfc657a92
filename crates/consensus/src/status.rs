//! Live consensus status for the node's RPC: the latest view, the finalized tip, the validator
//! set and which validators we are hearing from.
//!
//! [`StatusHandle`] is fed by two taps placed in the engine's wiring: [`StatusReporter`] sits in
//! front of simplex's reporter and records views, and [`TrackedReceiver`] wraps the vote channel
//! and records which validator each message came from.

use crate::{
    executor::Validator,
    keys::{PublicKey, public_key_to_hex},
};
use commonware_actor::Feedback;
use commonware_consensus::{Reporter, Viewable};
use lazai_types::B256;
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    fmt,
    num::NonZeroUsize,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A validator counts as active if one of its votes arrived within this window.
pub const ACTIVE_PEER_WINDOW: Duration = Duration::from_secs(30);

/// A point-in-time copy of the engine's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// This validator's key (hex).
    pub public_key: String,
    /// The current epoch's validator set (hex, in the chain's ranking order).
    pub participants: Vec<String>,
    /// The current epoch (0 on chains without epochs).
    pub epoch: u64,
    /// Highest consensus view this node has seen certified (notarized, nullified or finalized).
    pub view: u64,
    /// Highest view with a finalization certificate.
    pub finalized_view: u64,
    /// Height of the last block handed to the executor as finalized.
    pub finalized_height: u64,
    /// Hash of that block (`None` before the first finalized block after start).
    pub finalized_hash: Option<B256>,
    /// Other validators whose votes reached us within [`ACTIVE_PEER_WINDOW`].
    pub active_peers: usize,
}

struct Inner {
    public_key: PublicKey,
    validators: Mutex<Vec<Validator>>,
    participants: Mutex<Vec<PublicKey>>,
    epoch: AtomicU64,
    view: AtomicU64,
    finalized_view: AtomicU64,
    finalized_height: AtomicU64,
    finalized_hash: Mutex<Option<B256>>,
    last_seen: Mutex<HashMap<PublicKey, Instant>>,
}

/// Shared, cheap-to-clone status of one validator's engine.
#[derive(Clone)]
pub struct StatusHandle(Arc<Inner>);

impl fmt::Debug for StatusHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl StatusHandle {
    /// A fresh status for `public_key` in `participants`.
    pub fn new(public_key: PublicKey, participants: Vec<PublicKey>) -> Self {
        Self(Arc::new(Inner {
            public_key,
            validators: Mutex::new(Vec::new()),
            participants: Mutex::new(participants),
            epoch: AtomicU64::new(0),
            view: AtomicU64::new(0),
            finalized_view: AtomicU64::new(0),
            finalized_height: AtomicU64::new(0),
            finalized_hash: Mutex::new(None),
            last_seen: Mutex::new(HashMap::new()),
        }))
    }

    /// This validator's key.
    pub fn public_key(&self) -> &PublicKey {
        &self.0.public_key
    }

    /// The current epoch's validator set.
    pub fn participants(&self) -> Vec<PublicKey> {
        self.0.participants.lock().clone()
    }

    /// The current epoch's validators with their stake and fee recipient (empty on chains
    /// without epochs).
    pub fn validators(&self) -> Vec<Validator> {
        self.0.validators.lock().clone()
    }

    /// The epoch consensus currently runs.
    pub fn epoch(&self) -> u64 {
        self.0.epoch.load(Ordering::Relaxed)
    }

    /// Highest certified view seen.
    pub fn view(&self) -> u64 {
        self.0.view.load(Ordering::Relaxed)
    }

    /// Height of the last block the executor finalized through this engine.
    pub fn finalized_height(&self) -> u64 {
        self.0.finalized_height.load(Ordering::Relaxed)
    }

    /// Number of other validators heard from within [`ACTIVE_PEER_WINDOW`].
    pub fn active_peers(&self) -> usize {
        let now = Instant::now();
        self.0
            .last_seen
            .lock()
            .iter()
            .filter(|(key, seen)| {
                **key != self.0.public_key && now.duration_since(**seen) <= ACTIVE_PEER_WINDOW
            })
            .count()
    }

    /// A copy of every field.
    pub fn snapshot(&self) -> Status {
        Status {
            public_key: public_key_to_hex(&self.0.public_key),
            participants: self
                .0
                .participants
                .lock()
                .iter()
                .map(public_key_to_hex)
                .collect(),
            epoch: self.epoch(),
            view: self.view(),
            finalized_view: self.0.finalized_view.load(Ordering::Relaxed),
            finalized_height: self.finalized_height(),
            finalized_hash: *self.0.finalized_hash.lock(),
            active_peers: self.active_peers(),
        }
    }

    pub(crate) fn observe_epoch(
        &self,
        epoch: u64,
        participants: Vec<PublicKey>,
        validators: Vec<Validator>,
    ) {
        *self.0.participants.lock() = participants;
        *self.0.validators.lock() = validators;
        self.0.epoch.store(epoch, Ordering::Relaxed);
        // Views restart at zero in every epoch.
        self.0.view.store(0, Ordering::Relaxed);
        self.0.finalized_view.store(0, Ordering::Relaxed);
    }

    pub(crate) fn observe_view(&self, view: u64) {
        self.0.view.fetch_max(view, Ordering::Relaxed);
    }

    pub(crate) fn observe_finalized_view(&self, view: u64) {
        self.0.finalized_view.fetch_max(view, Ordering::Relaxed);
        self.observe_view(view);
    }

    pub(crate) fn observe_finalized(&self, height: u64, hash: B256) {
        self.0.finalized_height.store(height, Ordering::Relaxed);
        *self.0.finalized_hash.lock() = Some(hash);
    }

    pub(crate) fn observe_finalized_height(&self, height: u64) {
        self.0.finalized_height.store(height, Ordering::Relaxed);
    }

    pub(crate) fn observe_peer(&self, peer: &PublicKey) {
        self.0.last_seen.lock().insert(peer.clone(), Instant::now());
    }
}

/// Reporter wrapper that records certified views before forwarding every activity.
#[derive(Clone)]
pub struct StatusReporter<R> {
    inner: R,
    status: StatusHandle,
}

impl<R> StatusReporter<R> {
    /// Wraps `inner`, recording into `status`.
    pub fn new(inner: R, status: StatusHandle) -> Self {
        Self { inner, status }
    }
}

impl<S, D, R> Reporter for StatusReporter<R>
where
    S: commonware_cryptography::certificate::Scheme,
    D: commonware_cryptography::Digest,
    R: Reporter<Activity = commonware_consensus::simplex::types::Activity<S, D>>,
{
    type Activity = commonware_consensus::simplex::types::Activity<S, D>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        use commonware_consensus::simplex::types::Activity;
        match &activity {
            Activity::Finalization(_) => self.status.observe_finalized_view(activity.view().get()),
            Activity::Notarization(_) | Activity::Nullification(_) | Activity::Certification(_) => {
                self.status.observe_view(activity.view().get())
            }
            _ => {}
        }
        self.inner.report(activity)
    }
}

/// Receiver wrapper that records the sender of every message.
pub struct TrackedReceiver<R> {
    inner: R,
    status: StatusHandle,
}

impl<R> TrackedReceiver<R> {
    /// Wraps `inner`, recording senders into `status`.
    pub fn new(inner: R, status: StatusHandle) -> Self {
        Self { inner, status }
    }
}

impl<R: fmt::Debug> fmt::Debug for TrackedReceiver<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedReceiver")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<R> commonware_p2p::Receiver for TrackedReceiver<R>
where
    R: commonware_p2p::Receiver<PublicKey = PublicKey>,
{
    type Error = R::Error;
    type PublicKey = PublicKey;

    async fn recv(&mut self) -> Result<commonware_p2p::Message<PublicKey>, Self::Error> {
        let message = self.inner.recv().await?;
        self.status.observe_peer(&message.0);
        Ok(message)
    }

    fn capacity(&self) -> NonZeroUsize {
        self.inner.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_from_seed;
    use commonware_cryptography::Signer;

    #[test]
    fn tracks_views_heights_and_peers() {
        let keys: Vec<_> = (0..3).map(|i| key_from_seed(i).public_key()).collect();
        let status = StatusHandle::new(keys[0].clone(), keys.clone());
        status.observe_view(5);
        status.observe_view(3);
        status.observe_finalized_view(4);
        status.observe_finalized(9, B256::repeat_byte(1));
        status.observe_peer(&keys[0]);
        status.observe_peer(&keys[1]);
        let snapshot = status.snapshot();
        assert_eq!(snapshot.view, 5);
        assert_eq!(snapshot.finalized_view, 4);
        assert_eq!(snapshot.finalized_height, 9);
        assert_eq!(snapshot.finalized_hash, Some(B256::repeat_byte(1)));
        assert_eq!(snapshot.active_peers, 1);
        assert_eq!(snapshot.participants.len(), 3);
    }
}
