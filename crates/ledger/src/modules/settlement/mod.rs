//! Settlement and, with it, the three AIProcess modules (query, inference, training; in
//! [`super::aiprocess`]): how users pay AI nodes, with exactly the ABI and addresses of LazAI's contracts (`../shared/lazai-abi.md`).
//!
//! - **Users** (`Settlement`): `addUser()` (payable) opens a user with what it sent; `deposit()`
//!   adds to it, `withdraw(amount)` takes from what is *available* (not committed to a node).
//!   `totalBalance` is everything the user has in the system; `availableBalance` the part held
//!   by Settlement itself. `deleteUser()` closes a user that holds nothing (LazAI's contract
//!   would forget the funds of a user deleted with money in it; ours refuses: `UserHasFunds`).
//! - **Accounts** (`AIProcess`, one per (user, node)): `depositInference(node, amount)` (and
//!   `depositQuery`/`depositTraining`) moves `amount` of the user's available balance into its
//!   account with that node, first cancelling pending refunds of that account (newest first) up
//!   to `amount`, so only the rest moves. The node may then be paid from it.
//! - **Settling** (`settlementFees`): an active node that is attested now (its TEE evidence
//!   passes the policy of the iDAO it was listed under by `addNode`) settles a request the user signed: EIP-191
//!   over `keccak256(abi.encode(uint256 nonce, address user, address node))` where `node` is
//!   the caller. The nonce must be strictly greater than the account's last one (LazAI's
//!   contract accepts an equal nonce, i.e. a replay); the last nonce of a (user, node) pair
//!   outlives `deleteUser`, so a re-created account does not revive old signatures. The cost comes from the account's balance
//!   not being refunded, then from pending refunds (newest first); the node is paid at once and
//!   the user's `totalBalance` drops by the cost. `SettlementData.id` and the outer `signature`
//!   are carried for the node's records and not interpreted.
//! - **Refunds** (`retrieveInference(nodes)` etc.): for each node, refunds whose lock time
//!   ([`DEFAULT_LOCK_TIME`] seconds, `lockTime()`, governance `updateLockTime`) has passed
//!   return to the user's available balance, then whatever is left in the account and not yet
//!   being refunded starts a new refund. At most [`MAX_PENDING_REFUNDS`] pending refunds per
//!   account.
//!
//! Exact balances (LazAI's deployed `deposit`/`withdraw` update a memory copy: deposits are
//! lost and withdrawals unbounded). Invariants, checked by the tests: Settlement's LAZAI
//! balance = Σ `availableBalance`; each AIProcess's balance = Σ account `balance`; a user's
//! `totalBalance` = `availableBalance` + Σ its account balances.
//!
//! The AIProcess functions LazAI reserves for the Settlement contract (`addAccount`, `deposit`,
//! `request`, `process`, `deleteAccount`) are reached by Settlement natively; called from a
//! transaction they revert with `NotSettlement`.

pub(crate) mod facade;
mod storage;

use super::aiprocess::{Kind, facade as processes};
use crate::kernel::{
    Call, Module, ModuleError, decode_call, list_push, list_remove, load_address, revert_msg,
    revert_with,
};
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::settlement::*;
use lazai_abi::{INFERENCE_ADDRESS, QUERY_ADDRESS, SETTLEMENT_ADDRESS, TRAINING_ADDRESS};
use storage::*;

use ISettlement as S;

fn lock_time(call: &mut Call<'_>) -> Result<u64, ModuleError> {
    let raw = call.load(LOCK_TIME)?;
    if raw.is_empty() {
        return Ok(DEFAULT_LOCK_TIME);
    }
    Ok(u64::try_from(U256::from_be_slice(&raw)).unwrap_or(u64::MAX))
}

/// The Settlement module, administered by the governance address.
#[derive(Clone, Debug)]
pub struct SettlementModule {
    governance: Address,
}

impl SettlementModule {
    pub fn new(governance: Address) -> Self {
        Self { governance }
    }

    fn only_governance(&self, call: &Call<'_>) -> Result<(), ModuleError> {
        if call.caller != self.governance {
            return Err(revert_with(S::NotGovernance {
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn not_paused(call: &mut Call<'_>) -> Result<(), ModuleError> {
        if call.load_flag(PAUSED)? {
            return Err(revert_with(S::EnforcedPause {}));
        }
        Ok(())
    }

    fn add_user(call: &mut Call<'_>) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        let me = call.caller;
        if call.load_abi::<User>(&user_slot(me))?.is_some() {
            return Err(revert_with(S::UserAlreadyExists { user: me }));
        }
        let user = User {
            addr: me,
            availableBalance: call.value,
            totalBalance: call.value,
            queryNodes: Vec::new(),
            inferenceNodes: Vec::new(),
            trainingNodes: Vec::new(),
        };
        store_user(call, &user)?;
        list_push(call, USERS_N, users_at, &user_pos(me), me.as_slice())?;
        call.emit(&S::UserAdded { addr: me })?;
        Ok(Vec::new())
    }

    fn delete_user(call: &mut Call<'_>) -> Result<Vec<u8>, ModuleError> {
        let me = call.caller;
        let mut user = load_user(call, me)?;
        if !user.totalBalance.is_zero() {
            return Err(revert_with(S::UserHasFunds {
                user: me,
                totalBalance: user.totalBalance,
            }));
        }
        for kind in Kind::ALL {
            for node in std::mem::take(kind.nodes(&mut user)) {
                processes::delete_account(call, kind, me, node)?;
            }
        }
        call.store(&user_slot(me), Default::default())?;
        list_remove(call, USERS_N, users_at, &user_pos(me), |a| {
            user_pos(Address::from_slice(a))
        })?;
        call.emit(&S::UserDeleted { addr: me })?;
        Ok(Vec::new())
    }

    fn deposit(call: &mut Call<'_>) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        let mut user = load_user(call, call.caller)?;
        let overflow = || revert_msg("balance overflow");
        user.availableBalance = user
            .availableBalance
            .checked_add(call.value)
            .ok_or_else(overflow)?;
        user.totalBalance = user
            .totalBalance
            .checked_add(call.value)
            .ok_or_else(overflow)?;
        store_user(call, &user)?;
        call.emit(&S::Deposited {
            addr: call.caller,
            amount: call.value,
        })?;
        Ok(Vec::new())
    }

    fn withdraw(call: &mut Call<'_>, amount: U256) -> Result<Vec<u8>, ModuleError> {
        let me = call.caller;
        let mut user = load_user(call, me)?;
        if user.availableBalance < amount {
            return Err(revert_with(S::InsufficientBalance { user: me }));
        }
        user.availableBalance -= amount;
        user.totalBalance -= amount;
        store_user(call, &user)?;
        call.pay(me, amount)?;
        call.emit(&S::Withdrawn { addr: me, amount })?;
        Ok(Vec::new())
    }

    fn deposit_to(
        call: &mut Call<'_>,
        kind: Kind,
        node: Address,
        amount: U256,
    ) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        if node == Address::ZERO {
            return Err(revert_with(S::InvalidNode {}));
        }
        let me = call.caller;
        let mut user = load_user(call, me)?;
        let process = kind.address();
        let existing = processes::load_account(call, kind, me, node)?;
        let (transfer, cancel) = match &existing {
            Some(a) => {
                let cancel = amount.min(a.pendingRefund);
                (amount - cancel, cancel)
            }
            None => (amount, U256::ZERO),
        };
        if user.availableBalance < transfer {
            return Err(revert_with(S::InsufficientBalance { user: me }));
        }
        user.availableBalance -= transfer;
        call.pay(process, transfer)?;
        if existing.is_some() {
            processes::deposit_account(call, kind, me, node, cancel, transfer)?;
        } else {
            let nodes = kind.nodes(&mut user);
            if nodes.len() >= MAX_USER_NODES {
                return Err(revert_with(S::TooManyNodes {
                    max: U256::from(MAX_USER_NODES),
                }));
            }
            nodes.push(node);
            processes::add_account(call, kind, me, node, transfer)?;
        }
        store_user(call, &user)?;
        Ok(Vec::new())
    }

    fn retrieve(
        call: &mut Call<'_>,
        kind: Kind,
        nodes: Vec<Address>,
    ) -> Result<Vec<u8>, ModuleError> {
        if nodes.len() > MAX_RETRIEVE_NODES {
            return Err(revert_with(S::TooManyNodes {
                max: U256::from(MAX_RETRIEVE_NODES),
            }));
        }
        let me = call.caller;
        let mut user = load_user(call, me)?;
        let lock = lock_time(call)?;
        let process = kind.address();
        let mut total = U256::ZERO;
        for node in nodes {
            total += processes::process_and_request(call, kind, me, node, lock)?;
        }
        user.availableBalance += total;
        store_user(call, &user)?;
        call.emit(&S::Retrieved {
            addr: me,
            process,
            amount: total,
        })?;
        Ok(Vec::new())
    }

    fn users(call: &mut Call<'_>) -> Result<Vec<User>, ModuleError> {
        let n = call.load_u256(USERS_N)?;
        let mut out = Vec::new();
        let mut i = U256::ZERO;
        while i < n {
            let a = load_address(call, &users_at(i))?;
            out.push(load_user(call, a)?);
            i += U256::from(1);
        }
        Ok(out)
    }
}

impl Module for SettlementModule {
    fn name(&self) -> &'static str {
        "Settlement"
    }

    fn address(&self) -> Address {
        SETTLEMENT_ADDRESS
    }

    /// Only `addUser` and `deposit` are payable.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        use S::ISettlementCalls as C;
        let payable = [S::addUserCall::SELECTOR, S::depositCall::SELECTOR];
        if !payable.iter().any(|s| input.get(..4) == Some(&s[..])) {
            call.non_payable()?;
        }
        match decode_call::<C>(self.name(), input)? {
            C::version(_) => Ok(U256::from(1).abi_encode()),
            C::query(_) => Ok(QUERY_ADDRESS.abi_encode()),
            C::inference(_) => Ok(INFERENCE_ADDRESS.abi_encode()),
            C::training(_) => Ok(TRAINING_ADDRESS.abi_encode()),
            C::updateQuery(c) => self.fixed(call, c.newQuery, QUERY_ADDRESS),
            C::updateInference(c) => self.fixed(call, c.newInference, INFERENCE_ADDRESS),
            C::updateTraining(c) => self.fixed(call, c.newTraining, TRAINING_ADDRESS),
            C::pause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, true)?;
                call.emit(&S::Paused {
                    account: call.caller,
                })?;
                Ok(Vec::new())
            }
            C::unpause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, false)?;
                call.emit(&S::Unpaused {
                    account: call.caller,
                })?;
                Ok(Vec::new())
            }
            C::paused(_) => Ok(call.load_flag(PAUSED)?.abi_encode()),
            C::getUser(c) => Ok(load_user(call, c.user)?.abi_encode()),
            C::getAllUsers(_) => Ok(Self::users(call)?.abi_encode()),
            C::addUser(_) => Self::add_user(call),
            C::deleteUser(_) => Self::delete_user(call),
            C::deposit(_) => Self::deposit(call),
            C::withdraw(c) => Self::withdraw(call, c.amount),
            C::depositQuery(c) => Self::deposit_to(call, Kind::Query, c.node, c.amount),
            C::depositInference(c) => Self::deposit_to(call, Kind::Inference, c.node, c.amount),
            C::depositTraining(c) => Self::deposit_to(call, Kind::Training, c.node, c.amount),
            C::retrieveQuery(c) => Self::retrieve(call, Kind::Query, c.nodes),
            C::retrieveInference(c) => Self::retrieve(call, Kind::Inference, c.nodes),
            C::retrieveTraining(c) => Self::retrieve(call, Kind::Training, c.nodes),
            C::settlement(_) => Err(revert_with(S::NotAIProcess {
                caller: call.caller,
            })),
            C::lockTime(_) => Ok(U256::from(lock_time(call)?).abi_encode()),
            C::updateLockTime(c) => {
                self.only_governance(call)?;
                call.store_u256(LOCK_TIME, c.seconds_)?;
                call.emit(&S::LockTimeUpdated {
                    lockTime: c.seconds_,
                })?;
                Ok(Vec::new())
            }
        }
    }
}

impl SettlementModule {
    /// The processes are native modules at fixed addresses: `update*` to the same address is a
    /// no-op for governance, anything else reverts.
    fn fixed(
        &self,
        call: &mut Call<'_>,
        new: Address,
        current: Address,
    ) -> Result<Vec<u8>, ModuleError> {
        self.only_governance(call)?;
        if new != current {
            return Err(revert_with(S::FixedAddress { current }));
        }
        Ok(Vec::new())
    }
}
