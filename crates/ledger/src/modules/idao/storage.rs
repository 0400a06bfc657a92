//! The iDAO registry's storage layout: records, unbondings, consensus-key index, evidence and
//! the elected validator set, read and written through [`Slots`] (a module call or the state
//! directly).

use crate::kernel::{Call, ModuleError, revert_msg, revert_with};
use crate::state::State;
use alloy_primitives::{Bytes, U256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::IDAO_REGISTRY_ADDRESS;
use lazai_abi::idao::IIdaoRegistry::{self, Evidence, Idao, Unbonding, Validator};

pub(super) const COUNT_SLOT: &[u8] = b"count";
const KEYED_COUNT_SLOT: &[u8] = b"keyed-count";
pub(crate) const VALIDATORS_SLOT: &[u8] = b"validators";
pub(super) const EVIDENCE_COUNT_SLOT: &[u8] = b"evidence-count";

pub(super) fn slot32(prefix: &[u8], word: &[u8; 32]) -> Vec<u8> {
    let mut slot = Vec::with_capacity(prefix.len() + 32);
    slot.extend_from_slice(prefix);
    slot.extend_from_slice(word);
    slot
}

pub(super) fn idao_slot(id: U256) -> Vec<u8> {
    slot32(b"idao/", &id.to_be_bytes::<32>())
}

pub(super) fn unbonding_slot(id: U256) -> Vec<u8> {
    slot32(b"unbonding/", &id.to_be_bytes::<32>())
}

pub(crate) fn key_slot(key: &[u8; 32]) -> Vec<u8> {
    slot32(b"key/", key)
}

pub(super) fn keyed_slot(index: U256) -> Vec<u8> {
    slot32(b"keyed/", &index.to_be_bytes::<32>())
}

pub(super) fn evidence_slot(index: U256) -> Vec<u8> {
    slot32(b"evidence/", &index.to_be_bytes::<32>())
}

pub(super) fn evidence_seen_slot(key: &[u8; 32], epoch: u64, view: u64) -> Vec<u8> {
    let mut slot = slot32(b"evidence-seen/", key);
    slot.extend_from_slice(&epoch.to_be_bytes());
    slot.extend_from_slice(&view.to_be_bytes());
    slot
}

/// Read and write access to the registry's slots: metered (`Call`, inside a transaction) or
/// direct (`Direct`, for the block-level rules of [`crate::staking`] and genesis, which no
/// transaction pays for).
pub(crate) trait Slots {
    fn get(&mut self, slot: &[u8]) -> Result<Bytes, ModuleError>;
    fn put(&mut self, slot: &[u8], value: Bytes) -> Result<(), ModuleError>;

    fn get_u256(&mut self, slot: &[u8]) -> Result<U256, ModuleError> {
        let raw = self.get(slot)?;
        if raw.len() > 32 {
            return Err(revert_msg("corrupt module storage"));
        }
        Ok(U256::from_be_slice(&raw))
    }

    fn put_u256(&mut self, slot: &[u8], value: U256) -> Result<(), ModuleError> {
        self.put(slot, value.to_be_bytes_trimmed_vec().into())
    }
}

impl Slots for Call<'_> {
    fn get(&mut self, slot: &[u8]) -> Result<Bytes, ModuleError> {
        self.load(slot)
    }
    fn put(&mut self, slot: &[u8], value: Bytes) -> Result<(), ModuleError> {
        self.store(slot, value)
    }
}

/// Unmetered access to the registry's slots of a state.
pub(crate) struct Direct<'a>(pub &'a mut State);

impl Slots for Direct<'_> {
    fn get(&mut self, slot: &[u8]) -> Result<Bytes, ModuleError> {
        Ok(self.0.module_get(&IDAO_REGISTRY_ADDRESS, slot))
    }
    fn put(&mut self, slot: &[u8], value: Bytes) -> Result<(), ModuleError> {
        self.0.module_set(&IDAO_REGISTRY_ADDRESS, slot, value);
        Ok(())
    }
}

pub(super) fn corrupt() -> ModuleError {
    revert_msg("IdaoRegistry: corrupt record")
}

pub(crate) fn load_idao(s: &mut impl Slots, id: U256) -> Result<Idao, ModuleError> {
    let raw = s.get(&idao_slot(id))?;
    if raw.is_empty() {
        return Err(revert_with(IIdaoRegistry::IdaoNotFound { idaoId: id }));
    }
    Idao::abi_decode(&raw).map_err(|_| corrupt())
}

pub(crate) fn store_idao(s: &mut impl Slots, record: &Idao) -> Result<(), ModuleError> {
    s.put(&idao_slot(record.id), Bytes::from(record.abi_encode()))
}

pub(crate) fn load_unbondings(s: &mut impl Slots, id: U256) -> Result<Vec<Unbonding>, ModuleError> {
    let raw = s.get(&unbonding_slot(id))?;
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    <Vec<Unbonding>>::abi_decode(&raw).map_err(|_| corrupt())
}

/// Stores the entries; an empty list deletes the slot.
pub(crate) fn store_unbondings(
    s: &mut impl Slots,
    id: U256,
    entries: &[Unbonding],
) -> Result<(), ModuleError> {
    let value = if entries.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(entries.to_vec().abi_encode())
    };
    s.put(&unbonding_slot(id), value)
}

/// The iDAO holding a consensus key, if any.
pub(crate) fn key_holder(s: &mut impl Slots, key: &[u8; 32]) -> Result<Option<U256>, ModuleError> {
    let raw = s.get(&key_slot(key))?;
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > 32 {
        return Err(corrupt());
    }
    Ok(Some(U256::from_be_slice(&raw)))
}

/// Records that iDAO `id` holds `key` (its record's `consensusKey` is set by the caller): the
/// key → iDAO index, and the list of keyed iDAOs the election scans.
pub(crate) fn index_key(s: &mut impl Slots, id: U256, key: &[u8; 32]) -> Result<(), ModuleError> {
    s.put_u256(&key_slot(key), id)?;
    let n = s.get_u256(KEYED_COUNT_SLOT)?;
    s.put_u256(&keyed_slot(n), id)?;
    s.put_u256(KEYED_COUNT_SLOT, n.saturating_add(U256::from(1)))
}

/// Every iDAO that registered a consensus key, in registration order (unreadable entries,
/// which the registry never writes, are left out).
pub(crate) fn keyed_idaos(s: &mut impl Slots) -> Vec<Idao> {
    let Ok(n) = s.get_u256(KEYED_COUNT_SLOT) else {
        return Vec::new();
    };
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for i in 0..n {
        let Ok(id) = s.get_u256(&keyed_slot(U256::from(i))) else {
            continue;
        };
        if id.is_zero() {
            // Past the last entry of a corrupt count: nothing more to read.
            break;
        }
        if let Ok(record) = load_idao(s, id) {
            out.push(record);
        }
    }
    out
}

pub(crate) fn set_idao_count(s: &mut impl Slots, n: U256) -> Result<(), ModuleError> {
    s.put_u256(COUNT_SLOT, n)
}

/// Whether (key, epoch, view) was already recorded; marks it recorded.
pub(crate) fn mark_evidence_seen(
    s: &mut impl Slots,
    key: &[u8; 32],
    epoch: u64,
    view: u64,
) -> Result<bool, ModuleError> {
    let slot = evidence_seen_slot(key, epoch, view);
    if !s.get(&slot)?.is_empty() {
        return Ok(true);
    }
    s.put(&slot, Bytes::from_static(&[1]))?;
    Ok(false)
}

/// Appends an evidence record; indexes start at 0.
pub(crate) fn push_evidence(s: &mut impl Slots, evidence: &Evidence) -> Result<(), ModuleError> {
    let n = s.get_u256(EVIDENCE_COUNT_SLOT)?;
    s.put(&evidence_slot(n), Bytes::from(evidence.abi_encode()))?;
    s.put_u256(EVIDENCE_COUNT_SLOT, n.saturating_add(U256::from(1)))
}

/// Stores the set elected for `epoch` (the encoding `validatorSet()` returns).
pub(crate) fn store_validator_set(
    s: &mut impl Slots,
    epoch: u64,
    validators: Vec<Validator>,
) -> Result<(), ModuleError> {
    let encoded =
        IIdaoRegistry::validatorSetCall::abi_encode_returns(&IIdaoRegistry::validatorSetReturn {
            epoch: U256::from(epoch),
            validators,
        });
    s.put(VALIDATORS_SLOT, Bytes::from(encoded))
}

/// Decodes the stored validator set: `None` when unset or unreadable.
pub(crate) fn decode_validator_set(raw: &[u8]) -> Option<(u64, Vec<Validator>)> {
    if raw.is_empty() {
        return None;
    }
    let r = IIdaoRegistry::validatorSetCall::abi_decode_returns(raw).ok()?;
    Some((r.epoch.try_into().ok()?, r.validators))
}
