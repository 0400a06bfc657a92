//! What other modules read from the VSC. Each function enters the VSC's storage itself: callers
//! never touch its slots.

use super::storage::file_slot;
use crate::kernel::{Call, ModuleError};
use alloy_primitives::U256;
use lazai_abi::VSC_ADDRESS;
use lazai_abi::vsc::{FILE_IN_FLOW, FILE_REJECTED, FILE_VERIFIED, FileStatus};

/// Whether `file` was verified or rejected through a flow, or is in a pending one: the
/// DataRegistry then refuses `requestReward` for it.
pub(crate) fn file_taken(call: &mut Call<'_>, file: U256) -> Result<bool, ModuleError> {
    call.enter(VSC_ADDRESS, |c| {
        let status = c.load_abi::<FileStatus>(&file_slot(file))?;
        Ok(matches!(status, Some(s) if matches!(s.state, FILE_IN_FLOW | FILE_VERIFIED | FILE_REJECTED)))
    })
}
