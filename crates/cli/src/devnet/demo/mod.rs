//! `lazai demo`: LazAI's whole loop on an embedded devnet — data → verification → DATs →
//! training → metered inference → revenue back to the data's contributors.
//!
//! Cast (devnet accounts): 0 runs the iDAO (and is the devnet's governance); 1–3 are the
//! contributors Alice, Bob and Carol; 4 is Dave, the consumer; 6 is the iDAO's model worker
//! (trains and serves); 7–9 are its verifier workers. All workers use the dev TEE.
//!
//! 1. The iDAO registers, declares the wine-quality schema, a quorum of 3 verifiers (2 must
//!    agree), and a dev-TEE policy.
//! 2. Alice, Bob and Carol encrypt slices of the UCI wine-quality data set (red, 1,599 rows)
//!    to the iDAO's worker key and contribute them; the iDAO packages them into a flow; the
//!    quorum decrypts them inside its TEE boundary, scores them and anchors the results; each
//!    contributor gets a dataset DAT whose share is its file's score.
//! 3. The model worker trains a model on the verified rows (every fifth held out), quantizes
//!    it to integers, signs the training report and registers the model as a DAT class whose
//!    lineage is the dataset class.
//! 4. Dave buys 100 calls (a usage DAT), makes them against the worker's `/v1/predict` with
//!    signed headers, and checks every receipt's signature; usage is recorded on chain in
//!    batches.
//!    The iDAO also takes optimistic results: Erin (account 5) registers as its challenger;
//!    one of Dave's calls is posted optimistically and is final after its window, untouched;
//!    then the worker posts a tampered result and Erin proves it wrong with the fraud-proof
//!    game (the worker's bond slashed: Dave refunded, Erin paid, the rest burned).
//! 5. The payment was split at purchase: 20% to the model class (the iDAO's ownership token),
//!    80% to the dataset class, shared by score. Everyone claims; the summary shows who
//!    earned what and that `paid = claimed + unclaimed + dust` exactly.

mod cast;
mod claims;
mod fixtures;
mod optimistic;
mod walk;
mod wine_model;

pub use self::cast::{ContributorRow, Summary};
pub use self::fixtures::{WINE, WINE_SCHEMA, dev_tee_idao, submit_file, wait_flow, wine_slice};
pub use self::walk::walk;
pub use self::wine_model::{register_model, registered_model, wine_dataset};

use self::cast::{account, print_summary};
use crate::devnet::load_or_store_genesis;
use alloy_primitives::Address;
use anyhow::{Context as _, Result, bail};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::path::PathBuf;
use std::time::Duration;

/// `lazai demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where the demo's chain, blobs, model and summary go [default: ./lazai-demo, or
    /// ./lazai-demo-2, -3… when taken]. Must not exist or be empty.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the summary as JSON on stdout (the narration goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Keep the devnet running after the summary, for inspection with the CLI and RPC
    /// (Ctrl-C stops it).
    #[arg(long)]
    pub keep_running: bool,
    /// Inference calls the consumer buys and makes.
    #[arg(long, default_value_t = 100)]
    pub calls: u64,
    /// Price of one call, in LAZAI.
    #[arg(long, default_value = "0.01")]
    pub price: String,
    /// Block time in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub block_time: u64,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub rpc_addr: std::net::SocketAddr,
}

/// The first of `./lazai-demo`, `./lazai-demo-2`, … that does not exist.
fn default_dir() -> PathBuf {
    let mut n = 1;
    loop {
        let p = if n == 1 {
            PathBuf::from("lazai-demo")
        } else {
            PathBuf::from(format!("lazai-demo-{n}"))
        };
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// Runs `lazai demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let data_dir = match &args.data_dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                bail!(
                    "{} is not empty; the demo starts a fresh chain (pass another --data-dir)",
                    d.display()
                );
            }
            d.clone()
        }
        None => default_dir(),
    };
    std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let price = crate::kit::units::parse_lazai(&args.price)?;
    if args.calls == 0 || args.calls > 100_000 {
        bail!("--calls must be between 1 and 100000");
    }
    let accounts: Vec<Address> = (0..10).map(|i| account(i).address()).collect();
    let genesis = load_or_store_genesis(
        &data_dir,
        devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(10_000), 1_000_000_000),
    )?;
    let settings = NodeSettings::new(
        genesis,
        data_dir.clone(),
        args.rpc_addr,
        Duration::from_millis(args.block_time.clamp(10, 60_000)),
    );
    let p2p = crate::devnet::cluster::free_port_run(1)?;
    let keys = vec![lazai_consensus::devnet_key(0)];
    let runtime = settings.runtime();
    let json = args.json;
    let keep = args.keep_running;
    let calls = args.calls;
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p)
            .await
            .with_context(|| format!("start the devnet (is {} free?)", args.rpc_addr))?;
        let rpc = format!("http://{}", devnet.rpc_addr());
        let explorer = crate::explorer::mount_on(
            &devnet.rpc,
            &rpc,
            std::sync::Arc::new(devnet.nodes[0].clone()),
            &data_dir,
        )?;
        let say = |line: &str| {
            if json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        };
        let summary = walk(&rpc, &data_dir, calls, price, &say).await?;
        let path = data_dir.join("demo-summary.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            print_summary(&summary);
            println!();
            println!("Summary saved to {}", path.display());
        }
        say(&format!(
            "Inspect it later: lazai devnet --data-dir {} --no-default-idao (resumes this chain at {rpc}), then e.g. `lazai dat class show {} --rpc {rpc}`",
            data_dir.display(),
            summary.model_class
        ));
        if keep {
            say(&format!(
                "The devnet keeps running at {rpc}; explore it at {rpc}{}. Ctrl-C stops it.",
                lazai_explorer::BASE_PATH
            ));
            let signal = crate::kit::signal::shutdown_signal().await?;
            eprintln!("{signal}: shutting down");
        }
        drop(explorer);
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}
