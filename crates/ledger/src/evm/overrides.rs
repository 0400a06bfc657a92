//! `eth_call`'s state overrides (geth's format): an account's balance, nonce, code, whole
//! storage (`state`) or some slots (`stateDiff`), set on a scratch copy of the state before the
//! call runs. Balance, nonce, code and slot changes are written into the copy; a whole-storage
//! replacement cannot be (an account's slots are not enumerable in the flat key space), so the
//! EVM reads such an account's storage from the override alone ([`ReplacedStorage`]).

use crate::modules::Modules;
use crate::state::State;
use alloy_primitives::{Address, U256};
use alloy_rpc_types_eth::state::StateOverride;
use std::collections::BTreeMap;

/// Accounts whose whole storage an override replaced: the listed slots, every other one zero.
pub type ReplacedStorage = BTreeMap<Address, BTreeMap<U256, U256>>;

/// No replaced storage (every run that is not an overridden call).
pub(super) static NONE: ReplacedStorage = BTreeMap::new();

/// Writes `overrides` into `state` and returns the storage replacements the EVM must read
/// instead of the state. An override that cannot be honoured is refused, whole.
pub fn apply_overrides(
    state: &mut State,
    modules: &Modules,
    overrides: &StateOverride,
) -> Result<ReplacedStorage, String> {
    // Check everything first, so a refusal leaves the state as it was.
    for (address, o) in overrides.iter() {
        if o.move_precompile_to.is_some() {
            return Err(format!(
                "account {address}: movePrecompileToAddress is not supported"
            ));
        }
        if o.state.is_some() && o.state_diff.is_some() {
            return Err(format!(
                "account {address} has both 'state' and 'stateDiff'"
            ));
        }
        if let Some(module) = modules.get(address)
            && (o.code.is_some() || o.state.is_some() || o.state_diff.is_some())
        {
            return Err(format!(
                "account {address} is the native module {}: its code and storage cannot be overridden",
                module.name()
            ));
        }
    }
    let mut replaced = ReplacedStorage::new();
    for (address, o) in overrides.iter() {
        if o.balance.is_some() || o.nonce.is_some() {
            let mut account = state.account(address);
            if let Some(balance) = o.balance {
                account.balance = balance;
            }
            if let Some(nonce) = o.nonce {
                account.nonce = nonce;
            }
            state.set_account(address, account);
        }
        if let Some(code) = &o.code {
            state.set_code(address, code.clone());
        }
        if let Some(slots) = &o.state {
            let slots = slots
                .iter()
                .map(|(slot, value)| (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0)))
                .collect();
            replaced.insert(*address, slots);
        }
        for (slot, value) in o.state_diff.iter().flatten() {
            state.set_storage(address, slot, U256::from_be_bytes(value.0));
        }
    }
    Ok(replaced)
}
