//! `lazai-bench`: the benchmarks, apart from the production `lazai` binary.

use clap::{Parser, Subcommand};
use lazai_bench::BenchCommand;

/// Benchmarks of LazChain: the transaction path, DATs, TEE attestation, data contribution
/// and metered inference.
#[derive(Parser)]
#[command(name = "lazai-bench", version, propagate_version = true)]
struct Cli {
    /// Log filter (`info`, `debug`, `lazai_node=debug,info`, ...).
    #[arg(long, global = true, env = "LAZAI_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Bench(BenchCommand),
    /// `lazai node`: the validator and full node processes `cluster` and `catchup` start are
    /// this executable's, so the benchmark needs no other binary.
    #[command(hide = true)]
    Node(lazai_cli::node::NodeArgs),
}

fn main() -> std::process::ExitCode {
    let huge_pages = lazai_cli::no_huge_pages();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = huge_pages {
        tracing::debug!(%e, "transparent huge pages stay on");
    }
    let result = match cli.command {
        Command::Bench(cmd) => lazai_bench::run(cmd, &cli.log),
        Command::Node(args) => lazai_cli::node::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
