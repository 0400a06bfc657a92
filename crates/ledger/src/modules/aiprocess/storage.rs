//! An AIProcess module's storage: its nodes and (user, node) accounts (slot names listed here),
//! and the account operations Settlement drives through [`super::facade`], run in the
//! process's own context.

use crate::kernel::{Call, ModuleError, list_push, list_remove, revert_msg, revert_with, slot};
use alloy_primitives::{Address, U256};
use lazai_abi::SETTLEMENT_ADDRESS;
use lazai_abi::settlement::IAIProcess as P;
use lazai_abi::settlement::*;

fn now(call: &Call<'_>) -> u64 {
    call.block.timestamp_ms / 1000
}

fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

pub(super) const PAUSED: &[u8] = b"paused";

// ---- AIProcess storage --------------------------------------------------------------------

pub(super) const NODES_N: &[u8] = b"nodes-n";
pub(super) const ACTIVE_N: &[u8] = b"active-n";
pub(super) const ACCOUNTS_N: &[u8] = b"accounts-n";

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
pub(super) fn account_slot(user: Address, node: Address) -> Vec<u8> {
    slot(b"account/", &[user.as_slice(), node.as_slice()])
}
pub(super) fn accounts_at(i: U256) -> Vec<u8> {
    slot(b"accounts/", &[&w(i)])
}
pub(super) fn account_pos(user: Address, node: Address) -> Vec<u8> {
    slot(b"account-pos/", &[user.as_slice(), node.as_slice()])
}
/// The last settled nonce of (user, node); survives `deleteUser`, so old signatures stay dead.
pub(super) fn last_nonce(user: Address, node: Address) -> Vec<u8> {
    slot(b"last-nonce/", &[user.as_slice(), node.as_slice()])
}
/// The iDAO whose TEE policy a process node was listed under.
pub(super) fn process_node_idao(a: Address) -> Vec<u8> {
    slot(b"node-idao/", &[a.as_slice()])
}
pub(super) fn refunds_made(user: Address, node: Address) -> Vec<u8> {
    slot(b"refunds-made/", &[user.as_slice(), node.as_slice()])
}

pub(super) fn load_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
) -> Result<Option<Account>, ModuleError> {
    call.load_abi::<Account>(&account_slot(user, node))
}

pub(super) fn existing_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
) -> Result<Account, ModuleError> {
    load_account(call, user, node)?.ok_or_else(|| revert_with(P::AccountNotExists { user, node }))
}

/// Inside the AIProcess: a new account with `amount` (already paid to the process).
pub(super) fn add_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
    amount: U256,
) -> Result<(), ModuleError> {
    if load_account(call, user, node)?.is_some() {
        return Err(revert_with(P::AccountAlreadyExists { user, node }));
    }
    let account = Account {
        user,
        node,
        nonce: call.load_u256(&last_nonce(user, node))?,
        balance: amount,
        pendingRefund: U256::ZERO,
        refunds: Vec::new(),
    };
    call.store_abi(&account_slot(user, node), &account)?;
    let mut key = user.to_vec();
    key.extend_from_slice(node.as_slice());
    list_push(
        call,
        ACCOUNTS_N,
        accounts_at,
        &account_pos(user, node),
        &key,
    )?;
    call.emit(&P::BalanceUpdated {
        user,
        node,
        amount,
        pendingRefund: U256::ZERO,
    })
}

/// Inside the AIProcess: cancels pending refunds (newest first) up to `cancel`, then adds
/// `amount` (already paid to the process) to the balance.
pub(super) fn deposit_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
    cancel: U256,
    amount: U256,
) -> Result<(), ModuleError> {
    let mut a = existing_account(call, user, node)?;
    let mut left = cancel;
    for r in a.refunds.iter_mut().rev() {
        if left.is_zero() {
            break;
        }
        if r.processed {
            continue;
        }
        let take = left.min(r.amount);
        r.amount -= take;
        left -= take;
    }
    a.refunds.retain(|r| !r.processed && !r.amount.is_zero());
    // `cancel` is at most `pendingRefund` (the caller takes the minimum).
    a.pendingRefund -= cancel - left;
    a.balance = a
        .balance
        .checked_add(amount)
        .ok_or_else(|| revert_msg("balance overflow"))?;
    call.store_abi(&account_slot(user, node), &a)?;
    call.emit(&P::BalanceUpdated {
        user,
        node,
        amount: a.balance,
        pendingRefund: a.pendingRefund,
    })
}

/// Inside the AIProcess: releases the refunds whose lock time passed (paid back to
/// Settlement), then starts a refund of what is left and not being refunded. Returns the
/// amount released.
pub(super) fn process_and_request(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
    lock: u64,
) -> Result<U256, ModuleError> {
    let Some(mut a) = load_account(call, user, node)? else {
        return Err(revert_with(P::AccountNotExists { user, node }));
    };
    let now = now(call);
    let mut released = U256::ZERO;
    for r in a.refunds.iter_mut() {
        let due = u64::try_from(r.createdAt)
            .unwrap_or(u64::MAX)
            .saturating_add(lock);
        if !r.processed && now >= due {
            released += r.amount;
            r.processed = true;
        }
    }
    a.refunds.retain(|r| !r.processed);
    a.balance -= released;
    a.pendingRefund -= released;
    let free = a.balance - a.pendingRefund;
    if !free.is_zero() {
        if a.refunds.len() >= MAX_PENDING_REFUNDS {
            return Err(revert_with(P::TooManyRefunds {
                max: U256::from(MAX_PENDING_REFUNDS),
            }));
        }
        let index = call.load_u256(&refunds_made(user, node))?;
        call.store_u256(&refunds_made(user, node), index + U256::from(1))?;
        a.refunds.push(Refund {
            index,
            amount: free,
            createdAt: U256::from(now),
            processed: false,
        });
        a.pendingRefund += free;
    }
    call.store_abi(&account_slot(user, node), &a)?;
    call.pay(SETTLEMENT_ADDRESS, released)?;
    call.emit(&P::BalanceUpdated {
        user,
        node,
        amount: a.balance,
        pendingRefund: a.pendingRefund,
    })?;
    Ok(released)
}

/// Inside the AIProcess: forgets an empty account.
pub(super) fn delete_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
) -> Result<(), ModuleError> {
    if load_account(call, user, node)?.is_none() {
        return Ok(());
    }
    call.store(&account_slot(user, node), Default::default())?;
    list_remove(
        call,
        ACCOUNTS_N,
        accounts_at,
        &account_pos(user, node),
        |key| {
            let (u, n) = key.split_at(20.min(key.len()));
            account_pos(Address::from_slice(u), Address::from_slice(n))
        },
    )
}
