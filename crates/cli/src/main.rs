//! `lazai`: run a LazChain devnet or validator, manage keys and genesis, query status, and
//! use LazAI's modules (DATs, iDAOs, data, flows, workers, attestation, models). The
//! benchmarks are the separate `lazai-bench` binary (`crates/bench`).

use clap::{Parser, Subcommand};
use lazai_cli::{
    attest, dat, data, devnet, explorer, genesis, keys, model, node, optimistic, status, worker, zk,
};

/// LazAI network node: LazChain, an Ethereum-compatible chain finalized by commonware BFT
/// consensus, with LazAI's contracts as native modules.
#[derive(Parser)]
#[command(name = "lazai", version, propagate_version = true)]
struct Cli {
    /// Log filter (`info`, `debug`, `lazai_node=debug,info`, ...).
    #[arg(long, global = true, env = "LAZAI_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local development network with pre-funded accounts (chain id 133718).
    Devnet(devnet::DevnetArgs),
    /// See what LazAI does: an embedded devnet walks the whole loop — encrypted data
    /// contributed and verified, DATs minted, a model trained and sold per call, revenue
    /// claimed by the data's contributors — and prints who earned what.
    Demo(devnet::demo::DemoArgs),
    /// Run one validator from a config file.
    Node(node::NodeArgs),
    /// Manage validator consensus keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Build a genesis file.
    Genesis(genesis::GenesisArgs),
    /// Print a node's status (height, finalized block, validators, peers).
    Status(status::StatusArgs),
    /// Serve the web explorer for any node: blocks, transactions, and LazAI's iDAOs, DATs,
    /// flows, models (with lineage) and verification tasks (devnets serve it at /explorer).
    Explorer(explorer::ExplorerArgs),
    /// Data Anchoring Tokens: classes, minting, usage and revenue.
    #[command(subcommand)]
    Dat(dat::DatCommand),
    /// iDAOs: register, show, configure data verification (LazAI Flows), verifiers, keys.
    #[command(subcommand)]
    Idao(data::IdaoCommand),
    /// Data contributions: contribute, status, decrypt, list.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// LazAI Flows: submit files for verification, show a flow.
    #[command(subcommand)]
    Flow(data::FlowCommand),
    /// A verifier node of one iDAO: attests (TEE evidence), verifies its flows (and LazAI SDK
    /// proof jobs) and posts signed results.
    Worker(worker::WorkerArgs),
    /// TEE attestation: verify evidence offline, iDAO TEE policies, node attestations.
    #[command(subcommand)]
    Attest(attest::AttestCommand),
    /// Models: train on an iDAO's verified data and register, serve with metering, buy usage,
    /// call, show.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Zero-knowledge proofs: register Groth16 circuits (snarkjs format) and check proofs on
    /// chain; prove a model's inference locally, export its circuit for a ceremony.
    #[command(subcommand)]
    Zk(zk::ZkCommand),
    /// Watch an iDAO's optimistic results: re-execute each one this challenger can open and
    /// dispute the wrong ones with the fraud-proof game (bonded; only the wrong ones).
    Challenger(optimistic::ChallengerArgs),
    /// Verifier tasks: the execution record of off-chain work and how it was verified.
    #[command(subcommand)]
    Task(zk::TaskCommand),
}

/// Makes a write to a closed stdout (`lazai ... | head`) end the process quietly instead of
/// panicking with a backtrace: Rust ignores SIGPIPE, so `println!` panics on EPIPE. The
/// output's reader is gone, so there is nobody to tell and nothing left to do.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout")
            && epipe_message().is_some_and(|e| message.ends_with(&e))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// How std words EPIPE in an I/O error ("Broken pipe (os error 32)").
#[cfg(unix)]
fn epipe_message() -> Option<String> {
    Some(std::io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error()).to_string())
}

#[cfg(not(unix))]
fn epipe_message() -> Option<String> {
    None
}

fn main() -> std::process::ExitCode {
    exit_quietly_on_broken_pipe();
    let huge_pages = lazai_cli::no_huge_pages();
    let cli = Cli::parse();
    // The demo narrates on stdout; unless asked, its node logs only warnings.
    let log_given = std::env::var_os("LAZAI_LOG").is_some()
        || std::env::args().any(|a| a == "--log" || a.starts_with("--log="));
    let log = if matches!(cli.command, Command::Demo(_)) && !log_given {
        "warn"
    } else {
        cli.log.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_new(log)
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
        Command::Devnet(args) => devnet::run(args, &cli.log),
        Command::Demo(args) => devnet::demo::run(args),
        Command::Node(args) => node::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Genesis(args) => genesis::run(args),
        Command::Status(args) => status::run(args),
        Command::Explorer(args) => explorer::run(args),
        Command::Dat(cmd) => dat::run(cmd),
        Command::Idao(cmd) => data::run_idao(cmd),
        Command::Data(cmd) => data::run_data(cmd),
        Command::Flow(cmd) => data::run_flow(cmd),
        Command::Worker(args) => worker::run(args),
        Command::Attest(cmd) => attest::run(cmd),
        Command::Zk(cmd) => zk::run(cmd),
        Command::Task(cmd) => zk::run_task(cmd),
        Command::Challenger(a) => optimistic::run_challenger(a),
        Command::Model(cmd) => model::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
