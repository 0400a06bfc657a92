//! What other modules read from VerifiedComputing. Each function enters its storage itself:
//! callers never touch its slots.

use super::storage::{
    ACTIVE_N, active_at, file_jobs, job, keys_digest, node, node_idao_slot, node_keys_slot,
};
use crate::kernel::{Call, ModuleError, load_address};
use crate::modules::idao::facade as idao_registry;
use alloy_primitives::{Address, B256, U256};
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

/// The attested keys of active node `a` — `(hpke, rsaKeyHash)` — when its attestation passes
/// the policy of the iDAO it was registered for now and still names the keys its record
/// publishes. Runs in VerifiedComputing's context.
pub(super) fn current_keys(
    call: &mut Call<'_>,
    a: Address,
) -> Result<Option<(B256, B256)>, ModuleError> {
    let idao = call.load_u256(&node_idao_slot(a))?;
    if idao.is_zero() {
        return Ok(None);
    }
    let Some((hpke, rsa)) = idao_registry::attested_keys(call, idao, a)? else {
        return Ok(None);
    };
    let published = call.load(&node_keys_slot(a))?;
    Ok((published.as_ref() == keys_digest(hpke, rsa).as_slice()).then_some((hpke, rsa)))
}

/// Whether an active node attested now publishes the RSA key `rsa_key_hash` (see
/// `lazai_attest::binding::rsa_key_hash`).
pub(crate) fn rsa_key_attested(
    call: &mut Call<'_>,
    rsa_key_hash: B256,
) -> Result<bool, ModuleError> {
    call.enter(VERIFIED_COMPUTING_ADDRESS, |c| {
        let n = c.load_u256(ACTIVE_N)?;
        let n = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(lazai_abi::verified::MAX_NODES);
        for i in 0..n {
            let a = load_address(c, &active_at(U256::from(i)))?;
            if matches!(current_keys(c, a)?, Some((_, rsa)) if rsa == rsa_key_hash) {
                return Ok(true);
            }
        }
        Ok(false)
    })
}
