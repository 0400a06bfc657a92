//! The DataRegistry's storage: its stored file record and slot names (listed in the module
//! docs).

use crate::kernel::{Call, ModuleError, revert_with, slot};
use alloy_primitives::{Address, U256, keccak256};
use alloy_sol_types::sol;
use lazai_abi::registry::IDataRegistry as R;

sol! {
    /// A stored file. `proofsCount` proofs are at indices 1..=proofsCount; `rewardProofIndex`
    /// is the proof a reward was paid for (0 before).
    #[derive(Debug, PartialEq, Eq)]
    struct FileRecord { address ownerAddress; string url; string hash; uint256 proofsCount; uint256 rewardProofIndex; uint256 rewardAmount; }
}

pub(super) const FILES_N: &[u8] = b"files-n";
pub(super) const PUBLIC_KEY: &[u8] = b"public-key";
pub(super) const KEY_PUBLISHER: &[u8] = b"key-publisher";

pub(super) fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}
pub(super) fn file_slot(id: U256) -> Vec<u8> {
    slot(b"file/", &[&w(id)])
}
pub(super) fn url_slot(url: &str) -> Vec<u8> {
    slot(b"url/", &[keccak256(url.as_bytes()).as_slice()])
}
pub(super) fn permission_slot(id: U256, account: Address) -> Vec<u8> {
    slot(b"perm/", &[&w(id), account.as_slice()])
}
pub(super) fn proof_slot(id: U256, index: U256) -> Vec<u8> {
    slot(b"proof/", &[&w(id), &w(index)])
}
pub(super) fn job_proof_slot(job: U256) -> Vec<u8> {
    slot(b"job-proof/", &[&w(job)])
}

pub(super) fn file(call: &mut Call<'_>, id: U256) -> Result<FileRecord, ModuleError> {
    call.load_abi::<FileRecord>(&file_slot(id))?
        .ok_or_else(|| revert_with(R::FileNotFound {}))
}

/// Whether a proof was posted for VerifiedComputing job `job` (in the registry's context).
pub(super) fn job_has_proof(call: &mut Call<'_>, job: U256) -> Result<bool, ModuleError> {
    Ok(!call.load(&job_proof_slot(job))?.is_empty())
}
