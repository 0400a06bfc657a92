//! What Settlement does on an AIProcess module: the functions LazAI reserves for the Settlement
//! contract, reached natively. Each function enters the process's storage itself, as
//! Settlement (the caller).

use super::Kind;
use super::storage;
use crate::kernel::{Call, ModuleError};
use alloy_primitives::{Address, U256};
use lazai_abi::settlement::Account;

/// The (user, node) account of `kind`, if it exists.
pub(crate) fn load_account(
    call: &mut Call<'_>,
    kind: Kind,
    user: Address,
    node: Address,
) -> Result<Option<Account>, ModuleError> {
    call.enter(kind.address(), |c| storage::load_account(c, user, node))
}

/// A new account with `amount` (already paid to the process).
pub(crate) fn add_account(
    call: &mut Call<'_>,
    kind: Kind,
    user: Address,
    node: Address,
    amount: U256,
) -> Result<(), ModuleError> {
    call.enter(kind.address(), |c| {
        storage::add_account(c, user, node, amount)
    })
}

/// Adds `amount` (already paid to the process) to an existing account, first cancelling up to
/// `cancel` of its pending refunds.
pub(crate) fn deposit_account(
    call: &mut Call<'_>,
    kind: Kind,
    user: Address,
    node: Address,
    cancel: U256,
    amount: U256,
) -> Result<(), ModuleError> {
    call.enter(kind.address(), |c| {
        storage::deposit_account(c, user, node, cancel, amount)
    })
}

/// Returns the account's refunds whose lock passed (paid back to Settlement) and starts a
/// refund of the rest; the amount returned.
pub(crate) fn process_and_request(
    call: &mut Call<'_>,
    kind: Kind,
    user: Address,
    node: Address,
    lock: u64,
) -> Result<U256, ModuleError> {
    call.enter(kind.address(), |c| {
        storage::process_and_request(c, user, node, lock)
    })
}

/// Deletes the (user, node) account, if any.
pub(crate) fn delete_account(
    call: &mut Call<'_>,
    kind: Kind,
    user: Address,
    node: Address,
) -> Result<(), ModuleError> {
    call.enter(kind.address(), |c| storage::delete_account(c, user, node))
}
