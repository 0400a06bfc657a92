//! `eth_subscribe` / `eth_unsubscribe` over WebSocket: `newHeads` and `logs`, driven by the
//! node's stream of finalized blocks ([`ChainApi::subscribe`]), and `newPendingTransactions`,
//! driven by the mempool's admissions ([`ChainApi::pending_transactions`]). Subscription ids
//! are random hex strings, as geth sends them (see [`crate::ids`]).
//!
//! `newHeads` sends each finalized header; `logs` sends each matching log of each finalized
//! block as its own notification (the filter's `address` and `topics` apply, its block range
//! does not). Since only finalized blocks are announced, no log is ever sent with
//! `removed: true`. A subscriber that falls behind the node's broadcast buffer misses the
//! skipped blocks (a warning is logged) and continues with the newest ones.
//!
//! `newPendingTransactions` sends each admitted transaction's hash, or with the parameter
//! `true` the whole transaction (as `eth_getTransactionByHash` returns it) while it is still
//! known.

use crate::api::{ChainApi, FinalizedBlock};
use crate::blocks::transaction_by_hash;
use crate::convert::rpc_header;
use crate::error::INVALID_PARAMS_CODE;
use crate::logs::block_logs;
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::pubsub::{Params, SubscriptionKind};
use alloy_rpc_types_eth::{Filter, Log as RpcLog};
use jsonrpsee::core::{SubscriptionResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionSink};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Ethereum's publish/subscribe methods.
#[rpc(server, namespace = "eth")]
pub trait EthPubSubApi {
    /// Subscribes to `newHeads`, `logs` (with an optional filter) or `newPendingTransactions`
    /// (hashes, or whole transactions with `true`).
    #[subscription(
        name = "subscribe" => "subscription",
        unsubscribe = "unsubscribe",
        item = serde_json::Value
    )]
    async fn subscribe(&self, kind: SubscriptionKind, params: Option<Params>)
    -> SubscriptionResult;
}

/// What one subscription streams.
enum Stream {
    Heads,
    Logs(Box<Filter>),
    /// Pending transactions, whole (`true`) or as hashes.
    Pending(bool),
}

/// The subscription handler over a [`ChainApi`].
pub struct EthPubSub<A> {
    api: Arc<A>,
}

impl<A: ChainApi> EthPubSub<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }

    /// Streams admitted transactions (hashes, or whole with `full`) until the subscriber
    /// leaves. A subscriber that falls behind misses the skipped ones (a warning is logged).
    async fn pending_transactions(
        &self,
        pending: PendingSubscriptionSink,
        full: bool,
    ) -> SubscriptionResult {
        let mut admitted = self.api.pending_transactions();
        let sink = pending.accept().await?;
        let id = sink.subscription_id();
        tracing::debug!(?id, full, "pending transactions subscription opened");
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                received = admitted.recv() => match received {
                    Ok(hash) => {
                        let sent = if full {
                            match transaction_by_hash(&*self.api, &hash) {
                                Ok(Some(tx)) => send(&sink, &tx).await,
                                // Already gone (replaced or dropped): nothing to send.
                                Ok(None) => true,
                                Err(error) => {
                                    tracing::error!(%error, "cannot read a pending transaction");
                                    true
                                }
                            }
                        } else {
                            send(&sink, &hash).await
                        };
                        if !sent {
                            break;
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(?id, skipped, "subscriber fell behind, transactions skipped");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        tracing::debug!(?id, "subscription closed");
        Ok(())
    }
}

fn invalid(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS_CODE, message, None::<()>)
}

/// Chooses the stream for a subscription request, or the error to reject it with.
fn stream_for(kind: SubscriptionKind, params: Option<Params>) -> Result<Stream, ErrorObjectOwned> {
    match (kind, params.unwrap_or_default()) {
        (SubscriptionKind::NewHeads, Params::None) => Ok(Stream::Heads),
        (SubscriptionKind::NewHeads, _) => Err(invalid("newHeads takes no parameters")),
        (SubscriptionKind::Logs, Params::Logs(filter)) => Ok(Stream::Logs(filter)),
        (SubscriptionKind::Logs, Params::None) => Ok(Stream::Logs(Box::default())),
        (SubscriptionKind::Logs, _) => Err(invalid("logs takes a filter object")),
        (SubscriptionKind::NewPendingTransactions, Params::None) => Ok(Stream::Pending(false)),
        (SubscriptionKind::NewPendingTransactions, Params::Bool(full)) => Ok(Stream::Pending(full)),
        (SubscriptionKind::NewPendingTransactions, _) => Err(invalid(
            "newPendingTransactions takes no parameter or a boolean (true for whole transactions)",
        )),
        (other, _) => Err(invalid(format!(
            "unsupported subscription {other:?}: this node serves newHeads, logs and \
             newPendingTransactions"
        ))),
    }
}

/// Sends one item; `false` once the subscriber is gone.
async fn send<T: serde::Serialize>(sink: &SubscriptionSink, item: &T) -> bool {
    match serde_json::value::to_raw_value(item) {
        Ok(raw) => sink.send(raw).await.is_ok(),
        Err(error) => {
            tracing::error!(%error, "cannot serialize subscription item");
            false
        }
    }
}

/// Sends what `stream` wants of one finalized block; `false` once the subscriber is gone.
async fn forward(sink: &SubscriptionSink, stream: &Stream, block: &FinalizedBlock) -> bool {
    match stream {
        Stream::Heads => {
            let header = rpc_header(&block.block.header, block.hash, Some(block.block.length()));
            send(sink, &header).await
        }
        Stream::Pending(_) => true,
        Stream::Logs(filter) => {
            if !filter.matches_bloom(block.block.header.logs_bloom) {
                return true;
            }
            let mut logs: Vec<RpcLog> = Vec::new();
            let collected = block_logs(
                filter,
                &block.block.header,
                block.hash,
                &block.receipts,
                usize::MAX,
                &mut logs,
            );
            if let Err(error) = collected {
                tracing::error!(%error, "cannot collect logs for a subscription");
                return true;
            }
            for log in &logs {
                if !send(sink, log).await {
                    return false;
                }
            }
            true
        }
    }
}

#[async_trait]
impl<A: ChainApi> EthPubSubApiServer for EthPubSub<A> {
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> SubscriptionResult {
        let stream = match stream_for(kind, params) {
            Ok(stream) => stream,
            Err(error) => {
                pending.reject(error).await;
                return Ok(());
            }
        };
        if let Stream::Pending(full) = stream {
            return self.pending_transactions(pending, full).await;
        }
        // Subscribe before accepting so that no block finalized in between is missed.
        let mut blocks = self.api.subscribe();
        let sink = pending.accept().await?;
        let id = sink.subscription_id();
        tracing::debug!(?id, ?kind, "subscription opened");
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                received = blocks.recv() => match received {
                    Ok(block) => {
                        if !forward(&sink, &stream, &block).await {
                            break;
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(?id, skipped, "subscriber fell behind, blocks skipped");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        tracing::debug!(?id, "subscription closed");
        Ok(())
    }
}
