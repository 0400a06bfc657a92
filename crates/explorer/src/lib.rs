//! LazChain's web explorer. It reads everything from one node's JSON-RPC — blocks,
//! transactions, and LazAI's own objects through the native modules' views — and keeps an index
//! of its own ([`index`], redb) for what JSON-RPC cannot answer: an address's transactions, a
//! class's holders, an object's history.
//!
//! Pages are server-rendered HTML ([`pages`]) with every asset in the binary; a small script
//! updates the head live. Mount [`Explorer::router`] under [`BASE_PATH`] on a node's RPC port
//! (as `lazai devnet` does) or run [`Explorer::serve`] beside any node (`lazai explorer`).

pub mod decode;
pub mod index;
pub mod indexer;
pub mod pages;
mod routes;
pub mod rpc;
pub mod source;
pub mod svg;

pub use index::{Index, IndexError};
pub use indexer::IndexStatus;
pub use rpc::{Rpc, SourceError};
pub use source::{BlockSource, SourceBlock};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the explorer's pages live on a node's RPC port.
pub const BASE_PATH: &str = "/explorer";

/// How to run an explorer.
#[derive(Clone)]
pub struct ExplorerConfig {
    /// The node's JSON-RPC URL (`http://host:port`).
    pub rpc_url: String,
    /// Where the indexer reads finalized blocks; the JSON-RPC URL when `None`.
    pub blocks: Option<Arc<dyn BlockSource>>,
    /// Where the index lives.
    pub index_dir: PathBuf,
    /// Path prefix of every page and asset.
    pub base: String,
    /// How long one request to the node may take.
    pub rpc_timeout: Duration,
    /// How long one page may take to build.
    pub page_timeout: Duration,
    /// Blocks the indexer fetches per round trip.
    pub index_batch: u64,
    /// How often the indexer asks for a new head once caught up.
    pub poll: Duration,
}

impl std::fmt::Debug for ExplorerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplorerConfig")
            .field("rpc_url", &self.rpc_url)
            .field("blocks", &self.blocks.as_ref().map(|s| s.describe()))
            .field("index_dir", &self.index_dir)
            .field("base", &self.base)
            .field("rpc_timeout", &self.rpc_timeout)
            .field("page_timeout", &self.page_timeout)
            .field("index_batch", &self.index_batch)
            .field("poll", &self.poll)
            .finish()
    }
}

impl ExplorerConfig {
    pub fn new(rpc_url: impl Into<String>, index_dir: impl Into<PathBuf>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            blocks: None,
            index_dir: index_dir.into(),
            base: BASE_PATH.to_string(),
            rpc_timeout: Duration::from_secs(5),
            page_timeout: Duration::from_secs(10),
            index_batch: indexer::DEFAULT_BATCH,
            poll: Duration::from_millis(200),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("explorer server: {0}")]
    Serve(std::io::Error),
}

/// What every page handler reads.
pub struct AppState {
    pub rpc: Rpc,
    pub index: Arc<Index>,
    pub status: Arc<IndexStatus>,
    pub base: String,
    pub page_timeout: Duration,
    /// Pages being built at once, at most [`MAX_CONCURRENT_PAGES`]; more wait briefly, then get
    /// a "busy" page, so a flood of page views cannot take over the node's RPC.
    pub pages: Arc<tokio::sync::Semaphore>,
    /// The newest transactions and the indexed height they were read at (see
    /// [`pages::home::latest_txs`]).
    pub latest_txs: std::sync::Mutex<Option<(u64, Arc<Vec<pages::home::LatestTx>>)>>,
}

impl AppState {
    pub fn new(
        rpc: Rpc,
        index: Arc<Index>,
        status: Arc<IndexStatus>,
        base: String,
        page_timeout: Duration,
    ) -> Self {
        Self {
            rpc,
            index,
            status,
            base,
            page_timeout,
            pages: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_PAGES)),
            latest_txs: std::sync::Mutex::new(None),
        }
    }
}

/// Pages built at once.
pub const MAX_CONCURRENT_PAGES: usize = 16;

/// A running explorer: its index follows the chain until it is dropped.
pub struct Explorer {
    state: Arc<AppState>,
    indexer: tokio::task::JoinHandle<()>,
}

impl Explorer {
    /// Opens the index and starts following the node (on the current tokio runtime).
    pub fn start(config: ExplorerConfig) -> Result<Self, ExplorerError> {
        let rpc = Rpc::new(&config.rpc_url, config.rpc_timeout)?;
        let index = Arc::new(Index::open(&config.index_dir)?);
        let status = Arc::new(IndexStatus::new());
        let blocks: Arc<dyn BlockSource> = match &config.blocks {
            Some(source) => source.clone(),
            None => Arc::new(rpc.clone()),
        };
        tracing::debug!(source = blocks.describe(), "explorer indexer");
        let indexer = tokio::spawn(indexer::follow(
            blocks,
            index.clone(),
            status.clone(),
            config.index_batch,
            config.poll,
        ));
        let base = config.base.trim_end_matches('/').to_string();
        Ok(Self {
            state: Arc::new(AppState::new(rpc, index, status, base, config.page_timeout)),
            indexer,
        })
    }

    /// The pages, under the configured base path.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The indexed height, `None` before the first block.
    pub fn indexed_height(&self) -> Option<u64> {
        self.state.index.height().ok().flatten()
    }

    /// Serves the pages on `listen` until `shutdown` completes. `/` redirects to the base.
    pub async fn serve(
        &self,
        listen: SocketAddr,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        on_bound: impl FnOnce(SocketAddr),
    ) -> Result<(), ExplorerError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ExplorerError::Bind {
                addr: listen,
                source,
            })?;
        let local = listener.local_addr().map_err(ExplorerError::Serve)?;
        on_bound(local);
        let base = self.state.base.clone();
        let app = if base.is_empty() {
            self.router()
        } else {
            self.router().route(
                "/",
                axum::routing::get(move || async move { axum::response::Redirect::to(&base) }),
            )
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ExplorerError::Serve)
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        self.indexer.abort();
    }
}
