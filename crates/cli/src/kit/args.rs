//! The arguments every module command shares: where the node is, who signs, how long to
//! wait, and whether to print JSON.

use clap::Args;
use std::path::PathBuf;

pub use lazai_client::{DEFAULT_RPC, KEY_ENV, parse_key};

/// For commands that only read.
#[derive(Args)]
pub struct ReadArgs {
    /// JSON-RPC URL of the node.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub(crate) rpc: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// For commands that send a transaction.
#[derive(Args)]
pub struct TxArgs {
    /// JSON-RPC URL of the node.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub(crate) rpc: String,
    /// The signer's private key in hex. Visible to other local users while the command runs:
    /// prefer --key-file or LAZAI_PRIVATE_KEY.
    #[arg(long, value_name = "HEX")]
    pub(crate) key: Option<String>,
    /// A file holding the signer's hex private key (used when --key is not given; without
    /// either, the key is read from LAZAI_PRIVATE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Seconds to wait for the transaction's receipt.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// How much state history a node keeps (`lazai devnet`, `lazai node`).
#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// Keep the state of the last BLOCKS finalized blocks readable: `eth_getBalance`,
    /// `eth_getTransactionCount`, `eth_call`, `eth_estimateGas` and `lazai_getProof` at a block
    /// number or hash. Older blocks answer "historical state is not available".
    #[arg(long, value_name = "BLOCKS", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub history: u64,
    /// Keep every block's state (an archive node): the data dir then grows with every block's
    /// changed trie nodes.
    #[arg(long)]
    pub archive: bool,
}

impl HistoryArgs {
    pub fn history(&self) -> lazai_node::History {
        if self.archive {
            lazai_node::History::Archive
        } else {
            lazai_node::History::Recent(self.history)
        }
    }
}
