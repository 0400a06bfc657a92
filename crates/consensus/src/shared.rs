//! What the engine and its epoch orchestrator share: journal and archive tuning, non-zero
//! conversions, and the components both hand to every epoch. A leaf of the engine.

use crate::{epochs::EpochRegistry, evidence::EvidencePool, status::StatusHandle};
use commonware_consensus::types::FixedEpocher;
use commonware_utils::NonZeroDuration;
use std::{num::NonZeroUsize, time::Duration};

/// Views of history simplex and marshal keep behind the finalized tip.
pub(crate) const VIEW_RETENTION: u64 = 256;
/// How many retired epochs' vote journals each epoch change looks for (covers restarts that
/// skipped some changes).
pub(crate) const STALE_JOURNALS_SWEPT: u64 = 16;
/// Write/replay buffer for journals and archives.
pub(crate) const IO_BUFFER: usize = 1 << 16;

pub(crate) fn nz_usize(value: usize) -> NonZeroUsize {
    NonZeroUsize::new(value).unwrap_or(NonZeroUsize::MIN)
}

pub(crate) fn nz_duration(value: Duration) -> NonZeroDuration {
    NonZeroDuration::new(value)
        .unwrap_or_else(|| NonZeroDuration::new_panic(Duration::from_millis(1)))
}

/// What the engine's components share: each epoch's signing scheme and fee recipients,
/// pending equivocation evidence, the epoch boundaries and the status handle.
pub(crate) struct Shared {
    pub(crate) registry: EpochRegistry,
    pub(crate) evidence: EvidencePool,
    pub(crate) epocher: FixedEpocher,
    pub(crate) status: StatusHandle,
}
