//! Batch execution: the throughput path for `eth_sendRawTransaction`.
//!
//! jsonrpsee runs the calls of a batch one after the other. This middleware replaces that
//! with two rules that keep a batch's observable order while using every core:
//!
//! - a run of consecutive `eth_sendRawTransaction` calls is handed to
//!   [`ChainApi::submit_many`] in one go on the blocking pool, which recovers the signatures
//!   in parallel and admits the transactions in batch order (so consecutive nonces of one
//!   sender may share a batch);
//! - a run of consecutive other calls runs concurrently.
//!
//! Runs execute in batch order, so every call observes the effects of the submissions before
//! it. Responses keep the order of the requests, and the response-size limit still applies.
//! Single (non-batch) calls pass through untouched.

use crate::api::{ChainApi, SubmitError};
use crate::error::{EthError, submit_error};
use alloy_primitives::{B256, Bytes};
use futures::future::join_all;
use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, BatchEntryErr, Notification, Request, RpcServiceT,
};
use jsonrpsee::types::{ErrorObjectOwned, Id};
use jsonrpsee::{BatchResponseBuilder, MethodResponse, ResponsePayload};
use std::future::Future;
use std::sync::Arc;

/// The method whose batched calls are pooled into [`ChainApi::submit_many`].
const SEND_RAW_TRANSACTION: &str = "eth_sendRawTransaction";

/// RPC middleware that executes batches as described in the module documentation.
pub struct BatchService<S, A> {
    inner: S,
    api: Arc<A>,
    max_response_body_size: usize,
}

impl<S: Clone, A> Clone for BatchService<S, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            api: self.api.clone(),
            max_response_body_size: self.max_response_body_size,
        }
    }
}

impl<S, A> BatchService<S, A> {
    pub fn new(inner: S, api: Arc<A>, max_response_body_size: usize) -> Self {
        Self {
            inner,
            api,
            max_response_body_size,
        }
    }
}

/// One entry of a batch, sorted by how it runs.
enum Slot<'a> {
    /// A well-formed `eth_sendRawTransaction` call.
    Submit { id: Id<'a>, raw: Bytes },
    /// Anything else, run by the inner service.
    Other(Result<BatchEntry<'a>, BatchEntryErr<'a>>),
}

impl Slot<'_> {
    fn is_submit(&self) -> bool {
        matches!(self, Slot::Submit { .. })
    }
}

/// Sorts an entry; a submission whose parameters do not parse goes to the inner service,
/// which answers it with the standard invalid-params error.
fn classify<'a>(entry: Result<BatchEntry<'a>, BatchEntryErr<'a>>) -> Slot<'a> {
    match entry {
        Ok(BatchEntry::Call(req)) if req.method_name() == SEND_RAW_TRANSACTION => {
            let raw = req
                .params
                .as_ref()
                .and_then(|params| serde_json::from_str::<(Bytes,)>(params.get()).ok());
            match raw {
                Some((raw,)) => Slot::Submit { id: req.id, raw },
                None => Slot::Other(Ok(BatchEntry::Call(req))),
            }
        }
        other => Slot::Other(other),
    }
}

impl<S, A> BatchService<S, A>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
    A: ChainApi,
{
    /// Submits a run of transactions; results in input order.
    async fn submit_run(&self, raws: Vec<Bytes>) -> Vec<Result<B256, ErrorObjectOwned>> {
        let count = raws.len();
        let api = self.api.clone();
        let joined = tokio::task::spawn_blocking(move || {
            if raws.len() == 1 {
                raws.into_iter().map(|raw| api.submit(raw)).collect()
            } else {
                api.submit_many(raws)
            }
        })
        .await;
        match joined {
            Ok(results) => {
                let results: Vec<Result<B256, SubmitError>> = results;
                if results.len() != count {
                    tracing::error!(
                        expected = count,
                        got = results.len(),
                        "submit_many returned a wrong number of results"
                    );
                    let err: ErrorObjectOwned =
                        EthError::Internal("submission results are incomplete".into()).into();
                    return vec![Err(err); count];
                }
                results
                    .into_iter()
                    .map(|r| r.map_err(submit_error))
                    .collect()
            }
            Err(join) => {
                let err: ErrorObjectOwned = crate::error::join_error(join).into();
                vec![Err(err); count]
            }
        }
    }

    /// Runs a run of other entries concurrently; `None` for notifications.
    async fn other_run<'a>(
        &self,
        entries: Vec<Result<BatchEntry<'a>, BatchEntryErr<'a>>>,
    ) -> Vec<Option<MethodResponse>> {
        let calls = entries.into_iter().map(|entry| {
            let inner = self.inner.clone();
            async move {
                match entry {
                    Ok(BatchEntry::Call(req)) => Some(inner.call(req).await),
                    Ok(BatchEntry::Notification(n)) => {
                        inner.notification(n).await;
                        None
                    }
                    Err(err) => {
                        let (err, id) = err.into_parts();
                        Some(MethodResponse::error(id, err))
                    }
                }
            }
        });
        join_all(calls).await
    }

    async fn run_batch(self, batch: Batch<'_>) -> MethodResponse {
        let mut slots: Vec<Slot<'_>> = batch.into_iter().map(classify).collect();
        let submissions = slots.iter().filter(|s| s.is_submit()).count();
        tracing::trace!(calls = slots.len(), submissions, "batch");
        let mut responses = BatchResponseBuilder::new_with_limit(self.max_response_body_size);
        let mut got_notification = false;
        let mut rest = slots.drain(..).peekable();
        while let Some(first) = rest.next() {
            let submit = first.is_submit();
            let mut run = vec![first];
            while let Some(next) = rest.next_if(|s| s.is_submit() == submit) {
                run.push(next);
            }
            let outputs: Vec<Option<MethodResponse>> = if submit {
                let (ids, raws): (Vec<_>, Vec<_>) = run
                    .into_iter()
                    .filter_map(|slot| match slot {
                        Slot::Submit { id, raw } => Some((id, raw)),
                        Slot::Other(_) => None,
                    })
                    .unzip();
                let results = self.submit_run(raws).await;
                ids.into_iter()
                    .zip(results)
                    .map(|(id, result)| {
                        Some(match result {
                            Ok(hash) => MethodResponse::response(
                                id,
                                ResponsePayload::success(hash),
                                self.max_response_body_size,
                            ),
                            Err(err) => MethodResponse::error(id, err),
                        })
                    })
                    .collect()
            } else {
                let entries = run
                    .into_iter()
                    .filter_map(|slot| match slot {
                        Slot::Other(entry) => Some(entry),
                        Slot::Submit { .. } => None,
                    })
                    .collect();
                self.other_run(entries).await
            };
            for output in outputs {
                match output {
                    Some(response) => {
                        if let Err(too_big) = responses.append(response) {
                            return too_big;
                        }
                    }
                    None => got_notification = true,
                }
            }
        }
        if responses.is_empty() && got_notification {
            MethodResponse::notification()
        } else {
            MethodResponse::from_batch(responses.finish())
        }
    }
}

impl<S, A> RpcServiceT for BatchService<S, A>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
    A: ChainApi,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.call(request)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.clone().run_batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(notification)
    }
}
