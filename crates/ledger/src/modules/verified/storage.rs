//! VerifiedComputing's slot names (listed in the module docs) and record loaders.

use crate::kernel::{Call, ModuleError, slot};
use alloy_primitives::{Address, B256, U256, keccak256};
use lazai_abi::verified::IVerifiedComputing as V;

pub(super) const FEE: &[u8] = b"fee";
pub(super) const PAUSED: &[u8] = b"paused";
pub(super) const NODES_N: &[u8] = b"nodes-n";
pub(super) const ACTIVE_N: &[u8] = b"active-n";
pub(super) const JOBS_N: &[u8] = b"jobs-n";

pub(super) fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}
pub(super) fn node_slot(a: Address) -> Vec<u8> {
    slot(b"node/", &[a.as_slice()])
}
pub(super) fn nodes_at(i: U256) -> Vec<u8> {
    slot(b"nodes/", &[&w(i)])
}
pub(super) fn active_at(i: U256) -> Vec<u8> {
    slot(b"active/", &[&w(i)])
}
pub(super) fn active_pos(a: Address) -> Vec<u8> {
    slot(b"active-pos/", &[a.as_slice()])
}
pub(super) fn node_idao_slot(a: Address) -> Vec<u8> {
    slot(b"node-idao/", &[a.as_slice()])
}
pub(super) fn allowed_idao_slot(idao: U256) -> Vec<u8> {
    slot(b"allowed-idao/", &[&w(idao)])
}
pub(super) fn node_keys_slot(a: Address) -> Vec<u8> {
    slot(b"node-keys/", &[a.as_slice()])
}
pub(super) fn job_slot(id: U256) -> Vec<u8> {
    slot(b"job/", &[&w(id)])
}
pub(super) fn file_jobs_slot(file: U256) -> Vec<u8> {
    slot(b"file-jobs/", &[&w(file)])
}

/// What a node record's keys are checked against: `keccak256(hpke ‖ rsaKeyHash)` of the
/// attestation it registered with (`rsaKeyHash` zero without an RSA key).
pub(super) fn keys_digest(hpke: B256, rsa_key_hash: B256) -> B256 {
    keccak256([hpke.as_slice(), rsa_key_hash.as_slice()].concat())
}

/// How a node record shows an HPKE key: `0x` and 64 hex digits.
pub(super) fn hex_key(key: B256) -> String {
    format!("0x{}", alloy_primitives::hex::encode(key))
}

pub(super) fn store_address(
    call: &mut Call<'_>,
    slot: &[u8],
    a: Address,
) -> Result<(), ModuleError> {
    call.store(slot, a.to_vec().into())
}

/// A node's record; an unknown node reads as status `None`.
pub(super) fn node(call: &mut Call<'_>, a: Address) -> Result<V::NodeInfo, ModuleError> {
    Ok(call
        .load_abi::<V::NodeInfo>(&node_slot(a))?
        .unwrap_or(V::NodeInfo {
            nodeAddress: Address::ZERO,
            url: String::new(),
            status: V::NodeStatus::None,
            amount: U256::ZERO,
            jobsCount: U256::ZERO,
            publicKey: String::new(),
        }))
}

pub(super) fn job(call: &mut Call<'_>, id: U256) -> Result<Option<V::Job>, ModuleError> {
    call.load_abi::<V::Job>(&job_slot(id))
}

pub(super) fn file_jobs(call: &mut Call<'_>, file: U256) -> Result<Vec<U256>, ModuleError> {
    Ok(call
        .load_abi::<Vec<U256>>(&file_jobs_slot(file))?
        .unwrap_or_default())
}
