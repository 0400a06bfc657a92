//! The `lazai_*` namespace: node status, bulk transaction submission and state proofs.

use crate::api::{ChainApi, NodeStatus, ProvenEntry};
use crate::blocks::state_block;
use crate::error::{EthError, SERVER_ERROR_CODE, join_error};
use alloy_eips::BlockId;
use alloy_primitives::{Address, B256, Bytes, U64};
use alloy_rlp::Decodable;
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The outcome of one transaction of `lazai_sendRawTransactions`: exactly one of `hash` and
/// `error` is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<B256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SubmitFailure>,
}

/// Why one transaction of a bulk submission was refused; `code` and `message` are those
/// `eth_sendRawTransaction` would have answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitFailure {
    pub code: i32,
    pub message: String,
}

/// The state keys `lazai_getProof` proves for `address` and `slots`: the account's, then one per
/// slot of the module at that address.
pub fn proof_keys(address: &Address, slots: &[Bytes]) -> Vec<B256> {
    let mut keys = vec![lazai_ledger::account_key(address)];
    keys.extend(slots.iter().map(|s| lazai_ledger::module_key(address, s)));
    keys
}

/// `lazai_getProof`'s answer from what [`ChainApi::prove`] returned for [`proof_keys`].
pub fn state_proof(
    address: Address,
    slots: Vec<Bytes>,
    height: u64,
    root: B256,
    mut entries: Vec<ProvenEntry>,
) -> Result<StateProof, EthError> {
    if entries.len() != slots.len() + 1 {
        return Err(EthError::Internal("proof count mismatch".into()));
    }
    let account_entry = entries.remove(0);
    let account = match &account_entry.value {
        Some(raw) => lazai_ledger::Account::decode(&mut raw.as_ref())
            .map_err(|e| EthError::Internal(format!("stored account: {e}")))?,
        None => lazai_ledger::Account::default(),
    };
    Ok(StateProof {
        block_number: U64::from(height),
        state_root: root,
        address,
        account_key: account_entry.key,
        account_proof: account_entry.proof,
        nonce: U64::from(account.nonce),
        balance: account.balance,
        storage_proof: slots
            .into_iter()
            .zip(entries)
            .map(|(slot, e)| SlotProof {
                slot,
                key: e.key,
                value: e.value,
                proof: e.proof,
            })
            .collect(),
    })
}

/// Most module slots one `lazai_getProof` proves.
pub const MAX_PROOF_SLOTS: usize = 64;
/// Longest module slot name `lazai_getProof` accepts.
pub const MAX_PROOF_SLOT_BYTES: usize = 1024;

pub use lazai_abi::state::{SlotProof, StateProof};

/// LazChain's own methods.
#[rpc(server, namespace = "lazai")]
pub trait LazaiApi {
    /// Height, validators, peers and mempool size of this node.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<NodeStatus>;
    /// The node's version string.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// Admits many signed transactions at once, recovering their signatures in parallel.
    ///
    /// Transactions are admitted in the given order, so consecutive nonces of one sender may
    /// share a call. Returns one result per transaction, in input order; a refused
    /// transaction does not stop the others.
    #[method(name = "sendRawTransactions")]
    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> RpcResult<Vec<SubmitResult>>;
    /// Proofs of an account and of slots of the module at that address, against the
    /// `stateRoot` of a finalized block in the node's history window (default: the head).
    #[method(name = "getProof")]
    async fn get_proof(
        &self,
        address: Address,
        slots: Vec<Bytes>,
        block: Option<BlockId>,
    ) -> RpcResult<StateProof>;
}

/// The `lazai_*` handler over a [`ChainApi`].
pub struct LazaiRpc<A> {
    api: Arc<A>,
}

impl<A: ChainApi> LazaiRpc<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

#[async_trait]
impl<A: ChainApi> LazaiApiServer for LazaiRpc<A> {
    fn status(&self) -> RpcResult<NodeStatus> {
        Ok(self.api.status())
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(self.api.client_version())
    }

    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> RpcResult<Vec<SubmitResult>> {
        if raws.is_empty() {
            return Ok(Vec::new());
        }
        let api = self.api.clone();
        let count = raws.len();
        let results = tokio::task::spawn_blocking(move || api.submit_many(raws))
            .await
            .map_err(join_error)?;
        let out: Vec<SubmitResult> = results
            .into_iter()
            .map(|result| match result {
                Ok(hash) => SubmitResult {
                    hash: Some(hash),
                    error: None,
                },
                Err(error) => SubmitResult {
                    hash: None,
                    error: Some(SubmitFailure {
                        code: SERVER_ERROR_CODE,
                        message: error.to_string(),
                    }),
                },
            })
            .collect();
        let admitted = out.iter().filter(|r| r.hash.is_some()).count();
        tracing::debug!(count, admitted, "bulk submission");
        Ok(out)
    }

    async fn get_proof(
        &self,
        address: Address,
        slots: Vec<Bytes>,
        block: Option<BlockId>,
    ) -> RpcResult<StateProof> {
        if slots.len() > MAX_PROOF_SLOTS {
            return Err(EthError::InvalidParams(format!(
                "{} slots; at most {MAX_PROOF_SLOTS} per request",
                slots.len()
            ))
            .into());
        }
        if let Some(long) = slots.iter().find(|s| s.len() > MAX_PROOF_SLOT_BYTES) {
            return Err(EthError::InvalidParams(format!(
                "a slot of {} bytes; at most {MAX_PROOF_SLOT_BYTES}",
                long.len()
            ))
            .into());
        }
        let (at, _) = state_block(&*self.api, block)?;
        let keys = proof_keys(&address, &slots);
        let api = self.api.clone();
        let (height, root, entries) = tokio::task::spawn_blocking(move || api.prove(&keys, at))
            .await
            .map_err(join_error)??;
        Ok(state_proof(address, slots, height, root, entries)?)
    }
}
