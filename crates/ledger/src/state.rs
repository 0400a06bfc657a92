//! World state: one flat, authenticated key-value map over accounts and module storage.
//!
//! Keys are 32-byte hashes (`keccak256(domain || preimage)`), so the map's order is the trie's
//! order and the state root is an Ethereum-style Merkle-Patricia root over every entry. The map
//! is persistent (`imbl`): cloning a state is O(1) and shares structure, which lets the node keep
//! the post-state of every unfinalized block and lets a reverted call be discarded for free.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles};
use std::collections::BTreeMap;

/// Domain tags that keep the key spaces of accounts, module storage and chain metadata apart.
const DOMAIN_ACCOUNT: u8 = 0;
const DOMAIN_MODULE: u8 = 1;
const DOMAIN_META: u8 = 2;

/// An Ethereum account as the ledger keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Account {
    pub nonce: u64,
    pub balance: U256,
}

impl Account {
    fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero()
    }
}

/// The key under which an account lives.
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

fn meta_key(name: &str) -> B256 {
    let mut pre = vec![DOMAIN_META];
    pre.extend_from_slice(name.as_bytes());
    keccak256(pre)
}

/// A write set: every key a block touched and its final value (`None` = deleted).
pub type Changes = BTreeMap<B256, Option<Bytes>>;

/// The whole world state.
#[derive(Clone, Debug, Default)]
pub struct State {
    entries: imbl::OrdMap<B256, Bytes>,
    /// Keys written since the last `take_changes`, so a block's write set is known exactly.
    touched: imbl::OrdSet<B256>,
}

impl State {
    /// Rebuilds a state from persisted entries.
    pub fn from_entries(entries: impl IntoIterator<Item = (B256, Bytes)>) -> Self {
        Self {
            entries: entries.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            touched: imbl::OrdSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Raw read.
    pub fn get(&self, key: &B256) -> Option<&Bytes> {
        self.entries.get(key)
    }

    /// Raw write; an empty value deletes the entry (empty values are never stored).
    pub fn set(&mut self, key: B256, value: Bytes) {
        self.touched.insert(key);
        if value.is_empty() {
            self.entries.remove(&key);
        } else {
            self.entries.insert(key, value);
        }
    }

    /// Applies a write set.
    pub fn apply(&mut self, changes: &Changes) {
        for (k, v) in changes {
            self.set(*k, v.clone().unwrap_or_default());
        }
    }

    pub fn account(&self, address: &Address) -> Account {
        self.get(&account_key(address))
            .and_then(|raw| Account::decode(&mut raw.as_ref()).ok())
            .unwrap_or_default()
    }

    pub fn set_account(&mut self, address: &Address, account: Account) {
        let key = account_key(address);
        if account.is_empty() {
            self.set(key, Bytes::new());
        } else {
            let mut buf = Vec::with_capacity(48);
            account.encode(&mut buf);
            self.set(key, buf.into());
        }
    }

    pub fn balance(&self, address: &Address) -> U256 {
        self.account(address).balance
    }

    pub fn nonce(&self, address: &Address) -> u64 {
        self.account(address).nonce
    }

    /// Reads a module slot; empty when unset.
    pub fn module_get(&self, module: &Address, slot: &[u8]) -> Bytes {
        self.get(&module_key(module, slot))
            .cloned()
            .unwrap_or_default()
    }

    pub fn module_set(&mut self, module: &Address, slot: &[u8], value: Bytes) {
        self.set(module_key(module, slot), value);
    }

    /// Total base fees burned since genesis (kept in state so supply is auditable).
    pub fn burned(&self) -> U256 {
        self.get(&meta_key("burned"))
            .map(|raw| U256::from_be_slice(raw))
            .unwrap_or_default()
    }

    pub fn add_burned(&mut self, amount: U256) {
        let total = self.burned().saturating_add(amount);
        let bytes = total.to_be_bytes_trimmed_vec();
        self.set(meta_key("burned"), bytes.into());
    }

    /// The authenticated commitment over every entry: a Merkle-Patricia root whose leaves are
    /// the hashed keys and the RLP-encoded values. Empty state has Ethereum's empty root.
    pub fn root(&self) -> B256 {
        if self.entries.is_empty() {
            return EMPTY_ROOT_HASH;
        }
        let mut hb = HashBuilder::default();
        let mut leaf = Vec::with_capacity(64);
        for (key, value) in self.entries.iter() {
            leaf.clear();
            value.as_ref().encode(&mut leaf);
            hb.add_leaf(Nibbles::unpack(key), &leaf);
        }
        hb.root()
    }

    /// The write set since the last call: every touched key with its current value.
    pub fn take_changes(&mut self) -> Changes {
        let touched = std::mem::take(&mut self.touched);
        touched
            .into_iter()
            .map(|k| (k, self.entries.get(&k).cloned()))
            .collect()
    }

    /// Iterates every entry in key order (used to persist a full snapshot).
    pub fn iter(&self) -> impl Iterator<Item = (&B256, &Bytes)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_depends_on_every_entry_and_ignores_history() {
        let a = Address::repeat_byte(1);
        let mut s1 = State::default();
        assert_eq!(s1.root(), EMPTY_ROOT_HASH);
        s1.set_account(
            &a,
            Account {
                nonce: 1,
                balance: U256::from(5),
            },
        );
        let r1 = s1.root();
        let mut s2 = s1.clone();
        s2.module_set(&a, b"x", Bytes::from_static(b"1"));
        assert_ne!(s2.root(), r1);
        s2.module_set(&a, b"x", Bytes::new());
        assert_eq!(s2.root(), r1, "deleting restores the same root");
        assert_eq!(s1.account(&a).nonce, 1);
    }

    #[test]
    fn empty_accounts_are_not_stored() {
        let mut s = State::default();
        s.set_account(&Address::ZERO, Account::default());
        assert!(s.is_empty());
    }
}
