//! Settlement's storage: its users and settings (slot names listed here).

use crate::kernel::{Call, ModuleError, revert_with, slot};
use alloy_primitives::{Address, U256};
use lazai_abi::settlement::ISettlement as S;
use lazai_abi::settlement::User;

fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

// ---- Settlement storage -------------------------------------------------------------------

pub(super) const PAUSED: &[u8] = b"paused";
pub(super) const LOCK_TIME: &[u8] = b"lock-time";
pub(super) const USERS_N: &[u8] = b"users-n";

pub(super) fn user_slot(a: Address) -> Vec<u8> {
    slot(b"user/", &[a.as_slice()])
}
pub(super) fn users_at(i: U256) -> Vec<u8> {
    slot(b"users/", &[&w(i)])
}
pub(super) fn user_pos(a: Address) -> Vec<u8> {
    slot(b"user-pos/", &[a.as_slice()])
}

pub(super) fn load_user(call: &mut Call<'_>, a: Address) -> Result<User, ModuleError> {
    call.load_abi::<User>(&user_slot(a))?
        .ok_or_else(|| revert_with(S::UserNotExists { user: a }))
}

pub(super) fn store_user(call: &mut Call<'_>, u: &User) -> Result<(), ModuleError> {
    call.store_abi(&user_slot(u.addr), u)
}

/// Inside Settlement: a node of `process` was paid `cost` of `user`'s funds.
pub(super) fn charge_user(
    call: &mut Call<'_>,
    user: Address,
    cost: U256,
) -> Result<(), ModuleError> {
    let mut u = load_user(call, user)?;
    let committed = u.totalBalance - u.availableBalance;
    if committed < cost {
        return Err(revert_with(S::InsufficientBalance { user }));
    }
    u.totalBalance -= cost;
    store_user(call, &u)
}
