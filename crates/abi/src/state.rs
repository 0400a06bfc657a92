//! Where the state trie keeps things: the key of an account and of a module's storage slot.
//!
//! The state is one Merkle-Patricia trie over 32-byte keys (`keccak256(domain || preimage)`), so
//! anyone holding a block's `stateRoot` can check a proof of an account or a module slot against
//! it (`lazai_getProof`, verified by `lazai_client::proof`) without the node's help.

use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use serde::{Deserialize, Serialize};

/// Domain tags that keep the key spaces of accounts, module storage and chain metadata apart.
pub const DOMAIN_ACCOUNT: u8 = 0;
pub const DOMAIN_MODULE: u8 = 1;
pub const DOMAIN_META: u8 = 2;
pub const DOMAIN_CODE_HASH: u8 = 3;
pub const DOMAIN_CODE: u8 = 4;
pub const DOMAIN_STORAGE: u8 = 5;

/// The key under which an account lives; its value is the RLP list `[nonce, balance]`.
pub fn account_key(address: &Address) -> B256 {
    let mut pre = [0u8; 21];
    pre[0] = DOMAIN_ACCOUNT;
    pre[1..].copy_from_slice(address.as_slice());
    keccak256(pre)
}

/// An account as the state keeps it: the value under [`account_key`] is its RLP list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Account {
    pub nonce: u64,
    pub balance: U256,
}

impl Account {
    /// An empty account is not stored (its key is absent from the trie).
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero()
    }
}

/// What a trie leaf holds for an entry: the RLP string of its bytes.
pub fn leaf_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 3);
    alloy_rlp::Encodable::encode(&value, &mut out);
    out
}

/// The key of a module's storage slot: modules name their slots with arbitrary bytes.
pub fn module_key(module: &Address, slot: &[u8]) -> B256 {
    let mut pre = Vec::with_capacity(21 + slot.len());
    pre.push(DOMAIN_MODULE);
    pre.extend_from_slice(module.as_slice());
    pre.extend_from_slice(slot);
    keccak256(pre)
}

/// The key under which a contract's code hash lives (32 bytes; absent for accounts without code).
pub fn code_hash_key(address: &Address) -> B256 {
    let mut pre = [0u8; 21];
    pre[0] = DOMAIN_CODE_HASH;
    pre[1..].copy_from_slice(address.as_slice());
    keccak256(pre)
}

/// The key under which contract code lives, by its keccak256 hash (shared by identical contracts).
pub fn code_key(code_hash: &B256) -> B256 {
    let mut pre = [0u8; 33];
    pre[0] = DOMAIN_CODE;
    pre[1..].copy_from_slice(code_hash.as_slice());
    keccak256(pre)
}

/// The key of an EVM contract's storage slot; its value is the slot's word with leading zero
/// bytes stripped (a zero word is absent).
pub fn storage_key(address: &Address, slot: &B256) -> B256 {
    let mut pre = [0u8; 53];
    pre[0] = DOMAIN_STORAGE;
    pre[1..21].copy_from_slice(address.as_slice());
    pre[21..].copy_from_slice(slot.as_slice());
    keccak256(pre)
}

/// The key of a chain-wide metadata entry (e.g. `"burned"`).
pub fn meta_key(name: &str) -> B256 {
    let mut pre = vec![DOMAIN_META];
    pre.extend_from_slice(name.as_bytes());
    keccak256(pre)
}

/// `lazai_getProof`'s answer: an account and module slots proven against a block's `stateRoot`.
///
/// The account lives under [`account_key`] with the value `rlp([nonce, balance])`, slot `s` of
/// the module at `address` under [`module_key`] with its raw bytes as the value. Each proof lists
/// the trie nodes from the root to the key, as `eth_getProof` does; a leaf holds the RLP string
/// of the value. An absent entry (an empty account, an unset slot) is proven by a path that ends
/// before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateProof {
    pub block_number: U64,
    pub state_root: B256,
    pub address: Address,
    pub account_key: B256,
    pub account_proof: Vec<Bytes>,
    pub nonce: U64,
    pub balance: U256,
    pub storage_proof: Vec<SlotProof>,
}

/// One module slot of a [`StateProof`]; `value` is absent (`null`) when the slot is unset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotProof {
    pub slot: Bytes,
    pub key: B256,
    pub value: Option<Bytes>,
    pub proof: Vec<Bytes>,
}
