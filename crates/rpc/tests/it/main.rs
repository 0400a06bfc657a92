//! End-to-end tests: the server on 127.0.0.1:0 over a mock chain, called over HTTP and
//! WebSocket.

mod client;
mod eth;
mod filters;
mod mock;
mod server;
mod ws;

use lazai_rpc::{RpcConfig, RpcHandle};
use mock::Mock;
use std::sync::Arc;

/// Starts a server on a free port with small limits that the tests can exceed.
pub async fn start() -> (RpcHandle, Arc<Mock>) {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut RpcConfig)) -> (RpcHandle, Arc<Mock>) {
    let mut config = RpcConfig {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        max_request_body_bytes: 64 * 1024,
        max_batch_len: 10,
        max_log_range: 100,
        ..RpcConfig::default()
    };
    tweak(&mut config);
    let mock = Mock::new();
    let handle = lazai_rpc::start(mock.clone(), config)
        .await
        .expect("server starts");
    (handle, mock)
}
