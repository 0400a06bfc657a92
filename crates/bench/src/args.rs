//! The transfer benchmarks' arguments: the load and how it is submitted, and each run's shape.

use clap::Args;

/// The transfer load and how it is submitted.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Transfers to send.
    #[arg(long, default_value_t = 60_000)]
    pub txs: usize,
    /// Distinct funded senders (each sends about txs/senders transfers in nonce order).
    #[arg(long, default_value_t = 3_000)]
    pub senders: usize,
    /// `eth_sendRawTransaction` calls per JSON-RPC batch request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent HTTP connections submitting batches.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time: u64,
    /// Give up waiting for finality after this many seconds.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct TransfersArgs {
    /// Validators in the in-process devnet (run it with 1 and with 4).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CatchupArgs {
    /// Height the validators build before the full node starts: the blocks it is behind.
    #[arg(long, default_value_t = 10_000)]
    pub blocks: u64,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub block_time_ms: u64,
    /// Validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Transfers sent to validator 0 while the chain is built, in rounds of one per sender
    /// (100 senders) a second, so the blocks the full node executes are not all empty.
    #[arg(long, default_value_t = 10_000)]
    pub txs: usize,
    /// Give up on building the chain, and on catching up, after this many seconds each.
    #[arg(long, default_value_t = 1_800)]
    pub timeout: u64,
}
