//! What other modules read from VerifiedComputing. Each function enters its storage itself:
//! callers never touch its slots.

use super::storage::{file_jobs, job, node};
use crate::kernel::{Call, ModuleError};
use alloy_primitives::{Address, U256};
use lazai_abi::VERIFIED_COMPUTING_ADDRESS;
use lazai_abi::verified::IVerifiedComputing as V;

/// Whether `a` is an active node (the caller's module context is
/// restored afterwards).
pub(crate) fn is_active_node(call: &mut Call<'_>, a: Address) -> Result<bool, ModuleError> {
    call.enter(VERIFIED_COMPUTING_ADDRESS, |c| {
        Ok(node(c, a)?.status == V::NodeStatus::Active)
    })
}

/// The id of `node`'s submitted job for `file` for which `taken`
/// says no proof was posted yet, if any.
pub(crate) fn open_job_of(
    call: &mut Call<'_>,
    file: U256,
    node_address: Address,
    mut taken: impl FnMut(&mut Call<'_>, U256) -> Result<bool, ModuleError>,
) -> Result<Option<U256>, ModuleError> {
    let ids = call.enter(VERIFIED_COMPUTING_ADDRESS, |c| file_jobs(c, file))?;
    for id in ids {
        let Some(j) = call.enter(VERIFIED_COMPUTING_ADDRESS, |c| job(c, id))? else {
            continue;
        };
        if j.nodeAddress == node_address && j.status == V::JobStatus::Submitted && !taken(call, id)?
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
