//! Where the state trie keeps things: the key of an account and of a module's storage slot.
//!
//! The state is one Merkle-Patricia trie over 32-byte keys (`keccak256(domain || preimage)`), so
//! anyone holding a block's `stateRoot` can check a proof of an account or a module slot against
//! it (`lazai_getProof`, verified by `lazai_client::proof`) without the node's help.

use alloy_primitives::{Address, B256, keccak256};

/// Domain tags that keep the key spaces of accounts, module storage and chain metadata apart.
pub const DOMAIN_ACCOUNT: u8 = 0;
pub const DOMAIN_MODULE: u8 = 1;
pub const DOMAIN_META: u8 = 2;

/// The key under which an account lives; its value is the RLP list `[nonce, balance]`.
pub fn account_key(address: &Address) -> B256 {
    let mut pre = [0u8; 21];
    pre[0] = DOMAIN_ACCOUNT;
    pre[1..].copy_from_slice(address.as_slice());
    keccak256(pre)
}

/// The key of a module's storage slot: modules name their slots with arbitrary bytes.
pub fn module_key(module: &Address, slot: &[u8]) -> B256 {
    let mut pre = Vec::with_capacity(21 + slot.len());
    pre.push(DOMAIN_MODULE);
    pre.extend_from_slice(module.as_slice());
    pre.extend_from_slice(slot);
    keccak256(pre)
}

/// The key of a chain-wide metadata entry (e.g. `"burned"`).
pub fn meta_key(name: &str) -> B256 {
    let mut pre = vec![DOMAIN_META];
    pre.extend_from_slice(name.as_bytes());
    keccak256(pre)
}
