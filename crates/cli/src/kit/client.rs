//! Reaching the node: a signing client from [`TxArgs`], and the single-threaded runtime a
//! command runs on.

use super::args::TxArgs;
use anyhow::Result;
use lazai_client::{Client, resolve_signer};
use std::time::Duration;

pub use lazai_client::describe_revert;

/// A client that signs with the key `tx` names (`--key`, `--key-file`, `LAZAI_PRIVATE_KEY`)
/// and waits `--timeout` seconds for receipts.
pub(crate) fn signing(tx: &TxArgs) -> Result<Client> {
    let signer = resolve_signer(tx.key.as_deref(), tx.key_file.as_deref())?;
    Client::signing(&tx.rpc, signer, Duration::from_secs(tx.timeout))
}

/// Runs a command's future to completion on a current-thread runtime.
pub(crate) fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}
