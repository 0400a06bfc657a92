//! The server: configuration, start-up and the handle that stops it.
//!
//! HTTP and WebSocket share one port. JSON-RPC batches are accepted up to
//! [`RpcConfig::max_batch_len`] calls (a longer batch is answered with one error); request
//! bodies over [`RpcConfig::max_request_body_bytes`] are refused. Every origin may call the
//! server (permissive CORS) so browser wallets and dapps work; bind it to a public address
//! only behind whatever access control the deployment needs.
//!
//! The server runs its own accept loop so that each request carries the client's address
//! ([`ClientAddr`], which caps filters per client) and so that requests whose id is an object
//! or an array are answered with `-32600` (see [`crate::request_ids`]).

use crate::api::ChainApi;
use crate::batch::BatchService;
use crate::debug::{DebugApiServer, DebugRpc};
use crate::dev::{DevEthApiServer, DevSigner, PersonalApiServer};
use crate::devctl::{DevControl, DevControlApiServer};
use crate::error::RpcError;
use crate::eth::{EthApiServer, EthRpc};
use crate::filters::{ClientAddr, EthFilter, EthFilterApiServer, FilterConfig};
use crate::ids::HexIdProvider;
use crate::lazai::{LazaiApiServer, LazaiRpc};
use crate::logs::LogLimits;
use crate::net_web3::{NetApiServer, NetWeb3Rpc, Web3ApiServer};
use crate::request_ids::rewrite_invalid_ids;
use crate::subscriptions::{EthPubSub, EthPubSubApiServer};
use crate::txpool::{TxPoolApiServer, TxPoolRpc};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use jsonrpsee::Methods;
use jsonrpsee::RpcModule;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, HttpBody, Server, ServerConfig, ServerHandle, serve_with_graceful_shutdown,
    stop_channel,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tower::{Service, ServiceExt as _};
use tower_http::cors::CorsLayer;

/// Default JSON-RPC port, as Ethereum clients use.
pub const DEFAULT_PORT: u16 = 8545;

/// Server settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// Where to listen (HTTP and WebSocket); port 0 picks a free port.
    pub addr: SocketAddr,
    /// Largest request body (one call or one batch).
    pub max_request_body_bytes: u32,
    /// Largest response body (one call or one batch).
    pub max_response_body_bytes: u32,
    /// Most calls in one batch.
    pub max_batch_len: u32,
    /// Most simultaneous connections.
    pub max_connections: u32,
    /// Most subscriptions one WebSocket connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Most blocks one `eth_getLogs` range may span.
    pub max_log_range: u64,
    /// Most logs one `eth_getLogs` call may return (and, roughly, one poll of a log filter).
    pub max_logs_per_query: usize,
    /// Limits of `eth_newFilter` and the other polling filters.
    pub filters: FilterConfig,
    /// Keys the node signs with for `eth_sendTransaction`, `eth_sign`, `personal_sign` and
    /// `eth_signTypedData_v4`, listed by `eth_accounts`: a devnet's public dev accounts, never
    /// anything on a real network (empty by default).
    pub dev_accounts: crate::dev::DevAccounts,
    /// An in-process devnet's controls, behind `evm_mine`, `evm_increaseTime`,
    /// `evm_setNextBlockTimestamp` and the balance setters; `None` (the default) on every real
    /// node, whose devnet methods then say they are devnet-only.
    pub dev_controls: Option<lazai_types::DevControls>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            max_request_body_bytes: 5 * 1024 * 1024,
            max_response_body_bytes: 32 * 1024 * 1024,
            max_batch_len: 1000,
            max_connections: 1000,
            max_subscriptions_per_connection: 1024,
            max_log_range: 10_000,
            max_logs_per_query: 10_000,
            filters: FilterConfig::default(),
            dev_accounts: Default::default(),
            dev_controls: None,
        }
    }
}

/// A running server. Dropping it does not stop the server; call [`RpcHandle::stop`].
#[derive(Clone, Debug)]
pub struct RpcHandle {
    local_addr: SocketAddr,
    inner: ServerHandle,
    pages: Pages,
}

/// Web pages served beside JSON-RPC on the same port: requests whose path starts with the
/// prefix go to the router, everything else to JSON-RPC. Empty until [`RpcHandle::mount`].
#[derive(Clone, Default)]
struct Pages(Arc<std::sync::RwLock<Option<(String, axum::Router)>>>);

impl Pages {
    fn route(&self, path: &str) -> Option<axum::Router> {
        let slot = self.0.read().ok()?;
        let (prefix, router) = slot.as_ref()?;
        let rest = path.strip_prefix(prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| router.clone())
    }
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix = self
            .0
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|(p, _)| p.clone()));
        f.debug_tuple("Pages").field(&prefix).finish()
    }
}

impl RpcHandle {
    /// The address the server listens on (the actual port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Asks the server to stop accepting connections and close the open ones; returns at
    /// once. Fails if it has already stopped.
    pub fn stop(&self) -> Result<(), RpcError> {
        self.inner.stop().map_err(|_| RpcError::AlreadyStopped)
    }

    /// Resolves once the server has stopped.
    pub async fn stopped(self) {
        self.inner.stopped().await
    }

    /// Whether the server has stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.is_stopped()
    }

    /// Serves `router` for every request whose path is `prefix` or under it (`/explorer`,
    /// `/explorer/…`), on this server's port, in place of any router mounted before.
    /// JSON-RPC and WebSocket requests keep their paths, so the prefix cannot be `/`.
    pub fn mount(&self, prefix: &str, router: axum::Router) -> Result<(), RpcError> {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.starts_with('/') {
            return Err(RpcError::Mount(format!(
                "{prefix:?}: pages need a path of their own, like /explorer (/ is JSON-RPC's)"
            )));
        }
        if let Ok(mut slot) = self.pages.0.write() {
            *slot = Some((prefix.to_string(), router));
        }
        Ok(())
    }
}

/// Every method of the server: `eth_*` (with subscriptions), `net_*`, `web3_*`, `lazai_*`.
pub fn rpc_module<A: ChainApi>(api: Arc<A>, config: &RpcConfig) -> Result<RpcModule<()>, RpcError> {
    let limits = LogLimits {
        max_range: config.max_log_range,
        max_results: config.max_logs_per_query,
    };
    let mut module = RpcModule::new(());
    let register = |e: jsonrpsee::core::RegisterMethodError| RpcError::Register(e.to_string());
    module
        .merge(EthRpc::new(api.clone(), limits, config.dev_accounts.addresses()).into_rpc())
        .map_err(register)?;
    module
        .merge(EthFilter::new(api.clone(), config.filters.clone(), limits).into_rpc())
        .map_err(register)?;
    module
        .merge(EthPubSub::new(api.clone()).into_rpc())
        .map_err(register)?;
    module
        .merge(NetApiServer::into_rpc(NetWeb3Rpc::new(api.clone())))
        .map_err(register)?;
    module
        .merge(Web3ApiServer::into_rpc(NetWeb3Rpc::new(api.clone())))
        .map_err(register)?;
    module
        .merge(DebugRpc::new(api.clone()).into_rpc())
        .map_err(|e| RpcError::Register(e.to_string()))?;
    module
        .merge(TxPoolRpc::new(api.clone()).into_rpc())
        .map_err(|e| RpcError::Register(e.to_string()))?;
    let dev_accounts = Arc::new(config.dev_accounts.0.clone());
    module
        .merge(DevEthApiServer::into_rpc(DevSigner::new(
            api.clone(),
            dev_accounts.clone(),
        )))
        .map_err(|e| RpcError::Register(e.to_string()))?;
    module
        .merge(PersonalApiServer::into_rpc(DevSigner::new(
            api.clone(),
            dev_accounts.clone(),
        )))
        .map_err(|e| RpcError::Register(e.to_string()))?;
    module
        .merge(DevControlApiServer::into_rpc(DevControl::new(
            api.clone(),
            config.dev_controls.clone(),
            DevSigner::new(api.clone(), dev_accounts),
        )))
        .map_err(register)?;
    module
        .merge(LazaiRpc::new(api).into_rpc())
        .map_err(register)?;
    Ok(module)
}

/// Binds `config.addr` and serves JSON-RPC over HTTP and WebSocket on it until stopped.
///
/// Must be called within a tokio runtime; the server runs on it.
pub async fn start<A: ChainApi>(api: Arc<A>, config: RpcConfig) -> Result<RpcHandle, RpcError> {
    let methods: Methods = rpc_module(api.clone(), &config)?.into();
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .set_id_provider(HexIdProvider)
        .build();
    let max_response = config.max_response_body_bytes as usize;
    let rpc_middleware = RpcServiceBuilder::new()
        .layer_fn(move |service| BatchService::new(service, api.clone(), max_response));
    let http_middleware = tower::ServiceBuilder::new().layer(CorsLayer::permissive());
    let builder = Server::builder()
        .set_config(server_config)
        .set_rpc_middleware(rpc_middleware)
        .set_http_middleware(http_middleware)
        .to_service_builder();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| RpcError::Bind {
            addr: config.addr,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(RpcError::LocalAddr)?;
    let (stop, inner) = stop_channel();
    let max_body = u64::from(config.max_request_body_bytes);
    let pages = Pages::default();
    let mounted = pages.clone();
    tokio::spawn(async move {
        loop {
            let (socket, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, typically: let connections close.
                        tracing::debug!(%error, "rpc server failed to accept a connection");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = stop.clone().shutdown() => break,
            };
            if let Err(error) = socket.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on an rpc connection");
            }
            let connection = builder.clone().build(methods.clone(), stop.clone());
            let client = ClientAddr(remote.ip());
            let pages = mounted.clone();
            let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
                let mut connection = connection.clone();
                let page = pages.route(request.uri().path());
                async move {
                    if let Some(router) = page {
                        let response = router
                            .oneshot(request.map(axum::body::Body::new))
                            .await
                            .unwrap_or_else(|never| match never {});
                        return Ok(response.map(HttpBody::new));
                    }
                    request.extensions_mut().insert(client);
                    let request = screen_ids(request, max_body).await?;
                    connection.call(request).await
                }
            });
            tokio::spawn(serve_with_graceful_shutdown(
                socket,
                service,
                stop.clone().shutdown(),
            ));
        }
    });
    tracing::info!(addr = %local_addr, "rpc server listening (http and websocket)");
    Ok(RpcHandle {
        local_addr,
        inner,
        pages,
    })
}

/// Reads a JSON-RPC POST body of known length (within the body limit) and rewrites requests
/// whose id is an object or an array ([`rewrite_invalid_ids`]); other requests, and bodies
/// over the limit (which jsonrpsee refuses), pass through unread.
async fn screen_ids(
    request: hyper::Request<Incoming>,
    max_body: u64,
) -> Result<hyper::Request<HttpBody>, jsonrpsee::core::BoxError> {
    let length = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let screen = request.method() == hyper::Method::POST && length.is_some_and(|l| l <= max_body);
    let (parts, body) = request.into_parts();
    if !screen {
        return Ok(hyper::Request::from_parts(parts, HttpBody::new(body)));
    }
    let bytes = body.collect().await?.to_bytes();
    let bytes = match rewrite_invalid_ids(&bytes) {
        Some(rewritten) => hyper::body::Bytes::from(rewritten),
        None => bytes,
    };
    Ok(hyper::Request::from_parts(
        parts,
        HttpBody::new(http_body_util::Full::new(bytes)),
    ))
}
