//! What the AIProcess modules do on Settlement. Each function enters Settlement's
//! storage itself.

use super::storage;
use crate::kernel::{Call, ModuleError};
use alloy_primitives::{Address, U256};
use lazai_abi::SETTLEMENT_ADDRESS;

/// A node of a process was paid `cost` of `user`'s committed funds.
pub(crate) fn charge_user(
    call: &mut Call<'_>,
    user: Address,
    cost: U256,
) -> Result<(), ModuleError> {
    call.enter(SETTLEMENT_ADDRESS, |c| storage::charge_user(c, user, cost))
}
