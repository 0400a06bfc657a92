//! The `txpool_*` namespace (geth's): what waits in the mempool.
//!
//! `pending` transactions can go into the next block (each sender's gap-free run from its
//! finalized nonce); `queued` ones would wait for a missing nonce, which LazChain's pool never
//! holds (it refuses a nonce gap with "nonce too high"), so `queued` is empty. `txpool_status` counts exactly;
//! the listings (`txpool_content`, `txpool_contentFrom`, `txpool_inspect`) name at most
//! [`MAX_LISTED`] transactions, pending first, so a full pool cannot make a reply of hundreds of
//! megabytes.

use crate::api::{ChainApi, PoolView};
use crate::convert::rpc_transaction;
use alloy_primitives::{Address, U64};
use alloy_rpc_types_eth::Transaction as RpcTransaction;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use lazai_ledger::RecoveredTx;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most transactions one listing names.
pub const MAX_LISTED: usize = 4_096;

/// `txpool_status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolStatus {
    pub pending: U64,
    pub queued: U64,
}

/// Transactions by sender (checksummed), then by nonce (a decimal string), as geth keys them.
pub type BySender<T> = BTreeMap<String, BTreeMap<String, T>>;

/// `txpool_content` / `txpool_inspect`.
#[derive(Clone, Debug, Serialize)]
pub struct PoolContent<T> {
    pub pending: BySender<T>,
    pub queued: BySender<T>,
}

/// `txpool_contentFrom`.
#[derive(Clone, Debug, Serialize)]
pub struct PoolContentFrom<T> {
    pub pending: BTreeMap<String, T>,
    pub queued: BTreeMap<String, T>,
}

#[rpc(server, namespace = "txpool")]
pub trait TxPoolApi {
    /// How many transactions are pending and queued.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<PoolStatus>;
    /// The pooled transactions by sender and nonce (at most `MAX_LISTED`).
    #[method(name = "content")]
    fn content(&self) -> RpcResult<PoolContent<RpcTransaction>>;
    /// One sender's pooled transactions by nonce.
    #[method(name = "contentFrom")]
    fn content_from(&self, from: Address) -> RpcResult<PoolContentFrom<RpcTransaction>>;
    /// A one-line summary of each pooled transaction: `to: value wei + gas gas × price wei`.
    #[method(name = "inspect")]
    fn inspect(&self) -> RpcResult<PoolContent<String>>;
}

/// The `txpool_*` handler over a [`ChainApi`].
pub struct TxPoolRpc<A> {
    api: Arc<A>,
}

impl<A: ChainApi> TxPoolRpc<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

fn by_sender<T>(txs: &[Arc<RecoveredTx>], f: impl Fn(&RecoveredTx) -> T) -> BySender<T> {
    let mut out = BySender::new();
    for tx in txs {
        out.entry(tx.sender.to_string())
            .or_default()
            .insert(tx.nonce().to_string(), f(tx));
    }
    out
}

fn summary(tx: &RecoveredTx) -> String {
    let to = match tx.to() {
        Some(to) => to.to_string(),
        None => "contract creation".to_string(),
    };
    format!(
        "{to}: {} wei + {} gas × {} wei",
        tx.value(),
        tx.gas_limit(),
        tx.max_fee_per_gas()
    )
}

fn pooled(tx: &RecoveredTx) -> RpcTransaction {
    rpc_transaction(tx, None)
}

impl<A: ChainApi> TxPoolApiServer for TxPoolRpc<A> {
    fn status(&self) -> RpcResult<PoolStatus> {
        let view: PoolView = self.api.pool(None, 0);
        Ok(PoolStatus {
            pending: U64::from(view.pending),
            queued: U64::from(view.queued),
        })
    }

    fn content(&self) -> RpcResult<PoolContent<RpcTransaction>> {
        let view = self.api.pool(None, MAX_LISTED);
        Ok(PoolContent {
            pending: by_sender(&view.listed_pending, pooled),
            queued: by_sender(&view.listed_queued, pooled),
        })
    }

    fn content_from(&self, from: Address) -> RpcResult<PoolContentFrom<RpcTransaction>> {
        let view = self.api.pool(Some(from), MAX_LISTED);
        let by_nonce = |txs: &[Arc<RecoveredTx>]| {
            txs.iter()
                .map(|tx| (tx.nonce().to_string(), pooled(tx)))
                .collect()
        };
        Ok(PoolContentFrom {
            pending: by_nonce(&view.listed_pending),
            queued: by_nonce(&view.listed_queued),
        })
    }

    fn inspect(&self) -> RpcResult<PoolContent<String>> {
        let view = self.api.pool(None, MAX_LISTED);
        Ok(PoolContent {
            pending: by_sender(&view.listed_pending, summary),
            queued: by_sender(&view.listed_queued, summary),
        })
    }
}
