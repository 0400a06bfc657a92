//! Settlement and the three AIProcess modules (query, inference, training): how users pay AI
//! nodes, with exactly the ABI and addresses of LazAI's contracts (`../shared/lazai-abi.md`).
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

use super::idao::facade as idao_registry;
use crate::kernel::{Call, Module, ModuleError, decode_call, revert_msg, revert_with, slot};
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolValue};

use lazai_abi::settlement::*;
use lazai_abi::{INFERENCE_ADDRESS, QUERY_ADDRESS, SETTLEMENT_ADDRESS, TRAINING_ADDRESS};

use IAIProcess as P;
use ISettlement as S;

fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn now(call: &Call<'_>) -> u64 {
    call.block.timestamp_ms / 1000
}

// ---- Settlement storage -------------------------------------------------------------------

const PAUSED: &[u8] = b"paused";
const LOCK_TIME: &[u8] = b"lock-time";
const USERS_N: &[u8] = b"users-n";

fn user_slot(a: Address) -> Vec<u8> {
    slot(b"user/", &[a.as_slice()])
}
fn users_at(i: U256) -> Vec<u8> {
    slot(b"users/", &[&w(i)])
}
fn user_pos(a: Address) -> Vec<u8> {
    slot(b"user-pos/", &[a.as_slice()])
}

/// Which process: selects the user's node list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Query,
    Inference,
    Training,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Query, Kind::Inference, Kind::Training];

    pub fn address(self) -> Address {
        match self {
            Kind::Query => QUERY_ADDRESS,
            Kind::Inference => INFERENCE_ADDRESS,
            Kind::Training => TRAINING_ADDRESS,
        }
    }

    fn nodes(self, u: &mut User) -> &mut Vec<Address> {
        match self {
            Kind::Query => &mut u.queryNodes,
            Kind::Inference => &mut u.inferenceNodes,
            Kind::Training => &mut u.trainingNodes,
        }
    }
}

fn load_user(call: &mut Call<'_>, a: Address) -> Result<User, ModuleError> {
    call.load_abi::<User>(&user_slot(a))?
        .ok_or_else(|| revert_with(S::UserNotExists { user: a }))
}

fn store_user(call: &mut Call<'_>, u: &User) -> Result<(), ModuleError> {
    call.store_abi(&user_slot(u.addr), u)
}

fn load_address(call: &mut Call<'_>, slot: &[u8]) -> Result<Address, ModuleError> {
    let raw = call.load(slot)?;
    match raw.len() {
        0 => Ok(Address::ZERO),
        20 => Ok(Address::from_slice(&raw)),
        _ => Err(revert_msg("corrupt module storage")),
    }
}

// ---- AIProcess storage --------------------------------------------------------------------

const NODES_N: &[u8] = b"nodes-n";
const ACTIVE_N: &[u8] = b"active-n";
const ACCOUNTS_N: &[u8] = b"accounts-n";

fn node_slot(a: Address) -> Vec<u8> {
    slot(b"node/", &[a.as_slice()])
}
fn nodes_at(i: U256) -> Vec<u8> {
    slot(b"nodes/", &[&w(i)])
}
fn active_at(i: U256) -> Vec<u8> {
    slot(b"active/", &[&w(i)])
}
fn active_pos(a: Address) -> Vec<u8> {
    slot(b"active-pos/", &[a.as_slice()])
}
fn account_slot(user: Address, node: Address) -> Vec<u8> {
    slot(b"account/", &[user.as_slice(), node.as_slice()])
}
fn accounts_at(i: U256) -> Vec<u8> {
    slot(b"accounts/", &[&w(i)])
}
fn account_pos(user: Address, node: Address) -> Vec<u8> {
    slot(b"account-pos/", &[user.as_slice(), node.as_slice()])
}
/// The last settled nonce of (user, node); survives `deleteUser`, so old signatures stay dead.
fn last_nonce(user: Address, node: Address) -> Vec<u8> {
    slot(b"last-nonce/", &[user.as_slice(), node.as_slice()])
}
/// The iDAO whose TEE policy a process node was listed under.
fn process_node_idao(a: Address) -> Vec<u8> {
    slot(b"node-idao/", &[a.as_slice()])
}
fn refunds_made(user: Address, node: Address) -> Vec<u8> {
    slot(b"refunds-made/", &[user.as_slice(), node.as_slice()])
}

fn load_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
) -> Result<Option<Account>, ModuleError> {
    call.load_abi::<Account>(&account_slot(user, node))
}

fn existing_account(
    call: &mut Call<'_>,
    user: Address,
    node: Address,
) -> Result<Account, ModuleError> {
    load_account(call, user, node)?.ok_or_else(|| revert_with(P::AccountNotExists { user, node }))
}

/// Appends `value` (a 20- or 40-byte key) to the list `count`/`at`, remembering its position + 1
/// at `pos`.
fn list_push(
    call: &mut Call<'_>,
    count: &[u8],
    at: fn(U256) -> Vec<u8>,
    pos: &[u8],
    value: &[u8],
) -> Result<(), ModuleError> {
    let n = call.load_u256(count)?;
    call.store(&at(n), value.to_vec().into())?;
    call.store_u256(pos, n + U256::from(1))?;
    call.store_u256(count, n + U256::from(1))
}

/// Removes the entry whose position + 1 is stored at `pos` (swap with the last); `pos_of` gives
/// the position slot of the moved entry from its stored bytes.
fn list_remove(
    call: &mut Call<'_>,
    count: &[u8],
    at: fn(U256) -> Vec<u8>,
    pos: &[u8],
    pos_of: impl Fn(&[u8]) -> Vec<u8>,
) -> Result<(), ModuleError> {
    let p = call.load_u256(pos)?;
    if p.is_zero() {
        return Ok(());
    }
    let i = p - U256::from(1);
    let n = call.load_u256(count)?;
    let last = n - U256::from(1);
    if i != last {
        let moved = call.load(&at(last))?;
        call.store(&at(i), moved.clone())?;
        call.store_u256(&pos_of(&moved), p)?;
    }
    call.store(&at(last), Default::default())?;
    call.store(pos, Default::default())?;
    call.store_u256(count, last)
}

fn lock_time(call: &mut Call<'_>) -> Result<u64, ModuleError> {
    let raw = call.enter(SETTLEMENT_ADDRESS, |c| c.load(LOCK_TIME))?;
    if raw.is_empty() {
        return Ok(DEFAULT_LOCK_TIME);
    }
    Ok(u64::try_from(U256::from_be_slice(&raw)).unwrap_or(u64::MAX))
}

/// Inside the AIProcess: a new account with `amount` (already paid to the process).
fn add_account(
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
fn deposit_account(
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
fn process_and_request(
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
fn delete_account(call: &mut Call<'_>, user: Address, node: Address) -> Result<(), ModuleError> {
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
                call.enter(kind.address(), |c| delete_account(c, me, node))?;
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
        let existing = call.enter(process, |c| load_account(c, me, node))?;
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
            call.enter(process, |c| deposit_account(c, me, node, cancel, transfer))?;
        } else {
            let nodes = kind.nodes(&mut user);
            if nodes.len() >= MAX_USER_NODES {
                return Err(revert_with(S::TooManyNodes {
                    max: U256::from(MAX_USER_NODES),
                }));
            }
            nodes.push(node);
            call.enter(process, |c| add_account(c, me, node, transfer))?;
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
            total += call.enter(process, |c| process_and_request(c, me, node, lock))?;
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

/// Inside Settlement: a node of `process` was paid `cost` of `user`'s funds.
fn charge_user(call: &mut Call<'_>, user: Address, cost: U256) -> Result<(), ModuleError> {
    let mut u = load_user(call, user)?;
    let committed = u.totalBalance - u.availableBalance;
    if committed < cost {
        return Err(revert_with(S::InsufficientBalance { user }));
    }
    u.totalBalance -= cost;
    store_user(call, &u)
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

/// One AIProcess module (query, inference or training), administered by governance.
#[derive(Clone, Debug)]
pub struct AiProcess {
    kind: Kind,
    governance: Address,
}

fn process_node(call: &mut Call<'_>, a: Address) -> Result<P::NodeInfo, ModuleError> {
    Ok(call
        .load_abi::<P::NodeInfo>(&node_slot(a))?
        .unwrap_or(P::NodeInfo {
            nodeAddress: Address::ZERO,
            url: String::new(),
            status: P::NodeStatus::None,
            amount: U256::ZERO,
            jobsCount: U256::ZERO,
            publicKey: String::new(),
        }))
}

/// Whether process node `a` is attested now under the policy of the iDAO it was listed under
/// (attesting later under another iDAO's laxer policy changes nothing).
fn listed_node_attested(call: &mut Call<'_>, a: Address) -> Result<bool, ModuleError> {
    let idao = call.load_u256(&process_node_idao(a))?;
    if idao.is_zero() {
        return Ok(false);
    }
    Ok(idao_registry::attested_key(call, idao, a)?.is_some())
}

impl AiProcess {
    pub fn new(kind: Kind, governance: Address) -> Self {
        Self { kind, governance }
    }

    fn only_governance(&self, call: &Call<'_>) -> Result<(), ModuleError> {
        if call.caller != self.governance {
            return Err(revert_with(P::NotGovernance {
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn list(
        call: &mut Call<'_>,
        count: &[u8],
        at: fn(U256) -> Vec<u8>,
    ) -> Result<Vec<Address>, ModuleError> {
        let n = call.load_u256(count)?;
        let mut out = Vec::new();
        let mut i = U256::ZERO;
        while i < n {
            out.push(load_address(call, &at(i))?);
            i += U256::from(1);
        }
        Ok(out)
    }

    fn info_at(
        call: &mut Call<'_>,
        count: &[u8],
        at: fn(U256) -> Vec<u8>,
        index: U256,
    ) -> Result<P::NodeInfo, ModuleError> {
        if index >= call.load_u256(count)? {
            return Err(revert_msg("index out of bounds"));
        }
        let a = load_address(call, &at(index))?;
        let mut info = process_node(call, a)?;
        info.nodeAddress = a;
        Ok(info)
    }

    fn add_node(&self, call: &mut Call<'_>, c: P::addNodeCall) -> Result<Vec<u8>, ModuleError> {
        self.only_governance(call)?;
        let a = c.nodeAddress;
        if a == Address::ZERO {
            return Err(revert_with(P::InvalidNode {}));
        }
        for s in [&c.url, &c.publicKey] {
            if s.len() > MAX_STRING_BYTES {
                return Err(revert_with(P::StringTooLong {
                    length: U256::from(s.len()),
                    max: U256::from(MAX_STRING_BYTES),
                }));
            }
        }
        let mut info = process_node(call, a)?;
        if info.status == P::NodeStatus::Active {
            return Err(revert_with(P::NodeAlreadyAdded {}));
        }
        // Governance vouches for the iDAO the node attested for; the node is judged by that
        // iDAO's policy from now on.
        let Some(idao) = idao_registry::attested_idao(call, a)? else {
            return Err(revert_with(P::NodeNotAttested { nodeAddress: a }));
        };
        if idao_registry::attested_key(call, idao, a)?.is_none() {
            return Err(revert_with(P::NodeNotAttested { nodeAddress: a }));
        }
        call.store_u256(&process_node_idao(a), idao)?;
        if info.status == P::NodeStatus::None {
            let n = call.load_u256(NODES_N)?;
            if n >= U256::from(MAX_PROCESS_NODES) {
                return Err(revert_with(P::TooManyNodes {
                    max: U256::from(MAX_PROCESS_NODES),
                }));
            }
            call.store(&nodes_at(n), a.to_vec().into())?;
            call.store_u256(NODES_N, n + U256::from(1))?;
        }
        info.nodeAddress = a;
        info.url = c.url;
        info.publicKey = c.publicKey;
        info.status = P::NodeStatus::Active;
        call.store_abi(&node_slot(a), &info)?;
        list_push(call, ACTIVE_N, active_at, &active_pos(a), a.as_slice())?;
        call.emit(&P::NodeAdded { nodeAddress: a })?;
        Ok(Vec::new())
    }

    fn remove_node(&self, call: &mut Call<'_>, a: Address) -> Result<Vec<u8>, ModuleError> {
        self.only_governance(call)?;
        let mut info = process_node(call, a)?;
        if info.status != P::NodeStatus::Active {
            return Err(revert_with(P::NodeNotActive {}));
        }
        info.status = P::NodeStatus::Removed;
        call.store_abi(&node_slot(a), &info)?;
        list_remove(call, ACTIVE_N, active_at, &active_pos(a), |b| {
            active_pos(Address::from_slice(b))
        })?;
        call.emit(&P::NodeRemoved { nodeAddress: a })?;
        Ok(Vec::new())
    }

    fn settlement_fees(call: &mut Call<'_>, s: Settlement) -> Result<Vec<u8>, ModuleError> {
        if call.load_flag(PAUSED)? {
            return Err(revert_with(P::EnforcedPause {}));
        }
        let node = call.caller;
        if process_node(call, node)?.status != P::NodeStatus::Active {
            return Err(revert_with(P::NodeNotActive {}));
        }
        if !listed_node_attested(call, node)? {
            return Err(revert_with(P::NodeNotAttested { nodeAddress: node }));
        }
        let d = s.data;
        if d.id.len() > MAX_STRING_BYTES {
            return Err(revert_with(P::StringTooLong {
                length: U256::from(d.id.len()),
                max: U256::from(MAX_STRING_BYTES),
            }));
        }
        let message = user_request_message(d.nonce, d.user, node);
        if user_request_signer(d.nonce, d.user, node, &d.userSignature) != Some(d.user) {
            return Err(revert_with(P::InvalidUserSignature {
                messageHash: message,
                nonce: d.nonce,
                user: d.user,
                node,
            }));
        }
        let mut a = existing_account(call, d.user, node)?;
        if d.nonce <= a.nonce {
            return Err(revert_with(P::NonceTooLow {}));
        }
        if a.balance < d.cost {
            return Err(revert_with(P::InsufficientBalance { user: d.user, node }));
        }
        let free = a.balance - a.pendingRefund;
        if d.cost > free {
            // Take the rest from pending refunds, newest first.
            let mut rest = d.cost - free;
            a.pendingRefund -= rest;
            for r in a.refunds.iter_mut().rev() {
                if rest.is_zero() {
                    break;
                }
                if r.processed {
                    continue;
                }
                let take = rest.min(r.amount);
                r.amount -= take;
                rest -= take;
            }
            a.refunds.retain(|r| !r.processed && !r.amount.is_zero());
        }
        a.balance -= d.cost;
        a.nonce = d.nonce;
        call.store_u256(&last_nonce(d.user, node), d.nonce)?;
        call.store_abi(&account_slot(d.user, node), &a)?;
        call.enter(SETTLEMENT_ADDRESS, |c| charge_user(c, d.user, d.cost))?;
        call.pay(node, d.cost)?;
        call.emit(&P::BalanceUpdated {
            user: d.user,
            node,
            amount: a.balance,
            pendingRefund: a.pendingRefund,
        })?;
        call.emit(&P::FeesSettled {
            user: d.user,
            node,
            cost: d.cost,
            nonce: d.nonce,
            id: d.id,
        })?;
        Ok(Vec::new())
    }

    fn accounts(call: &mut Call<'_>) -> Result<Vec<Account>, ModuleError> {
        let n = call.load_u256(ACCOUNTS_N)?;
        let mut out = Vec::new();
        let mut i = U256::ZERO;
        while i < n {
            let key = call.load(&accounts_at(i))?;
            if key.len() != 40 {
                return Err(revert_msg("corrupt module storage"));
            }
            let (u, nd) = key.split_at(20);
            out.push(existing_account(
                call,
                Address::from_slice(u),
                Address::from_slice(nd),
            )?);
            i += U256::from(1);
        }
        Ok(out)
    }
}

impl Module for AiProcess {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Query => "AIProcess(query)",
            Kind::Inference => "AIProcess(inference)",
            Kind::Training => "AIProcess(training)",
        }
    }

    fn address(&self) -> Address {
        self.kind.address()
    }

    /// Nothing is payable from a transaction (Settlement moves the funds natively).
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        use P::IAIProcessCalls as C;
        call.non_payable()?;
        let not_settlement = |call: &Call<'_>| {
            Err(revert_with(P::NotSettlement {
                caller: call.caller,
            }))
        };
        match decode_call::<C>(self.name(), input)? {
            C::version(_) => Ok(U256::from(1).abi_encode()),
            C::pause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, true)?;
                Ok(Vec::new())
            }
            C::unpause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, false)?;
                Ok(Vec::new())
            }
            C::paused(_) => Ok(call.load_flag(PAUSED)?.abi_encode()),
            C::nodeList(_) => Ok(Self::list(call, NODES_N, nodes_at)?.abi_encode()),
            C::nodeListAt(c) => Ok(Self::info_at(call, NODES_N, nodes_at, c.index)?.abi_encode()),
            C::nodesCount(_) => Ok(call.load_u256(NODES_N)?.abi_encode()),
            C::activeNodesCount(_) => Ok(call.load_u256(ACTIVE_N)?.abi_encode()),
            C::activeNodeList(_) => Ok(Self::list(call, ACTIVE_N, active_at)?.abi_encode()),
            C::activeNodeListAt(c) => {
                Ok(Self::info_at(call, ACTIVE_N, active_at, c.index)?.abi_encode())
            }
            C::getNode(c) => {
                let mut info = process_node(call, c.nodeAddress)?;
                info.nodeAddress = c.nodeAddress;
                Ok(info.abi_encode())
            }
            C::addNode(c) => self.add_node(call, c),
            C::removeNode(c) => self.remove_node(call, c.nodeAddress),
            C::isNode(c) => Ok((process_node(call, c.nodeAddress)?.status
                == P::NodeStatus::Active)
                .abi_encode()),
            C::settlement(_) => Ok(SETTLEMENT_ADDRESS.abi_encode()),
            C::updateSettlement(c) => {
                self.only_governance(call)?;
                if c.newSettlement != SETTLEMENT_ADDRESS {
                    return Err(revert_with(S::FixedAddress {
                        current: SETTLEMENT_ADDRESS,
                    }));
                }
                Ok(Vec::new())
            }
            C::getAccount(c) => Ok(existing_account(call, c.user, c.node)?.abi_encode()),
            C::getAccountPendingRefund(c) => Ok(existing_account(call, c.user, c.node)?
                .pendingRefund
                .abi_encode()),
            C::getAllAccounts(_) => Ok(Self::accounts(call)?.abi_encode()),
            C::accountExists(c) => Ok(load_account(call, c.user, c.node)?.is_some().abi_encode()),
            C::addAccount(_)
            | C::deleteAccount(_)
            | C::deposit(_)
            | C::request(_)
            | C::process(_) => not_settlement(call),
            C::settlementFees(c) => Self::settlement_fees(call, c.settlement),
        }
    }
}
