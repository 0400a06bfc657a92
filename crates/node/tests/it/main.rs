//! Node integration tests: an in-process devnet driven over HTTP JSON-RPC by alloy's provider
//! and local signer, restarts from the data dir, and a four-validator network.

mod dat;
mod devctl;
mod epochs;
mod errors;
mod evm;
mod evm_calls;
mod history;
mod lazai_abi;
mod restart;
mod rpc;
mod sdk_path;
mod slashing;
mod support;
mod validators;
