//! `lazai devnet`: a local network with the LazAI SDK's devnet defaults.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{DEV_MNEMONIC, NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{Address, DEVNET_CHAIN_ID, Genesis, lazai};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct DevnetArgs {
    /// Validators to run in this process (each with its own state, over loopback p2p).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// JSON-RPC (HTTP and WebSocket) listen address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub rpc_addr: SocketAddr,
    /// Keep the chain in this directory; restarting with the same directory resumes it.
    /// Without it the chain lives in a temporary directory removed at exit.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub block_time: u64,
    /// First p2p port; validator i listens on 127.0.0.1:(port + i).
    #[arg(long, default_value_t = 30300)]
    pub p2p_port: u16,
    /// Chain id.
    #[arg(long, default_value_t = DEVNET_CHAIN_ID)]
    pub chain_id: u64,
    /// Number of pre-funded dev accounts (from the standard test mnemonic).
    #[arg(long, default_value_t = 10)]
    pub accounts: u32,
    /// Balance of each dev account, in LAZAI.
    #[arg(long, default_value_t = 10_000)]
    pub balance: u64,
    /// Block gas limit.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub gas_limit: u64,
}

/// Loads `<dir>/genesis.json` if present, otherwise writes `genesis`. A restart resumes with
/// the genesis the chain was created with.
fn load_or_store_genesis(dir: &Path, genesis: Genesis) -> Result<Genesis> {
    let path = dir.join("genesis.json");
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        return Genesis::parse(&text).with_context(|| format!("parse {}", path.display()));
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, serde_json::to_string_pretty(&genesis)?)?;
    Ok(genesis)
}

pub fn run(args: DevnetArgs) -> Result<()> {
    if args.validators == 0 || args.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if args.block_time == 0 || args.block_time > 60_000 {
        bail!("--block-time must be between 1 and 60000 ms");
    }
    let temp = tempfile::Builder::new().prefix("lazai-devnet-").tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let signers: Vec<_> = (0..args.accounts)
        .map(dev_account)
        .collect::<Result<_, _>>()
        .context("derive dev accounts")?;
    let addresses: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    let fresh = devnet_genesis(
        args.chain_id,
        args.validators,
        &addresses,
        lazai(args.balance),
        args.gas_limit,
    );
    let genesis = load_or_store_genesis(&data_dir, fresh)?;
    if genesis.validators.len() != args.validators {
        bail!(
            "{} was created with {} validators; start it with --validators {} or use another --data-dir",
            data_dir.display(),
            genesis.validators.len(),
            genesis.validators.len()
        );
    }
    let settings = NodeSettings::new(
        genesis.clone(),
        data_dir.clone(),
        args.rpc_addr,
        Duration::from_millis(args.block_time),
    );
    let keys: Vec<_> = (0..args.validators)
        .map(lazai_consensus::devnet_key)
        .collect();
    let runtime = settings.runtime();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, args.p2p_port).await?;
        print_banner(
            &args,
            &genesis,
            &signers,
            devnet.rpc_addr(),
            &data_dir,
            args.data_dir.is_none(),
        );
        tokio::signal::ctrl_c().await?;
        eprintln!("shutting down");
        Ok::<_, anyhow::Error>(())
    })?;
    drop(temp);
    Ok(())
}

fn print_banner(
    args: &DevnetArgs,
    genesis: &Genesis,
    signers: &[alloy_signer_local::PrivateKeySigner],
    rpc: SocketAddr,
    data_dir: &Path,
    temporary: bool,
) {
    println!();
    println!(
        "LazAI devnet — LazChain chain id {} — {} validator(s), block time {} ms",
        genesis.chain_id,
        genesis.validators.len(),
        args.block_time
    );
    println!();
    println!("Available accounts (mnemonic: \"{DEV_MNEMONIC}\")");
    println!("==================");
    for (i, s) in signers.iter().enumerate() {
        println!("({i}) {} ({} LAZAI)", s.address(), args.balance);
    }
    println!();
    println!("Private keys");
    println!("==================");
    for (i, s) in signers.iter().enumerate() {
        println!(
            "({i}) 0x{}",
            alloy_primitives::hex::encode(s.credential().to_bytes())
        );
    }
    println!();
    println!("Listening on http://{rpc} and ws://{rpc}");
    println!(
        "Data dir: {}{}",
        data_dir.display(),
        if temporary { " (temporary)" } else { "" }
    );
    println!();
}
