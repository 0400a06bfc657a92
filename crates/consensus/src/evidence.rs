//! Equivocation evidence: proof that a validator signed two conflicting consensus messages in
//! one view, carried in blocks so the chain can record it and slash the validator's stake.
//!
//! Simplex reports conflicting votes it sees (two notarizes or two finalizes for different
//! proposals, or a nullify and a finalize, from one signer in one round). The reporter wrapper
//! in `engine.rs` hands each to the [`EvidencePool`]; a proposer includes up to
//! [`MAX_EVIDENCE_PER_BLOCK`] pending items in its block; every verifier checks each item's
//! signatures against the epoch's validator set before voting ([`verify`]); once a block
//! carrying an item is finalized, the item leaves the pool.
//!
//! An item is `key (32) ‖ epoch (8, BE) ‖ view (8, BE) ‖ kind (1) ‖ proof`, where `proof` is
//! the commonware encoding of the conflicting pair. The fixed-size prefix lets the ledger read
//! who equivocated without understanding consensus messages ([`Evidence::parse`]).

use crate::{digest::BlockDigest, epochs::EpochRegistry, scheme::SigningScheme};
use commonware_codec::{Copying, DecodeExt, Encode};
use commonware_consensus::{
    Epochable, Viewable,
    simplex::types::{
        Activity, Attributable, ConflictingFinalize, ConflictingNotarize, NullifyFinalize,
    },
    types::Epoch,
};
use commonware_cryptography::certificate::Scheme as _;
use commonware_parallel::Sequential;
use lazai_types::Bytes;
use parking_lot::Mutex;
use rand_core::CryptoRng;
use std::{collections::BTreeMap, sync::Arc};

/// Most evidence items in one block.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 16;
/// Largest evidence item (two ed25519 votes with their proposals fit well inside).
pub const MAX_EVIDENCE_BYTES: usize = 1024;
/// Most pending items a node keeps (oldest views are dropped first).
const MAX_PENDING: usize = 256;

/// Kind: two notarize votes for different proposals.
pub const CONFLICTING_NOTARIZE: u8 = 0;
/// Kind: two finalize votes for different proposals.
pub const CONFLICTING_FINALIZE: u8 = 1;
/// Kind: a nullify and a finalize vote.
pub const NULLIFY_FINALIZE: u8 = 2;

const PREFIX: usize = 32 + 8 + 8 + 1;

type Act = Activity<SigningScheme, BlockDigest>;

/// Who equivocated, where, and how (the prefix of an evidence item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Evidence {
    /// The equivocating validator's consensus key.
    pub key: [u8; 32],
    pub epoch: u64,
    pub view: u64,
    /// One of [`CONFLICTING_NOTARIZE`], [`CONFLICTING_FINALIZE`], [`NULLIFY_FINALIZE`].
    pub kind: u8,
}

impl Evidence {
    /// Reads an item's prefix without checking its proof (the consensus layer checked it
    /// before the block was voted on). `None` if the item is malformed.
    pub fn parse(item: &[u8]) -> Option<Self> {
        if item.len() <= PREFIX || item.len() > MAX_EVIDENCE_BYTES {
            return None;
        }
        let kind = item[48];
        if kind > NULLIFY_FINALIZE {
            return None;
        }
        Some(Self {
            key: item[..32].try_into().ok()?,
            epoch: u64::from_be_bytes(item[32..40].try_into().ok()?),
            view: u64::from_be_bytes(item[40..48].try_into().ok()?),
            kind,
        })
    }

    fn encode(&self, proof: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(PREFIX + proof.len());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.view.to_be_bytes());
        out.push(self.kind);
        out.extend_from_slice(proof);
        Bytes::from(out)
    }
}

/// The conflicting pair of an activity, if it is one: (kind, signer index, epoch, view, proof).
fn conflict(activity: &Act) -> Option<(u8, usize, Epoch, u64, Vec<u8>)> {
    let (kind, signer, epoch, view, proof) = match activity {
        Activity::ConflictingNotarize(c) => (
            CONFLICTING_NOTARIZE,
            c.signer(),
            c.epoch(),
            c.view(),
            c.encode().to_vec(),
        ),
        Activity::ConflictingFinalize(c) => (
            CONFLICTING_FINALIZE,
            c.signer(),
            c.epoch(),
            c.view(),
            c.encode().to_vec(),
        ),
        Activity::NullifyFinalize(c) => (
            NULLIFY_FINALIZE,
            c.signer(),
            c.epoch(),
            c.view(),
            c.encode().to_vec(),
        ),
        _ => return None,
    };
    Some((kind, usize::from(signer), epoch, view.get(), proof))
}

/// Checks an item: well formed, its proof decodes as the stated kind, both signatures verify
/// under the stated epoch's validator set, and the prefix names the signer, epoch and view
/// the proof carries. Unknown (pruned or future) epochs fail.
pub(crate) fn verify(
    item: &[u8],
    registry: &EpochRegistry,
    rng: &mut impl CryptoRng,
) -> Result<Evidence, &'static str> {
    let evidence = Evidence::parse(item).ok_or("malformed evidence")?;
    let proof = &item[PREFIX..];
    let epoch = Epoch::new(evidence.epoch);
    let scheme = registry
        .scheme_for(epoch)
        .ok_or("evidence from an epoch this node does not know")?;
    let (signer, round_epoch, view, valid) = match evidence.kind {
        CONFLICTING_NOTARIZE => {
            let c = ConflictingNotarize::<SigningScheme, BlockDigest>::decode(Copying(proof))
                .map_err(|_| "undecodable conflicting notarize")?;
            let valid = c.verify(rng, &scheme, &Sequential);
            (c.signer(), c.epoch(), c.view(), valid)
        }
        CONFLICTING_FINALIZE => {
            let c = ConflictingFinalize::<SigningScheme, BlockDigest>::decode(Copying(proof))
                .map_err(|_| "undecodable conflicting finalize")?;
            let valid = c.verify(rng, &scheme, &Sequential);
            (c.signer(), c.epoch(), c.view(), valid)
        }
        _ => {
            let c = NullifyFinalize::<SigningScheme, BlockDigest>::decode(Copying(proof))
                .map_err(|_| "undecodable nullify/finalize")?;
            let valid = c.verify(rng, &scheme, &Sequential);
            (c.signer(), c.epoch(), c.view(), valid)
        }
    };
    if round_epoch != epoch || view.get() != evidence.view {
        return Err("evidence prefix does not match its proof");
    }
    let key = scheme
        .participants()
        .get(usize::from(signer))
        .ok_or("evidence signer outside the validator set")?;
    if key.as_ref() != evidence.key.as_slice() {
        return Err("evidence prefix names another validator");
    }
    if !valid {
        return Err("evidence signatures do not verify");
    }
    Ok(evidence)
}

/// Evidence seen by this node and not yet in a finalized block.
#[derive(Clone, Default)]
pub(crate) struct EvidencePool {
    pending: Arc<Mutex<BTreeMap<Evidence, Bytes>>>,
}

impl std::fmt::Debug for EvidencePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidencePool")
            .field("pending", &self.pending.lock().len())
            .finish()
    }
}

impl EvidencePool {
    /// Records the evidence in `activity` (if it is a conflict), resolving the signer through
    /// the epoch's validator set.
    pub(crate) fn observe(&self, activity: &Act, registry: &EpochRegistry) {
        let Some((kind, signer, epoch, view, proof)) = conflict(activity) else {
            return;
        };
        let Some(scheme) = registry.scheme_for(epoch) else {
            return;
        };
        let Some(key) = scheme.participants().get(signer) else {
            return;
        };
        let Ok(key) = <[u8; 32]>::try_from(key.as_ref()) else {
            return;
        };
        let evidence = Evidence {
            key,
            epoch: epoch.get(),
            view,
            kind,
        };
        let item = evidence.encode(&proof);
        if item.len() > MAX_EVIDENCE_BYTES {
            return;
        }
        tracing::warn!(
            validator = %hex::encode(key),
            epoch = epoch.get(),
            view,
            kind,
            "validator equivocated; evidence queued for the chain"
        );
        let mut pending = self.pending.lock();
        pending.insert(evidence, item);
        while pending.len() > MAX_PENDING {
            pending.pop_first();
        }
    }

    /// Up to [`MAX_EVIDENCE_PER_BLOCK`] pending items for a proposal.
    pub(crate) fn take_for_block(&self) -> Vec<Bytes> {
        self.pending
            .lock()
            .values()
            .take(MAX_EVIDENCE_PER_BLOCK)
            .cloned()
            .collect()
    }

    /// Drops the items a finalized block carried.
    pub(crate) fn included(&self, items: &[Bytes]) {
        if items.is_empty() {
            return;
        }
        let mut pending = self.pending.lock();
        for item in items {
            if let Some(evidence) = Evidence::parse(item) {
                pending.remove(&evidence);
            }
        }
    }
}

/// Reporter wrapper that queues the equivocation evidence simplex reports before forwarding
/// every activity.
#[derive(Clone)]
pub(crate) struct EvidenceReporter<R> {
    pub inner: R,
    pub pool: EvidencePool,
    pub registry: EpochRegistry,
}

impl<R: commonware_consensus::Reporter<Activity = Act>> commonware_consensus::Reporter
    for EvidenceReporter<R>
{
    type Activity = Act;

    fn report(&mut self, activity: Act) -> commonware_actor::Feedback {
        self.pool.observe(&activity, &self.registry);
        self.inner.report(activity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_from_seed;
    use commonware_consensus::{
        simplex::types::{Notarize, Proposal},
        types::{Round, View},
    };
    use commonware_cryptography::Signer;
    use commonware_utils::ordered::Set;
    use lazai_types::B256;
    use std::collections::BTreeMap;

    const NAMESPACE: &[u8] = b"evidence-test";

    fn setup() -> (EpochRegistry, Vec<SigningScheme>) {
        let keys: Vec<_> = (0..4).map(|i| key_from_seed(100 + i)).collect();
        let participants = Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>())
            .expect("distinct");
        let schemes: Vec<_> = keys
            .iter()
            .map(|k| {
                SigningScheme::signer(NAMESPACE, participants.clone(), k.clone()).expect("member")
            })
            .collect();
        let registry = EpochRegistry::default();
        registry.insert(
            Epoch::new(3),
            SigningScheme::verifier(NAMESPACE, participants),
            BTreeMap::new(),
        );
        (registry, schemes)
    }

    fn double_notarize(scheme: &SigningScheme) -> Act {
        let round = Round::new(Epoch::new(3), View::new(9));
        let a = Proposal::new(round, View::new(8), BlockDigest::from(B256::repeat_byte(1)));
        let b = Proposal::new(round, View::new(8), BlockDigest::from(B256::repeat_byte(2)));
        Activity::ConflictingNotarize(ConflictingNotarize::new(
            Notarize::sign(scheme, a).expect("signs"),
            Notarize::sign(scheme, b).expect("signs"),
        ))
    }

    #[test]
    fn verifies_real_equivocation_and_rejects_tampering() {
        let (registry, schemes) = setup();
        let pool = EvidencePool::default();
        pool.observe(&double_notarize(&schemes[2]), &registry);
        let items = pool.take_for_block();
        assert_eq!(items.len(), 1);
        let mut rng = commonware_utils::test_rng();
        let parsed = verify(&items[0], &registry, &mut rng).expect("valid evidence");
        // Participants are sorted, so resolve the signer by its key, not its seed order.
        let signer = key_from_seed(102).public_key();
        assert_eq!(parsed.key.as_slice(), signer.as_ref());
        assert_eq!(
            (parsed.epoch, parsed.view, parsed.kind),
            (3, 9, CONFLICTING_NOTARIZE)
        );

        // Another validator's key in the prefix.
        let mut framed = items[0].to_vec();
        let other = key_from_seed(100).public_key();
        framed[..32].copy_from_slice(other.as_ref());
        assert!(verify(&framed, &registry, &mut rng).is_err());
        // A flipped byte in the last signature.
        let mut forged = items[0].to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(verify(&forged, &registry, &mut rng).is_err());
        // A view that does not match the proof.
        let mut moved = items[0].to_vec();
        moved[47] ^= 1;
        assert!(verify(&moved, &registry, &mut rng).is_err());
        // An epoch this node does not know.
        let mut unknown = items[0].to_vec();
        unknown[39] ^= 1;
        assert!(verify(&unknown, &registry, &mut rng).is_err());
        // Garbage never panics.
        for len in [0, 10, PREFIX, PREFIX + 1, 300] {
            assert!(verify(&vec![0xab; len], &registry, &mut rng).is_err());
        }

        // Once a finalized block carries it, the pool forgets it.
        pool.included(&items);
        assert!(pool.take_for_block().is_empty());
    }
}
