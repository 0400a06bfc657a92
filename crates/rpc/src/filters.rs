//! Polling filters, as geth serves them: `eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`, `eth_getFilterChanges`, `eth_getFilterLogs` and
//! `eth_uninstallFilter`. HTTP clients (ethers' `contract.on`, web3.py's filters) watch events
//! with them.
//!
//! - Ids are random hex strings ([`crate::ids`]); an unknown or expired id fails with
//!   `"filter not found"` (code -32000), and `eth_uninstallFilter` answers `false` for it.
//! - `eth_getFilterChanges` returns what is new since the last poll (or since the filter was
//!   created): block hashes, matching logs, or hashes of transactions admitted to the mempool.
//! - A filter that nobody polls for [`FilterConfig::idle_timeout`] (5 minutes) is removed.
//! - At most [`FilterConfig::max_filters`] filters exist at once, and one client, identified
//!   by its IP address (HTTP clients open a new connection whenever they like, so a connection
//!   does not identify them), holds at most [`FilterConfig::max_filters_per_client`]. Behind a
//!   reverse proxy every client shares the proxy's address. Creating one more fails with code
//!   -32005 and a message naming the limit.
//!
//! Block and log filters keep no buffer: they keep the next block height to report and read
//! the finalized chain when polled, at most [`MAX_BLOCKS_PER_POLL`] blocks (and, for logs,
//! about `max_logs_per_query` logs) per poll, so a slow client gets the rest at its next poll
//! and never misses anything. Pending-transaction filters buffer hashes as the mempool admits
//! them, at most [`FilterConfig::max_pending_hashes`] per filter; past that the oldest hashes
//! are dropped (the pool's contents are best effort, as in geth, and a client that polls more
//! often than the pool fills loses nothing).

use crate::api::ChainApi;
use crate::blocks::transaction_by_hash;
use crate::error::{EthError, join_error};
use crate::ids::{canonical_id, random_hex_id};
use crate::logs::{self, LogLimits, block_logs};
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, FilterChanges, Log as RpcLog};
use jsonrpsee::Extensions;
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// Most blocks one `eth_getFilterChanges` call reports or scans for logs.
pub const MAX_BLOCKS_PER_POLL: u64 = 1024;

/// Limits of the filter table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterConfig {
    /// Most filters installed at once, all clients together.
    pub max_filters: usize,
    /// Most filters one client (IP address) may hold.
    pub max_filters_per_client: usize,
    /// A filter not polled for this long is removed.
    pub idle_timeout: Duration,
    /// Most transaction hashes a pending-transaction filter buffers between polls.
    pub max_pending_hashes: usize,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            max_filters: 10_000,
            max_filters_per_client: 256,
            idle_timeout: Duration::from_secs(5 * 60),
            max_pending_hashes: 10_000,
        }
    }
}

/// The address of the client that sent a request, put in the request's extensions by the
/// server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// What a filter watches, and where it is.
#[derive(Clone, Debug)]
enum Kind {
    /// Hashes of blocks from height `next` on.
    Blocks { next: u64 },
    /// Logs matching `filter` from height `next` on.
    Logs { filter: Box<Filter>, next: u64 },
    /// Hashes of admitted transactions, oldest first; reported as whole transactions with
    /// `full`.
    Pending { hashes: VecDeque<B256>, full: bool },
}

#[derive(Debug)]
struct Entry {
    kind: Kind,
    client: Option<IpAddr>,
    last_poll: Instant,
}

/// The installed filters. Pure bookkeeping: the caller supplies the time and reads the chain.
#[derive(Debug)]
pub struct FilterTable {
    config: FilterConfig,
    entries: HashMap<String, Entry>,
    per_client: HashMap<IpAddr, usize>,
}

impl FilterTable {
    pub fn new(config: FilterConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            per_client: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every filter idle for longer than the timeout at `now`.
    pub fn expire(&mut self, now: Instant) {
        let timeout = self.config.idle_timeout;
        let expired: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_poll) > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::debug!(%id, "filter expired");
            self.remove(&id);
        }
    }

    fn install(
        &mut self,
        kind: Kind,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<String, EthError> {
        self.expire(now);
        if self.entries.len() >= self.config.max_filters {
            return Err(EthError::TooManyFilters(format!(
                "the node holds {} filters, its limit; uninstall unused filters or retry later",
                self.config.max_filters
            )));
        }
        if let Some(ip) = client {
            let held = self.per_client.get(&ip).copied().unwrap_or(0);
            if held >= self.config.max_filters_per_client {
                return Err(EthError::TooManyFilters(format!(
                    "this client holds {held} filters, the limit per client; uninstall unused \
                     filters (eth_uninstallFilter) or let them expire"
                )));
            }
            *self.per_client.entry(ip).or_default() += 1;
        }
        let id = random_hex_id();
        self.entries.insert(
            id.clone(),
            Entry {
                kind,
                client,
                last_poll: now,
            },
        );
        Ok(id)
    }

    /// Installs a filter of new blocks after `head`.
    pub fn install_blocks(
        &mut self,
        head: u64,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<String, EthError> {
        self.install(Kind::Blocks { next: head + 1 }, client, now)
    }

    /// Installs a filter of logs of blocks after `head`.
    pub fn install_logs(
        &mut self,
        filter: Filter,
        head: u64,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<String, EthError> {
        let kind = Kind::Logs {
            filter: Box::new(filter),
            next: head + 1,
        };
        self.install(kind, client, now)
    }

    /// Installs a filter of transactions admitted from now on.
    pub fn install_pending(
        &mut self,
        full: bool,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<String, EthError> {
        let kind = Kind::Pending {
            hashes: VecDeque::new(),
            full,
        };
        self.install(kind, client, now)
    }

    /// Uninstalls a filter; `false` if there was none.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(entry) = self.entries.remove(&canonical_id(id)) else {
            return false;
        };
        if let Some(ip) = entry.client
            && let Some(held) = self.per_client.get_mut(&ip)
        {
            *held -= 1;
            if *held == 0 {
                self.per_client.remove(&ip);
            }
        }
        true
    }

    /// Marks a poll of `id` at `now` and returns what to report: for a pending filter its
    /// buffered hashes (taken), for the others a copy of the filter to evaluate against the
    /// chain, then to be moved on with [`Self::advance`].
    fn poll(&mut self, id: &str, now: Instant) -> Result<Kind, EthError> {
        self.expire(now);
        let entry = self
            .entries
            .get_mut(&canonical_id(id))
            .ok_or(EthError::FilterNotFound)?;
        entry.last_poll = now;
        Ok(match &mut entry.kind {
            Kind::Pending { hashes, full } => Kind::Pending {
                hashes: std::mem::take(hashes),
                full: *full,
            },
            other => other.clone(),
        })
    }

    /// Moves a block or log filter's next height from `from` to `to`; a concurrent poll that
    /// moved it already wins.
    fn advance(&mut self, id: &str, from: u64, to: u64) {
        if let Some(entry) = self.entries.get_mut(&canonical_id(id))
            && let Kind::Blocks { next } | Kind::Logs { next, .. } = &mut entry.kind
            && *next == from
        {
            *next = to;
        }
    }

    /// Records a transaction admitted to the mempool in every pending filter.
    pub fn push_pending(&mut self, hash: B256) {
        let cap = self.config.max_pending_hashes;
        for entry in self.entries.values_mut() {
            if let Kind::Pending { hashes, .. } = &mut entry.kind {
                if hashes.len() >= cap {
                    hashes.pop_front();
                }
                hashes.push_back(hash);
            }
        }
    }

    fn has_pending(&self) -> bool {
        self.entries
            .values()
            .any(|e| matches!(e.kind, Kind::Pending { .. }))
    }
}

/// Hashes of finalized blocks `next..`, at most [`MAX_BLOCKS_PER_POLL`]; with the next
/// height to report after them.
fn block_changes<A: ChainApi>(api: &A, next: u64) -> Result<(Vec<B256>, u64), EthError> {
    let head = api.finalized_height();
    if next > head {
        return Ok((Vec::new(), next));
    }
    let last = head.min(next.saturating_add(MAX_BLOCKS_PER_POLL - 1));
    let mut hashes = Vec::new();
    for height in next..=last {
        let header = api.header_by_height(height).ok_or_else(|| {
            EthError::Internal(format!("header of finalized block {height} is missing"))
        })?;
        hashes.push(header.hash());
    }
    Ok((hashes, last + 1))
}

/// Logs matching `filter` in finalized blocks from `next` on, within the filter's own range;
/// with the next height to scan after them. Stops early (at a block boundary) once
/// `max_logs` are collected, so the rest comes at the next poll.
fn log_changes<A: ChainApi>(
    api: &A,
    filter: &Filter,
    next: u64,
    max_logs: usize,
) -> Result<(Vec<RpcLog>, u64), EthError> {
    let head = api.finalized_height();
    let (from, to) = match filter.block_option {
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => (
            from_block.and_then(|t| t.as_number()).unwrap_or(0),
            to_block.and_then(|t| t.as_number()).unwrap_or(u64::MAX),
        ),
        FilterBlockOption::AtBlockHash(_) => (0, u64::MAX),
    };
    let start = next.max(from);
    let end = head
        .min(to)
        .min(start.saturating_add(MAX_BLOCKS_PER_POLL - 1));
    if start > end {
        // Nothing finalized in range yet, or the range is over.
        return Ok((Vec::new(), next));
    }
    let mut out = Vec::new();
    for height in start..=end {
        let header = api.header_by_height(height).ok_or_else(|| {
            EthError::Internal(format!("header of finalized block {height} is missing"))
        })?;
        if !filter.matches_bloom(header.logs_bloom) {
            continue;
        }
        let receipts = api.receipts(height).ok_or_else(|| {
            EthError::Internal(format!("receipts of finalized block {height} are missing"))
        })?;
        let mut found = Vec::new();
        block_logs(
            filter,
            &header,
            header.hash(),
            &receipts,
            usize::MAX,
            &mut found,
        )?;
        if !out.is_empty() && out.len() + found.len() > max_logs {
            return Ok((out, height));
        }
        out.extend(found);
    }
    Ok((out, end + 1))
}

/// Ethereum's filter methods.
#[rpc(server, namespace = "eth")]
pub trait EthFilterApi {
    /// Installs a log filter; its changes are logs of blocks finalized after this call.
    #[method(name = "newFilter", with_extensions)]
    fn new_filter(&self, filter: Filter) -> RpcResult<String>;
    /// Installs a filter of new block hashes.
    #[method(name = "newBlockFilter", with_extensions)]
    fn new_block_filter(&self) -> RpcResult<String>;
    /// Installs a filter of transactions entering the mempool: hashes, or whole transactions
    /// with `true`.
    #[method(name = "newPendingTransactionFilter", with_extensions)]
    async fn new_pending_transaction_filter(&self, full: Option<bool>) -> RpcResult<String>;
    /// What is new since the last poll.
    #[method(name = "getFilterChanges")]
    async fn filter_changes(&self, id: String) -> RpcResult<FilterChanges>;
    /// Every log a log filter matches (its whole range, as `eth_getLogs`).
    #[method(name = "getFilterLogs")]
    async fn filter_logs(&self, id: String) -> RpcResult<Vec<RpcLog>>;
    /// Removes a filter; `false` if it did not exist.
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: String) -> RpcResult<bool>;
}

/// The filter handler over a [`ChainApi`].
pub struct EthFilter<A> {
    api: Arc<A>,
    table: Arc<Mutex<FilterTable>>,
    log_limits: LogLimits,
    /// Whether the task feeding pending filters runs.
    feeding: Arc<Mutex<bool>>,
}

impl<A: ChainApi> EthFilter<A> {
    pub fn new(api: Arc<A>, config: FilterConfig, log_limits: LogLimits) -> Self {
        Self {
            api,
            table: Arc::new(Mutex::new(FilterTable::new(config))),
            log_limits,
            feeding: Arc::new(Mutex::new(false)),
        }
    }

    /// Starts the task that copies mempool admissions into pending filters, unless it runs.
    /// It stops when the node's stream closes or when no pending filter is left.
    fn feed_pending(&self) {
        let mut feeding = self.feeding.lock();
        if *feeding {
            return;
        }
        *feeding = true;
        let mut admitted = self.api.pending_transactions();
        let weak: Weak<Mutex<FilterTable>> = Arc::downgrade(&self.table);
        let flag = self.feeding.clone();
        tokio::spawn(async move {
            loop {
                let received = admitted.recv().await;
                let Some(shared) = weak.upgrade() else { break };
                let mut table = shared.lock();
                match received {
                    Ok(hash) => table.push_pending(hash),
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(
                            skipped,
                            "pending-transaction filters fell behind the mempool"
                        );
                    }
                    Err(RecvError::Closed) => break,
                }
                if !table.has_pending() {
                    // Cleared under the table's lock: a filter installed after this sees the
                    // flag down and starts a new feeder.
                    *flag.lock() = false;
                    return;
                }
            }
            *flag.lock() = false;
        });
    }
}

fn client_of(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ClientAddr>().map(|c| c.0)
}

#[async_trait]
impl<A: ChainApi> EthFilterApiServer for EthFilter<A> {
    fn new_filter(&self, ext: &Extensions, filter: Filter) -> RpcResult<String> {
        if filter.get_block_hash().is_some() {
            return Err(EthError::InvalidParams(
                "a filter cannot name a blockHash: use eth_getLogs for one block".into(),
            )
            .into());
        }
        let head = self.api.finalized_height();
        Ok(self
            .table
            .lock()
            .install_logs(filter, head, client_of(ext), Instant::now())?)
    }

    fn new_block_filter(&self, ext: &Extensions) -> RpcResult<String> {
        let head = self.api.finalized_height();
        Ok(self
            .table
            .lock()
            .install_blocks(head, client_of(ext), Instant::now())?)
    }

    async fn new_pending_transaction_filter(
        &self,
        ext: &Extensions,
        full: Option<bool>,
    ) -> RpcResult<String> {
        let id = self.table.lock().install_pending(
            full.unwrap_or(false),
            client_of(ext),
            Instant::now(),
        )?;
        self.feed_pending();
        Ok(id)
    }

    async fn filter_changes(&self, id: String) -> RpcResult<FilterChanges> {
        let kind = self.table.lock().poll(&id, Instant::now())?;
        let (changes, from, to) = match kind {
            Kind::Pending { hashes, full } => {
                return Ok(if hashes.is_empty() {
                    FilterChanges::Empty
                } else if full {
                    // Transactions already gone (replaced, or included and pruned) are left out.
                    let mut txs = Vec::with_capacity(hashes.len());
                    for hash in hashes {
                        if let Some(tx) = transaction_by_hash(&*self.api, &hash)? {
                            txs.push(tx);
                        }
                    }
                    FilterChanges::Transactions(txs)
                } else {
                    FilterChanges::Hashes(hashes.into())
                });
            }
            Kind::Blocks { next } => {
                let api = self.api.clone();
                let (hashes, after) =
                    tokio::task::spawn_blocking(move || block_changes(&*api, next))
                        .await
                        .map_err(join_error)??;
                (FilterChanges::Hashes(hashes), next, after)
            }
            Kind::Logs { filter, next } => {
                let api = self.api.clone();
                let max = self.log_limits.max_results;
                let (logs, after) =
                    tokio::task::spawn_blocking(move || log_changes(&*api, &filter, next, max))
                        .await
                        .map_err(join_error)??;
                (FilterChanges::Logs(logs), next, after)
            }
        };
        self.table.lock().advance(&id, from, to);
        Ok(changes)
    }

    async fn filter_logs(&self, id: String) -> RpcResult<Vec<RpcLog>> {
        let Kind::Logs { filter, .. } = self.table.lock().poll(&id, Instant::now())? else {
            return Err(EthError::FilterNotFound.into());
        };
        let api = self.api.clone();
        let limits = self.log_limits;
        let logs = tokio::task::spawn_blocking(move || logs::get_logs(&*api, &filter, limits))
            .await
            .map_err(join_error)??;
        Ok(logs)
    }

    fn uninstall_filter(&self, id: String) -> RpcResult<bool> {
        Ok(self.table.lock().remove(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FilterConfig {
        FilterConfig {
            max_filters: 3,
            max_filters_per_client: 2,
            idle_timeout: Duration::from_secs(300),
            max_pending_hashes: 2,
        }
    }

    #[test]
    fn per_client_and_global_caps_and_expiry() {
        let mut table = FilterTable::new(config());
        let t0 = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let first = table.install_blocks(0, Some(a), t0).expect("first");
        table.install_pending(false, Some(a), t0).expect("second");
        let err = table
            .install_blocks(0, Some(a), t0)
            .expect_err("third of one client");
        assert!(matches!(err, EthError::TooManyFilters(_)), "{err}");
        table
            .install_blocks(0, Some(b), t0)
            .expect("another client");
        let err = table.install_blocks(0, Some(b), t0).expect_err("node full");
        assert!(
            err.to_string().contains("the node holds 3 filters"),
            "{err}"
        );

        // Polling keeps a filter alive; the others expire after the timeout.
        let later = t0 + Duration::from_secs(200);
        table.poll(&first, later).expect("polled in time");
        let last = t0 + Duration::from_secs(301);
        table.expire(last);
        assert_eq!(table.len(), 1);
        assert!(table.poll(&first, last).is_ok());
        table.expire(last + Duration::from_secs(300));
        assert_eq!(table.len(), 1, "idle for exactly the timeout");
        let gone = last + Duration::from_secs(301);
        table.expire(gone);
        assert!(table.is_empty());
        assert_eq!(
            table.poll(&first, gone).err(),
            Some(EthError::FilterNotFound)
        );
        assert!(
            table.per_client.is_empty(),
            "expired filters free their slots"
        );
        assert!(!table.remove(&first));
    }

    #[test]
    fn pending_buffer_keeps_the_newest_hashes() {
        let mut table = FilterTable::new(config());
        let t0 = Instant::now();
        let id = table.install_pending(false, None, t0).expect("installed");
        for byte in 1..=3 {
            table.push_pending(B256::repeat_byte(byte));
        }
        let Ok(Kind::Pending { hashes, .. }) = table.poll(&id, t0) else {
            panic!("a pending filter");
        };
        assert_eq!(
            Vec::from(hashes),
            vec![B256::repeat_byte(2), B256::repeat_byte(3)]
        );
        let Ok(Kind::Pending { hashes, .. }) = table.poll(&id, t0) else {
            panic!("a pending filter");
        };
        assert!(hashes.is_empty(), "a poll takes what it reports");
    }
}
