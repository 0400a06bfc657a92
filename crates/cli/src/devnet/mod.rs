//! `lazai devnet`: a local network with the LazAI SDK's devnet defaults, and the code that
//! runs local networks: the default iDAO's in-process services ([`default_idao`]), clusters
//! of `lazai node` processes ([`cluster`]) and `lazai demo` ([`demo`]).

pub mod cluster;
pub mod default_idao;
pub mod demo;

use self::cluster::{Cluster, ClusterPlan, Event, RestartPolicy};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{
    DEV_MNEMONIC, Devnet, NodeSettings, dev_account, devnet_genesis, start_devnet,
    with_default_idao,
};
use lazai_types::{Address, DEVNET_CHAIN_ID, Genesis, lazai};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct DevnetArgs {
    /// Validators to run (each with its own state, over loopback p2p).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// Run each validator as its own `lazai node` process (keys, genesis, configs and logs
    /// under --data-dir), instead of all in this process.
    #[arg(long, conflicts_with_all = ["rpc_addr", "p2p_port", "rpc_max_connections"])]
    pub processes: bool,
    /// With --processes: validator i serves JSON-RPC on 127.0.0.1:(port + i) and p2p on
    /// 127.0.0.1:(port + 100 + i). An existing --data-dir keeps the ports it was created with.
    #[arg(long, requires = "processes")]
    pub base_port: Option<u16>,
    /// With --processes: also run this many non-validating full nodes (after the validators'
    /// ports), which follow the chain, serve RPC and forward transactions to the validators.
    #[arg(long, default_value_t = 1, requires = "processes")]
    pub full_nodes: usize,
    /// With --processes: when a node exits on its own, start it again (after 1 s, doubling
    /// up to 30 s per restart of the same node). Without it the node stays down and the
    /// others keep running.
    #[arg(long, requires = "processes")]
    pub restart: bool,
    /// With --restart: restarts per node before it is left down.
    #[arg(long, default_value_t = 5, requires = "restart")]
    pub max_restarts: u32,
    /// JSON-RPC (HTTP and WebSocket) listen address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub rpc_addr: SocketAddr,
    /// Most simultaneous connections the JSON-RPC server accepts (HTTP requests in flight and
    /// open WebSockets). The devnet's own services use a separate internal listener.
    #[arg(long, default_value_t = lazai_rpc::RpcConfig::default().max_connections)]
    pub rpc_max_connections: u32,
    /// Keep the chain in this directory; restarting with the same directory resumes it.
    /// Without it the chain lives in a temporary directory removed at exit.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Target block time in milliseconds. 0 makes blocks on demand: one as soon as a transaction
    /// waits, or when `evm_mine` / `hardhat_mine` asks (in-process devnets only).
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
    /// Do not set up the default iDAO (id 1: accepts CSV and JSON-lines files, ciphertext in
    /// DATA_DIR/blobs, verified by an in-process dev-TEE worker, one flow per batch of
    /// contributions). Without this flag `lazai data contribute FILE --idao 1` works at once
    /// (in-process devnets only: --processes sets up no default iDAO).
    #[arg(long)]
    pub no_default_idao: bool,
    /// Where the default iDAO's worker serves LazAI's node HTTP API (`POST /proof`, for
    /// contributions made with LazAI's SDK); its `http://` URL is registered on chain as the
    /// node's URL and printed at start. Port 0 takes a free port.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        conflicts_with = "processes"
    )]
    pub proof_api_addr: SocketAddr,
    #[command(flatten)]
    pub history: crate::kit::args::HistoryArgs,
}

/// Loads `<dir>/genesis.json` if present, otherwise writes `genesis`. A restart resumes with
/// the genesis the chain was created with.
pub fn load_or_store_genesis(dir: &Path, genesis: Genesis) -> Result<Genesis> {
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

pub fn run(args: DevnetArgs, log_filter: &str) -> Result<()> {
    if args.validators == 0 || args.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if args.block_time > 60_000 {
        bail!("--block-time must be at most 60000 ms (0 makes blocks on demand)");
    }
    if args.block_time == 0 && args.processes {
        bail!(
            "--block-time 0 (blocks on demand) needs the validators in this process: drop --processes"
        );
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
    if args.processes {
        run_processes(&args, &data_dir, &signers, log_filter)?;
        drop(temp);
        return Ok(());
    }
    if data_dir
        .join("validator-0")
        .join(cluster::CONFIG_FILE)
        .exists()
    {
        bail!(
            "{} holds a cluster of node processes; start it with --processes",
            data_dir.display()
        );
    }
    let mut fresh = devnet_genesis(
        args.chain_id,
        args.validators,
        &addresses,
        lazai(args.balance),
        args.gas_limit,
    );
    let blobs = default_idao::blob_dir(&data_dir);
    if !args.no_default_idao && !data_dir.join("genesis.json").exists() {
        let store = lazai_blob::BlobStore::open(&blobs.display().to_string())
            .with_context(|| format!("open the default iDAO's blob store {}", blobs.display()))?;
        fresh = with_default_idao(fresh, store.base_url(), lazai(args.balance));
    }
    let genesis = load_or_store_genesis(&data_dir, fresh)?;
    if genesis.validators.len() != args.validators {
        bail!(
            "{} was created with {} validators; start it with --validators {} or use another --data-dir",
            data_dir.display(),
            genesis.validators.len(),
            genesis.validators.len()
        );
    }
    let mut settings = NodeSettings::new(
        genesis.clone(),
        data_dir.clone(),
        args.rpc_addr,
        Duration::from_millis(args.block_time),
    );
    settings.rpc.max_connections = args.rpc_max_connections;
    // The dev accounts' keys are public; a devnet signs with them on request
    // (`eth_sendTransaction`, `eth_sign`, …), as Hardhat and Foundry expect.
    settings.rpc.dev_accounts = lazai_rpc::dev::DevAccounts(signers.clone());
    settings.history = args.history.history();
    // One set of controls for every in-process validator and the RPC server: blocks on demand
    // with --block-time 0, and the clock `evm_increaseTime` moves.
    settings.dev = Some(lazai_types::DevControls::new(args.block_time == 0));
    let keys: Vec<_> = (0..args.validators)
        .map(lazai_consensus::devnet_key)
        .collect();
    let runtime = settings.runtime();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let (devnet, services) = start_in_process(
            context,
            settings,
            keys,
            args.p2p_port,
            (!args.no_default_idao).then_some(args.proof_api_addr),
            &data_dir,
        )
        .await?;
        // The explorer reads through the internal listener, like the default iDAO's services,
        // so a full public listener does not blind it.
        let explorer = crate::explorer::mount_on(
            &devnet.rpc,
            &format!("http://{}", devnet.internal_rpc_addr()),
            std::sync::Arc::new(devnet.nodes[0].clone()),
            &data_dir,
        )?;
        print_banner(
            &args,
            &genesis,
            &signers,
            devnet.rpc_addr(),
            &data_dir,
            args.data_dir.is_none(),
        );
        if let Some(s) = &services {
            s.print_banner();
        }
        let signal = crate::kit::signal::shutdown_signal().await?;
        eprintln!("{signal}: shutting down");
        drop(explorer);
        if let Some(s) = services {
            s.stop().await;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    drop(temp);
    Ok(())
}

/// Starts the validators of `settings` in this process and, with `default_idao` (the address
/// its worker's proof API listens on), the default iDAO's services ([`default_idao::start`]). The services reach the chain through the
/// devnet's internal RPC listener, so they keep working when the public one is full. A p2p
/// port that is taken fails here, before anything serves.
pub async fn start_in_process<E>(
    context: E,
    settings: NodeSettings,
    keys: Vec<lazai_consensus::keys::PrivateKey>,
    p2p_port: u16,
    default_idao: Option<SocketAddr>,
    data_dir: &Path,
) -> Result<(Devnet, Option<default_idao::Services>)>
where
    E: lazai_node::commonware_runtime_bounds::Context,
{
    let devnet = start_devnet(context, settings, keys, p2p_port)
        .await
        .map_err(|e| match e.p2p_addr_in_use() {
            Some(addr) => anyhow!("p2p port {} is in use; pass --p2p-port", addr.port()),
            None => e.into(),
        })?;
    let services = match default_idao {
        Some(proof_api) => {
            let rpc = format!("http://{}", devnet.internal_rpc_addr());
            default_idao::start(&rpc, data_dir, proof_api).await?
        }
        None => None,
    };
    Ok((devnet, services))
}

/// `devnet --processes`: one `lazai node` process per validator, supervised until a signal.
/// A node that exits is reported and, with `--restart`, started again; the others keep
/// running.
fn run_processes(
    args: &DevnetArgs,
    data_dir: &Path,
    signers: &[PrivateKeySigner],
    log_filter: &str,
) -> Result<()> {
    let mut addrs = cluster::loopback_addrs(
        args.base_port.unwrap_or(DEFAULT_BASE_PORT),
        args.validators + args.full_nodes,
    )?;
    let full_nodes = addrs.split_off(args.validators);
    let plan = ClusterPlan {
        chain_id: args.chain_id,
        validators: addrs,
        full_nodes,
        accounts: signers.iter().map(|s| s.address()).collect(),
        balance: lazai(args.balance),
        gas_limit: args.gas_limit,
        block_time_ms: args.block_time,
    };
    let layout = cluster::init_or_load(data_dir, &plan)?;
    if !layout.created && args.base_port.is_some() {
        eprintln!(
            "note: {} already holds a cluster; its nodes keep the ports in their configs",
            data_dir.display()
        );
    }
    let exe = std::env::current_exe().context("locate the lazai executable")?;
    let mut cluster = Cluster::start(&exe, &layout.nodes, log_filter)?;
    let policy = if args.restart {
        RestartPolicy::up_to(args.max_restarts)
    } else {
        RestartPolicy::NEVER
    };

    println!();
    println!(
        "LazAI devnet — LazChain chain id {} — {} validator processes{}",
        layout.genesis.chain_id,
        layout.genesis.validators.len(),
        if layout.created {
            String::new()
        } else {
            " (restarted from the existing keys, genesis, configs and data)".to_string()
        }
    );
    println!();
    print_accounts(args.balance, signers);
    cluster::print_table(&layout.nodes);
    let explorers: Vec<String> = layout
        .nodes
        .iter()
        .filter(|n| crate::node::NodeConfig::load(&n.config).is_ok_and(|c| c.explorer))
        .map(|n| format!("{}{}", n.rpc_url(), lazai_explorer::BASE_PATH))
        .collect();
    if let Some(first) = explorers.first() {
        let each = if explorers.len() > 1 {
            " (each node serves one on its RPC port)"
        } else {
            ""
        };
        println!("Explorer: {first}{each}");
    }
    let pids: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| format!("{} {}", n.spec().name, n.pid()))
        .collect();
    println!("pids: {}", pids.join(", "));
    println!();
    println!(
        "Data dir: {}{}",
        data_dir.display(),
        if args.data_dir.is_none() {
            " (temporary)"
        } else {
            ""
        }
    );
    println!();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let signal = crate::kit::signal::shutdown_signal();
        tokio::pin!(signal);
        tokio::select! {
            ready = cluster.wait_finalizing(Duration::from_secs(120)) => {
                let height = ready?;
                println!("finalizing (height {height}); Ctrl-C stops every node");
            }
            s = &mut signal => {
                eprintln!("{}: stopping the nodes", s?);
                return Ok(());
            }
        }
        tokio::select! {
            () = cluster.supervise(policy, |event| report(&event, policy)) => {
                bail!("every node has exited")
            }
            s = &mut signal => {
                eprintln!("{}: stopping the nodes", s?);
                Ok(())
            }
        }
    });
    if outcome.is_err() {
        eprintln!("stopping the nodes");
    }
    for (name, status) in cluster.stop(STOP_GRACE) {
        match status {
            Ok(status) => eprintln!("{name}: {status}"),
            Err(e) => eprintln!("{name}: {e:#}"),
        }
    }
    outcome
}

/// Prints what the supervisor of `devnet --processes` saw: which node exited, how, where its
/// log is, and whether it comes back.
fn report(event: &Event, policy: RestartPolicy) {
    match event {
        Event::Exited {
            exit,
            restart_in,
            restarts,
        } => {
            eprint!("{exit}");
            match restart_in {
                Some(wait) => eprintln!(
                    "restarting {} in {} ms (restart {} of {}); the other nodes keep running",
                    exit.name,
                    wait.as_millis(),
                    restarts + 1,
                    policy.max_restarts
                ),
                None if policy.max_restarts == 0 => eprintln!(
                    "{} stays down; the other nodes keep running (--restart brings a node back)",
                    exit.name
                ),
                None => eprintln!(
                    "{} stays down after {restarts} restarts; the other nodes keep running",
                    exit.name
                ),
            }
        }
        Event::Restarted { name, pid, restart } => {
            println!("{name} restarted (pid {pid}, restart {restart})");
        }
        Event::RestartFailed { name, error } => {
            eprintln!("{name}: could not restart: {error:#}");
        }
    }
}

/// Validator 0's JSON-RPC port under `--processes` without `--base-port`.
const DEFAULT_BASE_PORT: u16 = 8545;

/// How long a node gets to shut down after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

fn print_accounts(balance: u64, signers: &[PrivateKeySigner]) {
    println!("Available accounts (mnemonic: \"{DEV_MNEMONIC}\")");
    println!("==================");
    for (i, s) in signers.iter().enumerate() {
        println!("({i}) {} ({balance} LAZAI)", s.address());
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
}

fn print_banner(
    args: &DevnetArgs,
    genesis: &Genesis,
    signers: &[PrivateKeySigner],
    rpc: SocketAddr,
    data_dir: &Path,
    temporary: bool,
) {
    println!();
    let pace = if args.block_time == 0 {
        "blocks on demand (a transaction or evm_mine makes one)".to_string()
    } else {
        format!("block time {} ms", args.block_time)
    };
    println!(
        "LazAI devnet — LazChain chain id {} — {} validator(s), {pace}",
        genesis.chain_id,
        genesis.validators.len(),
    );
    println!();
    print_accounts(args.balance, signers);
    println!("Listening on http://{rpc} and ws://{rpc}");
    println!("Explorer: http://{rpc}{}", lazai_explorer::BASE_PATH);
    println!(
        "Data dir: {}{}",
        data_dir.display(),
        if temporary { " (temporary)" } else { "" }
    );
    println!();
}
