//! What other modules read from and do on the iDAO registry (and its TEE part). Each function
//! enters the registry's storage itself: callers never touch its slots.

use super::storage::load_idao;
use super::tee::{current, submit};
use crate::kernel::{Call, ModuleError};
use alloy_primitives::{Address, B256, U256};
use lazai_abi::IDAO_REGISTRY_ADDRESS;
use lazai_abi::idao::IIdaoRegistry::Idao;

/// The record of iDAO `id`; reverts `IdaoNotFound` when there is none.
pub(crate) fn idao(call: &mut Call<'_>, id: U256) -> Result<Idao, ModuleError> {
    call.enter(IDAO_REGISTRY_ADDRESS, |c| load_idao(c, id))
}

/// The HPKE key `node` attested for `idao`, when it is attested now.
pub(crate) fn attested_key(
    call: &mut Call<'_>,
    idao: U256,
    node: Address,
) -> Result<Option<B256>, ModuleError> {
    call.enter(IDAO_REGISTRY_ADDRESS, |c| {
        Ok(current(c, idao, node)?.map(|(_, a)| a.hpkePublicKey))
    })
}

/// The iDAO `node` last attested for, if any.
pub(crate) fn attested_idao(
    call: &mut Call<'_>,
    node: Address,
) -> Result<Option<U256>, ModuleError> {
    let id = call.enter(IDAO_REGISTRY_ADDRESS, |c| {
        c.load_u256(&super::tee::node_slot(node))
    })?;
    Ok((!id.is_zero()).then_some(id))
}

/// Records evidence for the calling module's caller (see [`submit`]); `rsa_key_hash` names
/// the RSA key the evidence binds too, if any.
pub(crate) fn submit_attestation(
    call: &mut Call<'_>,
    idao: U256,
    hpke: B256,
    rsa_key_hash: Option<B256>,
    evidence: &[u8],
    collateral: &[u8],
) -> Result<u64, ModuleError> {
    let node = call.caller;
    call.enter(IDAO_REGISTRY_ADDRESS, |c| {
        submit(c, node, idao, hpke, rsa_key_hash, evidence, collateral)
    })
}

/// The HPKE key and RSA key hash (zero: none) of `node`'s attestation for `idao`, if it
/// passes the iDAO's current policy now.
pub(crate) fn attested_keys(
    call: &mut Call<'_>,
    idao: U256,
    node: Address,
) -> Result<Option<(B256, B256)>, ModuleError> {
    call.enter(IDAO_REGISTRY_ADDRESS, |c| {
        Ok(current(c, idao, node)?.map(|(_, a)| (a.hpkePublicKey, a.rsaKeyHash)))
    })
}

/// `node`'s attestation for `idao`, if it passes the iDAO's current policy now.
pub(crate) fn attestation_now(
    call: &mut Call<'_>,
    idao: U256,
    node: Address,
) -> Result<Option<lazai_abi::Attestation>, ModuleError> {
    call.enter(IDAO_REGISTRY_ADDRESS, |c| {
        Ok(current(c, idao, node)?.map(|(_, a)| a))
    })
}
