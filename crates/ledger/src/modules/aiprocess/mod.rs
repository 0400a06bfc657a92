//! The three AIProcess modules (query, inference, training): users' accounts with AI nodes,
//! funded and refunded by Settlement and charged by the nodes (`settlementFees`). See
//! [`super::settlement`] for the whole flow. The AIProcess functions LazAI reserves for the
//! Settlement contract (`addAccount`, `deposit`, `request`, `process`, `deleteAccount`) are
//! reached by Settlement natively through [`facade`]; called from a transaction they revert
//! with `NotSettlement`.

pub(crate) mod facade;
mod storage;

use super::idao::facade as idao_registry;
use super::settlement::facade as settlement;
use crate::kernel::{
    Call, Module, ModuleError, decode_call, list_push, list_remove, load_address, revert_msg,
    revert_with,
};
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;
use lazai_abi::settlement::*;
use lazai_abi::{INFERENCE_ADDRESS, QUERY_ADDRESS, SETTLEMENT_ADDRESS, TRAINING_ADDRESS};
use storage::*;

use IAIProcess as P;
use ISettlement as S;

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

    pub(crate) fn nodes(self, u: &mut User) -> &mut Vec<Address> {
        match self {
            Kind::Query => &mut u.queryNodes,
            Kind::Inference => &mut u.inferenceNodes,
            Kind::Training => &mut u.trainingNodes,
        }
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
        settlement::charge_user(call, d.user, d.cost)?;
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
