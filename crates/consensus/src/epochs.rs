//! Per-epoch consensus parameters shared by the engine's parts: the signing scheme that verifies
//! an epoch's votes and certificates (marshal reads it through [`Provider`]) and the fee
//! recipients its blocks must credit (the application reads them when verifying).
//!
//! The orchestrator in `engine.rs` inserts an epoch when the finalized chain reaches it and
//! forgets epochs more than [`RETAINED_EPOCHS`] behind.

use crate::{keys::PublicKey, scheme::SigningScheme};
use commonware_consensus::types::Epoch;
use commonware_cryptography::certificate::{Provider, Scoped};
use lazai_types::Address;
use parking_lot::RwLock;
use std::{collections::BTreeMap, sync::Arc};

/// Epochs kept behind the newest one (certificates of a just-retired epoch still arrive).
pub const RETAINED_EPOCHS: u64 = 2;

struct EpochEntry {
    scheme: Arc<SigningScheme>,
    /// Fee recipient of each validator; empty disables the proposer check.
    fee_recipients: BTreeMap<PublicKey, Address>,
}

/// Shared map from epoch to its scheme and fee recipients.
#[derive(Clone, Default)]
pub(crate) struct EpochRegistry {
    inner: Arc<RwLock<BTreeMap<Epoch, EpochEntry>>>,
}

impl std::fmt::Debug for EpochRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let epochs: Vec<u64> = self.inner.read().keys().map(|e| e.get()).collect();
        f.debug_struct("EpochRegistry")
            .field("epochs", &epochs)
            .finish()
    }
}

impl EpochRegistry {
    /// Registers `epoch` and forgets epochs older than [`RETAINED_EPOCHS`] behind it.
    pub(crate) fn insert(
        &self,
        epoch: Epoch,
        scheme: SigningScheme,
        fee_recipients: BTreeMap<PublicKey, Address>,
    ) {
        let mut inner = self.inner.write();
        inner.insert(
            epoch,
            EpochEntry {
                scheme: Arc::new(scheme),
                fee_recipients,
            },
        );
        let floor = Epoch::new(epoch.get().saturating_sub(RETAINED_EPOCHS));
        inner.retain(|e, _| *e >= floor);
    }

    /// The scheme of `epoch`, if it is retained.
    pub(crate) fn scheme_for(&self, epoch: Epoch) -> Option<Arc<SigningScheme>> {
        self.inner
            .read()
            .get(&epoch)
            .map(|entry| entry.scheme.clone())
    }

    /// The fee recipient `leader` must credit in `epoch`: `Ok(None)` when the epoch does not
    /// check proposers, `Err(())` when the epoch or the leader is unknown.
    pub(crate) fn fee_recipient(
        &self,
        epoch: Epoch,
        leader: &PublicKey,
    ) -> Result<Option<Address>, ()> {
        let inner = self.inner.read();
        let entry = inner.get(&epoch).ok_or(())?;
        if entry.fee_recipients.is_empty() {
            return Ok(None);
        }
        entry
            .fee_recipients
            .get(leader)
            .copied()
            .map(Some)
            .ok_or(())
    }
}

impl Provider for EpochRegistry {
    type Scope = Epoch;
    type Scheme = SigningScheme;

    fn scoped(&self, scope: Epoch) -> Option<Scoped<SigningScheme>> {
        self.inner
            .read()
            .get(&scope)
            .map(|entry| Scoped::scheme(entry.scheme.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_from_seed;
    use commonware_cryptography::Signer;
    use commonware_utils::ordered::Set;

    fn scheme(n: u64) -> SigningScheme {
        let keys: Vec<_> = (0..n).map(|i| key_from_seed(i).public_key()).collect();
        SigningScheme::verifier(b"test", Set::try_from(keys).expect("distinct"))
    }

    #[test]
    fn keeps_recent_epochs_and_fee_recipients() {
        let registry = EpochRegistry::default();
        let leader = key_from_seed(0).public_key();
        for e in 0..5 {
            let mut fees = BTreeMap::new();
            fees.insert(leader.clone(), Address::with_last_byte(e as u8));
            registry.insert(Epoch::new(e), scheme(3), fees);
        }
        assert!(registry.scoped(Epoch::new(1)).is_none());
        assert!(registry.scoped(Epoch::new(2)).is_some());
        assert!(registry.scoped(Epoch::new(4)).is_some());
        assert_eq!(
            registry.fee_recipient(Epoch::new(3), &leader),
            Ok(Some(Address::with_last_byte(3)))
        );
        let stranger = key_from_seed(9).public_key();
        assert_eq!(registry.fee_recipient(Epoch::new(3), &stranger), Err(()));
        assert_eq!(registry.fee_recipient(Epoch::new(7), &leader), Err(()));
        registry.insert(Epoch::new(5), scheme(3), BTreeMap::new());
        assert_eq!(registry.fee_recipient(Epoch::new(5), &stranger), Ok(None));
    }
}
