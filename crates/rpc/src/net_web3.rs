//! The `net_*` and `web3_*` namespaces.

use crate::api::ChainApi;
use alloy_primitives::{B256, Bytes, U64, keccak256};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use std::sync::Arc;

/// `net_*`: the network this node is on.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// The chain id as a decimal string.
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    /// Always `true`: a running node listens to its peers.
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    /// Connected consensus peers.
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<U64>;
}

/// `web3_*`: client identity and hashing.
#[rpc(server, namespace = "web3")]
pub trait Web3Api {
    /// The node's version string.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// Keccak-256 of the given bytes.
    #[method(name = "sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<B256>;
}

/// The `net_*` and `web3_*` handler over a [`ChainApi`].
pub struct NetWeb3Rpc<A> {
    api: Arc<A>,
}

impl<A: ChainApi> NetWeb3Rpc<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

impl<A: ChainApi> NetApiServer for NetWeb3Rpc<A> {
    fn version(&self) -> RpcResult<String> {
        Ok(self.api.chain_id().to_string())
    }

    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn peer_count(&self) -> RpcResult<U64> {
        Ok(U64::from(self.api.status().peers))
    }
}

impl<A: ChainApi> Web3ApiServer for NetWeb3Rpc<A> {
    fn client_version(&self) -> RpcResult<String> {
        Ok(self.api.client_version())
    }

    fn sha3(&self, data: Bytes) -> RpcResult<B256> {
        Ok(keccak256(&data))
    }
}
