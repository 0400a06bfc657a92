//! VerifiedComputing: the registry of verifier nodes and the proof jobs users pay them for,
//! with exactly the ABI of LazAI's contract (`../shared/lazai-abi.md`).
//!
//! - **Nodes.** Trust comes from TEE evidence the chain verifies (see [`super::idao::tee`]). A node
//!   registers itself with `registerAttestedNode(idaoId, url, hpkePublicKey, evidence,
//!   collateral)` for an iDAO governance allowed (`allowNodeIdao`): the evidence must pass
//!   that iDAO's TEE policy and bind the caller's address and HPKE key; calling it again
//!   refreshes the evidence. The governance address (genesis `governance`) may still `addNode`
//!   (LazAI's ABI), but only a node attested now, for the iDAO it attested for. A node may
//!   bind an RSA key (PKCS#1 PEM, 2048–4096 bits) into its evidence too: the record's
//!   `publicKey` is then that PEM, which LazAI's SDK wraps a contribution's password to;
//!   without one it is the attested HPKE key's hex. A node is assigned jobs only while its
//!   current attestation names the keys its record publishes. A node is judged by the policy of the iDAO it
//!   was registered for (`nodeIdao`), whatever it attests for elsewhere. Governance removes
//!   nodes (`removeNode`); a removed node cannot re-register itself, only governance can add
//!   it again, and it keeps what it earned. At most [`MAX_NODES`] nodes are ever registered.
//! - **Jobs.** `requestProof(fileId)` (alias `submitJob`) is payable with at least `nodeFee`,
//!   for a file registered in the DataRegistry, and assigns an active node round-robin: job `n`
//!   (ids from 1) goes to the first node, from `activeNodeList[(n - 1) mod activeNodesCount]`
//!   onwards (wrapping), whose attestation passes its iDAO's current TEE policy at the block
//!   time; a node with stale evidence or revoked by a policy change is skipped. The fee stays in the
//!   module. The assigned node posts its signed proof to the DataRegistry (`addProof`), then
//!   `completeJob(jobId)`: only the assigned node, only once its proof is on chain, and the
//!   job's bid becomes the node's claimable `amount`. A job's owner may `cancelJob` a job that
//!   is still submitted and gets its bid back. `claim()` pays a node everything it earned.
//! - `pause`/`unpause` (governance) stop new jobs, completions and cancellations; claims and
//!   views still work.
//!
//! Every LAZAI that enters (bids) leaves exactly once: to the node on `claim` after completion,
//! or back to the job's owner on `cancelJob`.

pub(crate) mod facade;
mod storage;

use super::idao::facade as idao_registry;
use super::registry::facade as registry;
use crate::kernel::{
    Call, Module, ModuleError, decode_call, list_push, list_remove, load_address, revert_msg,
    revert_with,
};
use crate::rsa_key;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::VERIFIED_COMPUTING_ADDRESS;
use lazai_abi::verified::*;
use storage::*;

use IVerifiedComputing as V;
use V::IVerifiedComputingCalls as Calls;

/// The VerifiedComputing module, administered by the governance address.
#[derive(Clone, Debug)]
pub struct VerifiedComputing {
    governance: Address,
}

impl VerifiedComputing {
    pub fn new(governance: Address) -> Self {
        Self { governance }
    }

    fn only_governance(&self, call: &Call<'_>) -> Result<(), ModuleError> {
        if call.caller != self.governance {
            return Err(revert_with(V::NotGovernance {
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn not_paused(call: &mut Call<'_>) -> Result<(), ModuleError> {
        if call.load_flag(PAUSED)? {
            return Err(revert_with(V::EnforcedPause {}));
        }
        Ok(())
    }

    fn check_string(s: &str) -> Result<(), ModuleError> {
        if s.len() > MAX_NODE_STRING_BYTES {
            return Err(revert_with(V::StringTooLong {
                length: U256::from(s.len()),
                max: U256::from(MAX_NODE_STRING_BYTES),
            }));
        }
        Ok(())
    }

    /// LazAI's `addNode`: `public_key` must be the RSA key the node's evidence binds when it
    /// binds one; without one the attested HPKE key's hex is recorded.
    fn add_node(
        &self,
        call: &mut Call<'_>,
        a: Address,
        url: String,
        public_key: String,
    ) -> Result<Vec<u8>, ModuleError> {
        self.only_governance(call)?;
        if a == Address::ZERO {
            return Err(revert_with(V::InvalidNode {}));
        }
        // Governance vouches for the iDAO the node attested for; the node is judged by that
        // iDAO's policy from now on, and its keys are the ones it attested.
        let Some(idao) = idao_registry::attested_idao(call, a)? else {
            return Err(revert_with(V::NodeNotAttested { nodeAddress: a }));
        };
        let Some((hpke, rsa)) = idao_registry::attested_keys(call, idao, a)? else {
            return Err(revert_with(V::NodeNotAttested { nodeAddress: a }));
        };
        let shown = if rsa.is_zero() {
            hex_key(hpke)
        } else {
            let key = Self::rsa_key(call, &public_key)?;
            if key.hash != rsa {
                return Err(revert_with(V::RsaKeyNotAttested { nodeAddress: a }));
            }
            key.pem
        };
        call.store_u256(&node_idao_slot(a), idao)?;
        call.store(&node_keys_slot(a), keys_digest(hpke, rsa).to_vec().into())?;
        Self::activate(call, a, url, shown, false)
    }

    /// Parses a PKCS#1 PEM RSA key, paying for the parse first.
    fn rsa_key(call: &mut Call<'_>, pem: &str) -> Result<rsa_key::RsaKey, ModuleError> {
        Self::check_string(pem)?;
        call.charge(rsa_key::RSA_KEY_GAS)?;
        rsa_key::parse(pem).map_err(|reason| revert_with(V::InvalidRsaKey { reason }))
    }

    fn register_attested(
        call: &mut Call<'_>,
        c: V::registerAttestedNodeCall,
    ) -> Result<Vec<u8>, ModuleError> {
        Self::check_string(&c.url)?;
        if !call.load_flag(&allowed_idao_slot(c.idaoId))? {
            return Err(revert_with(V::IdaoNotAllowed { idaoId: c.idaoId }));
        }
        if node(call, call.caller)?.status == V::NodeStatus::Removed {
            return Err(revert_with(V::NodeRemovedByGovernance {
                nodeAddress: call.caller,
            }));
        }
        let rsa = if c.rsaPublicKey.is_empty() {
            None
        } else {
            Some(Self::rsa_key(call, &c.rsaPublicKey)?)
        };
        let rsa_hash = rsa.as_ref().map(|k| k.hash);
        let expires = idao_registry::submit_attestation(
            call,
            c.idaoId,
            c.hpkePublicKey,
            rsa_hash,
            &c.evidence,
            &c.collateral,
        )?;
        let shown = match rsa {
            Some(key) => key.pem,
            None => hex_key(c.hpkePublicKey),
        };
        call.store_u256(&node_idao_slot(call.caller), c.idaoId)?;
        call.store(
            &node_keys_slot(call.caller),
            keys_digest(c.hpkePublicKey, rsa_hash.unwrap_or_default())
                .to_vec()
                .into(),
        )?;
        Self::activate(call, call.caller, c.url, shown, true)?;
        Ok(expires.abi_encode())
    }

    /// Makes `a` an active node; with `refresh`, an already active node just gets its URL and
    /// key updated.
    fn activate(
        call: &mut Call<'_>,
        a: Address,
        url: String,
        public_key: String,
        refresh: bool,
    ) -> Result<Vec<u8>, ModuleError> {
        Self::check_string(&url)?;
        Self::check_string(&public_key)?;
        let mut n = node(call, a)?;
        match n.status {
            V::NodeStatus::Active if refresh => {
                n.url = url;
                n.publicKey = public_key;
                call.store_abi(&node_slot(a), &n)?;
                return Ok(Vec::new());
            }
            V::NodeStatus::Active => return Err(revert_with(V::NodeAlreadyAdded {})),
            V::NodeStatus::None => {
                let count = call.load_u256(NODES_N)?;
                if count >= U256::from(MAX_NODES) {
                    return Err(revert_with(V::TooManyNodes {
                        max: U256::from(MAX_NODES),
                    }));
                }
                store_address(call, &nodes_at(count), a)?;
                call.store_u256(NODES_N, count + U256::from(1))?;
            }
            _ => {}
        }
        n.nodeAddress = a;
        n.url = url;
        n.publicKey = public_key;
        n.status = V::NodeStatus::Active;
        call.store_abi(&node_slot(a), &n)?;
        list_push(call, ACTIVE_N, active_at, &active_pos(a), a.as_slice())?;
        call.emit(&V::NodeAdded { nodeAddress: a })?;
        Ok(Vec::new())
    }

    fn remove_node(&self, call: &mut Call<'_>, a: Address) -> Result<Vec<u8>, ModuleError> {
        self.only_governance(call)?;
        let mut n = node(call, a)?;
        if n.status != V::NodeStatus::Active {
            return Err(revert_with(V::NodeNotActive {}));
        }
        n.status = V::NodeStatus::Removed;
        call.store_abi(&node_slot(a), &n)?;
        list_remove(call, ACTIVE_N, active_at, &active_pos(a), |b| {
            active_pos(Address::from_slice(b))
        })?;
        call.emit(&V::NodeRemoved { nodeAddress: a })?;
        Ok(Vec::new())
    }

    fn request_proof(call: &mut Call<'_>, file: U256) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        if !registry::file_exists(call, file)? {
            return Err(revert_with(V::FileNotFound {}));
        }
        let fee = call.load_u256(FEE)?;
        if call.value < fee {
            return Err(revert_with(V::InsufficientFee {}));
        }
        let active = call.load_u256(ACTIVE_N)?;
        if active.is_zero() {
            return Err(revert_with(V::NoActiveNode {}));
        }
        let mut ids = file_jobs(call, file)?;
        if ids.len() >= MAX_JOBS_PER_FILE {
            return Err(revert_with(V::TooManyJobs {
                fileId: file,
                max: U256::from(MAX_JOBS_PER_FILE),
            }));
        }
        let previous = call.load_u256(JOBS_N)?;
        let id = previous + U256::from(1);
        let assigned = Self::next_assignable(call, previous, active)?
            .ok_or_else(|| revert_with(V::NoAttestedNode {}))?;
        let record = V::Job {
            fileId: file,
            bidAmount: call.value,
            status: V::JobStatus::Submitted,
            addedTimestamp: U256::from(call.block.timestamp_ms / 1000),
            ownerAddress: call.caller,
            nodeAddress: assigned,
        };
        call.store_abi(&job_slot(id), &record)?;
        call.store_u256(JOBS_N, id)?;
        ids.push(id);
        call.store_abi(&file_jobs_slot(file), &ids)?;
        let mut n = node(call, assigned)?;
        n.jobsCount += U256::from(1);
        call.store_abi(&node_slot(assigned), &n)?;
        call.emit(&V::JobSubmitted {
            jobId: id,
            fileId: file,
            nodeAddress: assigned,
            bidAmount: call.value,
        })?;
        Ok(Vec::new())
    }

    /// Whether active node `a` is attested now under the policy of the iDAO it was registered
    /// for, with the keys its record publishes.
    fn assignable(call: &mut Call<'_>, a: Address) -> Result<bool, ModuleError> {
        Ok(facade::current_keys(call, a)?.is_some())
    }

    /// The first attested node from `activeNodeList[jobs mod active]` onwards, wrapping.
    fn next_assignable(
        call: &mut Call<'_>,
        jobs: U256,
        active: U256,
    ) -> Result<Option<Address>, ModuleError> {
        let n = usize::try_from(active).unwrap_or(MAX_NODES).min(MAX_NODES);
        let start = usize::try_from(jobs % active).unwrap_or(0);
        for i in 0..n {
            let a = load_address(call, &active_at(U256::from((start + i) % n)))?;
            if Self::assignable(call, a)? {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    fn complete_job(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        let Some(mut j) = job(call, id)? else {
            return Err(revert_with(V::InvalidJobStatus {}));
        };
        if j.nodeAddress != call.caller {
            return Err(revert_with(V::InvalidJobNode {}));
        }
        if j.status != V::JobStatus::Submitted {
            return Err(revert_with(V::InvalidJobStatus {}));
        }
        if !registry::job_has_proof(call, id)? {
            return Err(revert_with(V::NoProofForJob { jobId: id }));
        }
        j.status = V::JobStatus::Completed;
        call.store_abi(&job_slot(id), &j)?;
        let mut n = node(call, j.nodeAddress)?;
        n.amount = n
            .amount
            .checked_add(j.bidAmount)
            .ok_or_else(|| revert_msg("VerifiedComputing: amount overflow"))?;
        call.store_abi(&node_slot(j.nodeAddress), &n)?;
        call.emit(&V::JobComplete {
            attestator: j.nodeAddress,
            jobId: id,
            fileId: j.fileId,
        })?;
        Ok(Vec::new())
    }

    fn cancel_job(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
        Self::not_paused(call)?;
        let Some(mut j) = job(call, id)? else {
            return Err(revert_with(V::InvalidJobStatus {}));
        };
        if j.ownerAddress != call.caller {
            return Err(revert_with(V::NotJobOwner {}));
        }
        if j.status != V::JobStatus::Submitted {
            return Err(revert_with(V::InvalidJobStatus {}));
        }
        j.status = V::JobStatus::Canceled;
        call.store_abi(&job_slot(id), &j)?;
        call.pay(j.ownerAddress, j.bidAmount)?;
        call.emit(&V::JobCanceled { jobId: id })?;
        Ok(Vec::new())
    }

    fn claim(call: &mut Call<'_>) -> Result<Vec<u8>, ModuleError> {
        let a = call.caller;
        let mut n = node(call, a)?;
        if n.amount.is_zero() {
            return Err(revert_with(V::NothingToClaim {}));
        }
        let amount = n.amount;
        n.amount = U256::ZERO;
        call.store_abi(&node_slot(a), &n)?;
        call.pay(a, amount)?;
        call.emit(&V::Claimed {
            nodeAddress: a,
            amount,
        })?;
        Ok(Vec::new())
    }

    fn list(
        call: &mut Call<'_>,
        count: &[u8],
        at: fn(U256) -> Vec<u8>,
    ) -> Result<Vec<Address>, ModuleError> {
        let n = call.load_u256(count)?;
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(MAX_NODES);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(load_address(call, &at(U256::from(i)))?);
        }
        Ok(out)
    }

    fn info_at(
        call: &mut Call<'_>,
        count: &[u8],
        at: fn(U256) -> Vec<u8>,
        i: U256,
    ) -> Result<V::NodeInfo, ModuleError> {
        if i >= call.load_u256(count)? {
            return Err(revert_with(V::InvalidNode {}));
        }
        let a = load_address(call, &at(i))?;
        node(call, a)
    }
}

impl Module for VerifiedComputing {
    fn name(&self) -> &'static str {
        "VerifiedComputing"
    }

    fn address(&self) -> Address {
        VERIFIED_COMPUTING_ADDRESS
    }

    /// Only `requestProof` and `submitJob` are payable.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let payable = [V::requestProofCall::SELECTOR, V::submitJobCall::SELECTOR];
        if !payable.iter().any(|s| input.get(..4) == Some(&s[..])) {
            call.non_payable()?;
        }
        match decode_call::<Calls>(self.name(), input)? {
            Calls::version(_) => Ok(U256::from(1).abi_encode()),
            Calls::nodeFee(_) => Ok(call.load_u256(FEE)?.abi_encode()),
            Calls::updateNodeFee(c) => {
                self.only_governance(call)?;
                call.store_u256(FEE, c.newNodeFee)?;
                call.emit(&V::NodeFeeUpdated {
                    newNodeFee: c.newNodeFee,
                })?;
                Ok(Vec::new())
            }
            Calls::nodeList(_) => Ok(Self::list(call, NODES_N, nodes_at)?.abi_encode()),
            Calls::nodeListAt(c) => {
                Ok(Self::info_at(call, NODES_N, nodes_at, c.index)?.abi_encode())
            }
            Calls::nodesCount(_) => Ok(call.load_u256(NODES_N)?.abi_encode()),
            Calls::activeNodesCount(_) => Ok(call.load_u256(ACTIVE_N)?.abi_encode()),
            Calls::activeNodeList(_) => Ok(Self::list(call, ACTIVE_N, active_at)?.abi_encode()),
            Calls::activeNodeListAt(c) => {
                Ok(Self::info_at(call, ACTIVE_N, active_at, c.index)?.abi_encode())
            }
            Calls::getNode(c) => Ok(node(call, c.nodeAddress)?.abi_encode()),
            Calls::addNode(c) => self.add_node(call, c.nodeAddress, c.url, c.publicKey),
            Calls::registerAttestedNode(c) => Self::register_attested(call, c),
            Calls::isAssignable(c) => Ok((node(call, c.nodeAddress)?.status
                == V::NodeStatus::Active
                && Self::assignable(call, c.nodeAddress)?)
            .abi_encode()),
            Calls::allowNodeIdao(c) => {
                self.only_governance(call)?;
                call.store_flag(&allowed_idao_slot(c.idaoId), c.allowed)?;
                call.emit(&V::NodeIdaoAllowed {
                    idaoId: c.idaoId,
                    allowed: c.allowed,
                })?;
                Ok(Vec::new())
            }
            Calls::nodeIdaoAllowed(c) => {
                Ok(call.load_flag(&allowed_idao_slot(c.idaoId))?.abi_encode())
            }
            Calls::nodeIdao(c) => Ok(call.load_u256(&node_idao_slot(c.nodeAddress))?.abi_encode()),
            Calls::removeNode(c) => self.remove_node(call, c.nodeAddress),
            Calls::isNode(c) => {
                Ok((node(call, c.nodeAddress)?.status == V::NodeStatus::Active).abi_encode())
            }
            Calls::requestProof(c) => Self::request_proof(call, c.fileId),
            Calls::submitJob(c) => Self::request_proof(call, c.fileId),
            Calls::completeJob(c) => Self::complete_job(call, c.jobId),
            Calls::cancelJob(c) => Self::cancel_job(call, c.jobId),
            Calls::fileJobIds(c) => Ok(file_jobs(call, c.fileId)?.abi_encode()),
            Calls::jobsCount(_) => Ok(call.load_u256(JOBS_N)?.abi_encode()),
            Calls::getJob(c) => match job(call, c.jobId)? {
                Some(j) => Ok(j.abi_encode()),
                None => Err(revert_with(V::InvalidJobStatus {})),
            },
            Calls::claim(_) => Self::claim(call),
            Calls::pause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, true)?;
                call.emit(&V::Paused {
                    account: call.caller,
                })?;
                Ok(Vec::new())
            }
            Calls::unpause(_) => {
                self.only_governance(call)?;
                call.store_flag(PAUSED, false)?;
                call.emit(&V::Unpaused {
                    account: call.caller,
                })?;
                Ok(Vec::new())
            }
            Calls::paused(_) => Ok(call.load_flag(PAUSED)?.abi_encode()),
        }
    }
}
