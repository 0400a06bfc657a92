//! What other modules read from the DataRegistry. Each function enters the registry's storage
//! itself: callers never touch its slots.

use super::storage::{self, FileRecord, file_slot, permission_slot};
use crate::kernel::{Call, ModuleError};
use alloy_primitives::{Address, U256};
use lazai_abi::DATA_REGISTRY_ADDRESS;

/// Whether file `id` exists.
pub(crate) fn file_exists(call: &mut Call<'_>, id: U256) -> Result<bool, ModuleError> {
    call.enter(DATA_REGISTRY_ADDRESS, |c| {
        Ok(!c.load(&file_slot(id))?.is_empty())
    })
}

/// Whether a proof was posted for VerifiedComputing job `job`.
pub(crate) fn job_has_proof(call: &mut Call<'_>, job: U256) -> Result<bool, ModuleError> {
    call.enter(DATA_REGISTRY_ADDRESS, |c| storage::job_has_proof(c, job))
}

/// File `id`'s record, if it exists.
pub(crate) fn file_record(
    call: &mut Call<'_>,
    id: U256,
) -> Result<Option<FileRecord>, ModuleError> {
    call.enter(DATA_REGISTRY_ADDRESS, |c| {
        c.load_abi::<FileRecord>(&file_slot(id))
    })
}

/// Whether file `id` has a permission (a sealed key) for `account`.
pub(crate) fn has_permission(
    call: &mut Call<'_>,
    id: U256,
    account: Address,
) -> Result<bool, ModuleError> {
    call.enter(DATA_REGISTRY_ADDRESS, |c| {
        Ok(!c.load(&permission_slot(id, account))?.is_empty())
    })
}
