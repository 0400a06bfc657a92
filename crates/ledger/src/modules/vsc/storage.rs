//! The VSC's slot names (listed in the module docs).

use crate::kernel::slot;
use alloy_primitives::{Address, B256, U256};

pub(super) fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}
pub(super) fn cfg_slot(idao: U256) -> Vec<u8> {
    slot(b"cfg/", &[&w(idao)])
}
pub(super) fn verifiers_slot(idao: U256) -> Vec<u8> {
    slot(b"verifiers/", &[&w(idao)])
}
pub(super) fn verifier_slot(idao: U256, node: Address) -> Vec<u8> {
    slot(b"verifier/", &[&w(idao), node.as_slice()])
}
pub(super) const FLOW_N: &[u8] = b"flow-n";
pub(super) fn flow_slot(id: U256) -> Vec<u8> {
    slot(b"flow/", &[&w(id)])
}
pub(super) fn flow_files_slot(id: U256) -> Vec<u8> {
    slot(b"flow-files/", &[&w(id)])
}
pub(super) fn post_slot(flow: U256, node: Address) -> Vec<u8> {
    slot(b"post/", &[&w(flow), node.as_slice()])
}
pub(super) fn results_slot(flow: U256, root: B256) -> Vec<u8> {
    slot(b"results/", &[&w(flow), root.as_slice()])
}
pub(super) fn votes_slot(flow: U256, root: B256) -> Vec<u8> {
    slot(b"votes/", &[&w(flow), root.as_slice()])
}
pub(super) fn file_slot(file: U256) -> Vec<u8> {
    slot(b"file/", &[&w(file)])
}
pub(super) fn earned_slot(node: Address) -> Vec<u8> {
    slot(b"earned/", &[node.as_slice()])
}
