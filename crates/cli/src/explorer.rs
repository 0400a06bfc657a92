//! `lazai explorer`: the web explorer beside any node, and the explorer a devnet serves on its
//! own RPC port.

use alloy_primitives::{B256, U64};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_explorer::index::{BlockSummary, IndexLog, IndexReceipt};
use lazai_explorer::source::{SourceFuture, missing_block};
use lazai_explorer::{BASE_PATH, BlockSource, Explorer, ExplorerConfig, SourceBlock, SourceError};
use lazai_rpc::ChainApi;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ExplorerArgs {
    /// JSON-RPC URL of the node to explore (any LazChain node: a validator, a full node, a
    /// devnet).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Where to serve the pages (open http://ADDR/explorer).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the explorer's index (an address's transactions, a class's holders, ...).
    /// Keep it to resume indexing where it stopped; without it a temporary directory is used
    /// and the index is rebuilt from block 0 at every start.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seconds one request to the node may take before the page says the node is not
    /// answering.
    #[arg(long, default_value_t = 5)]
    rpc_timeout: u64,
}

pub fn run(args: ExplorerArgs) -> Result<()> {
    if !(args.rpc.starts_with("http://") || args.rpc.starts_with("https://")) {
        bail!(
            "--rpc must be an http:// or https:// URL, not {:?}",
            args.rpc
        );
    }
    if args.rpc_timeout == 0 || args.rpc_timeout > 600 {
        bail!("--rpc-timeout must be between 1 and 600 seconds");
    }
    let temp = tempfile::Builder::new()
        .prefix("lazai-explorer-")
        .tempdir()?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = ExplorerConfig::new(&args.rpc, &dir);
        config.rpc_timeout = Duration::from_secs(args.rpc_timeout);
        config.page_timeout = Duration::from_secs(args.rpc_timeout * 2);
        let explorer = Explorer::start(config)
            .with_context(|| format!("open the explorer's index in {}", dir.display()))?;
        let shutdown = async {
            if let Ok(signal) = crate::kit::signal::shutdown_signal().await {
                eprintln!("{signal}: shutting down");
            }
        };
        explorer
            .serve(args.listen, shutdown, |addr| {
                println!(
                    "LazAI explorer at http://{addr}{BASE_PATH} reading {}",
                    args.rpc
                );
                println!("Index: {}", dir.display());
            })
            .await?;
        Ok::<_, anyhow::Error>(())
    })?;
    drop(temp);
    Ok(())
}

/// `http://ADDR` for a listener's address, with an unspecified IP (`0.0.0.0`, `::`) replaced by
/// loopback: the URL this host reaches it at.
pub fn loopback_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// Starts an explorer whose pages read `rpc_url` and whose index reads `chain` — the node's own
/// chain, in process, with no JSON in between — into `data_dir/explorer`, and mounts its pages
/// at [`BASE_PATH`] on `server`. The caller keeps the explorer alive.
pub fn mount_on(
    server: &lazai_rpc::RpcHandle,
    rpc_url: &str,
    chain: Arc<dyn ChainApi>,
    data_dir: &Path,
) -> Result<Explorer> {
    let mut config = ExplorerConfig::new(rpc_url, data_dir.join("explorer"));
    config.blocks = Some(Arc::new(ChainSource::new(chain)));
    let explorer = Explorer::start(config).context("start the explorer")?;
    server.mount(BASE_PATH, explorer.router())?;
    Ok(explorer)
}

/// The explorer's index fed by the node it runs in: finalized headers and receipts straight
/// from the node's chain (its recent blocks from memory, older ones from its store), woken by
/// each finalized block instead of polling.
pub struct ChainSource {
    chain: Arc<dyn ChainApi>,
}

impl ChainSource {
    pub fn new(chain: Arc<dyn ChainApi>) -> Self {
        Self { chain }
    }

    const NAME: &'static str = "this node's chain";

    /// Runs a read of the chain (it may read the store) off the async workers.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn ChainApi) -> Result<T, SourceError> + Send + 'static,
    ) -> SourceFuture<'_, T> {
        let chain = self.chain.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(chain.as_ref()))
                .await
                .map_err(|e| SourceError::Malformed {
                    method: Self::NAME.to_string(),
                    reason: format!("the read stopped: {e}"),
                })?
        })
    }
}

/// A finalized block of `chain` as the index reads it; `None` past the head.
fn source_block(chain: &dyn ChainApi, height: u64, with_receipts: bool) -> Option<SourceBlock> {
    let header = chain.header_by_height(height)?;
    let (tx_count, receipts) = if with_receipts {
        let receipts = chain.receipts(height)?;
        (receipts.len(), index_receipts(&receipts))
    } else {
        (
            chain.block_by_height(height)?.transactions.len(),
            Vec::new(),
        )
    };
    Some(SourceBlock {
        summary: BlockSummary {
            height,
            hash: header.hash(),
            timestamp: header.timestamp_secs(),
            tx_count: u32::try_from(tx_count).unwrap_or(u32::MAX),
            gas_used: header.gas_used,
            proposer: header.proposer,
        },
        parent: header.parent_hash,
        receipts,
    })
}

/// A block's receipts as the index reads them (log indexes count across the block, as
/// `eth_getBlockReceipts` numbers them).
fn index_receipts(receipts: &[lazai_types::Receipt]) -> Vec<IndexReceipt> {
    let mut log_index = 0u64;
    receipts
        .iter()
        .enumerate()
        .map(|(i, r)| IndexReceipt {
            transaction_hash: r.tx_hash,
            transaction_index: Some(U64::from(i)),
            from: r.from,
            // A creation has no recipient; its contract is `contract_address`.
            to: r.contract_address.is_none().then_some(r.to),
            contract_address: r.contract_address,
            logs: r
                .logs
                .iter()
                .map(|log| {
                    let l = IndexLog {
                        address: log.address,
                        topics: log.topics().to_vec(),
                        data: log.data.data.clone(),
                        log_index: Some(U64::from(log_index)),
                    };
                    log_index += 1;
                    l
                })
                .collect(),
        })
        .collect()
}

impl BlockSource for ChainSource {
    fn describe(&self) -> String {
        Self::NAME.to_string()
    }

    fn finalized_height(&self) -> SourceFuture<'_, u64> {
        let height = self.chain.finalized_height();
        Box::pin(async move { Ok(height) })
    }

    fn block_hash(&self, height: u64) -> SourceFuture<'_, Option<B256>> {
        self.read(move |chain| Ok(chain.header_by_height(height).map(|h| h.hash())))
    }

    fn blocks(&self, range: RangeInclusive<u64>) -> SourceFuture<'_, Vec<SourceBlock>> {
        self.read(move |chain| {
            range
                .map(|h| source_block(chain, h, true).ok_or_else(|| missing_block(Self::NAME, h)))
                .collect()
        })
    }

    fn summary(&self, height: u64) -> SourceFuture<'_, Option<SourceBlock>> {
        self.read(move |chain| Ok(source_block(chain, height, false)))
    }

    fn wait_for_block(&self, poll: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut blocks = self.chain.subscribe();
        Box::pin(async move {
            let _ = tokio::time::timeout(poll, blocks.recv()).await;
        })
    }
}
