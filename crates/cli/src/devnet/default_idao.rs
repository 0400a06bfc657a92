//! The devnet's default iDAO, ready out of the box.
//!
//! A fresh `lazai devnet` (without `--no-default-idao`) writes into its genesis iDAO 1 —
//! accepting any CSV or JSON-lines file, ciphertext in `DATA_DIR/blobs`, a quorum of one, no
//! fee (see [`lazai_node::with_default_idao`]) — and runs two services in its process:
//!
//! - a verifier [`Worker`] (dev TEE) holding the iDAO's devnet worker secret, serving its flows
//!   and LazAI SDK proof jobs, with LazAI's node HTTP API (`POST /proof`) on loopback; its
//!   RSA key is published as `DataRegistry.publicKey()` (genesis names it the key publisher);
//! - a flow [`Packager`] signing as the iDAO's owner, which packages every file shared with
//!   the iDAO into a flow as soon as it sees it.
//!
//! So `lazai data contribute FILE --idao 1` against a fresh devnet ends, within seconds, with
//! the file verified and its DAT minted.

use alloy_primitives::U256;
use anyhow::Result;
use lazai_abi::{IVsc, VSC_ADDRESS};
use lazai_blob::{BlobStore, Fetcher};
use lazai_client::Client;
use lazai_node::{DEVNET_OPERATOR_INDEX, DEVNET_WORKER_INDEX, dev_account, devnet_worker_secret};
use lazai_worker::sdk::fetch::FetchPolicy;
use lazai_worker::sdk::proof_api::ProofApiConfig;
use lazai_worker::{Packager, Worker, WorkerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The default iDAO's id.
pub const DEFAULT_IDAO: u64 = 1;
/// How often the in-process services poll the chain.
const POLL: Duration = Duration::from_millis(200);

/// Where the default iDAO's blob store lives under a devnet's data dir.
pub fn blob_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("blobs")
}

/// The running worker and packager.
pub struct Services {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    worker: alloy_primitives::Address,
    store: String,
    node_url: String,
}

impl Services {
    pub fn print_banner(&self) {
        println!(
            "Default iDAO {DEFAULT_IDAO}: CSV and JSON-lines files, verified by the in-process dev-TEE worker {}",
            self.worker
        );
        println!("  blob store {}", self.store);
        println!(
            "  LazAI SDK node {} (POST /proof; DataRegistry.publicKey() is its RSA key)",
            self.node_url
        );
        println!(
            "  try: lazai data contribute FILE --idao {DEFAULT_IDAO} --key <a private key above>"
        );
        println!();
    }

    /// Stops both services and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts the default iDAO's services against the devnet at `rpc`, if its genesis set the
/// default iDAO up (iDAO 1 configured with the devnet worker key); `None` otherwise.
pub async fn start(rpc: &str, data_dir: &Path, proof_api: SocketAddr) -> Result<Option<Services>> {
    let idao = U256::from(DEFAULT_IDAO);
    let client = Client::read(rpc)?;
    let configured = client
        .call(VSC_ADDRESS, IVsc::isConfiguredCall { idaoId: idao })
        .await?;
    let secret = devnet_worker_secret();
    if !configured {
        tracing::info!("this devnet's genesis has no default iDAO; no in-process worker");
        return Ok(None);
    }
    let config = client
        .call(VSC_ADDRESS, IVsc::dataConfigCall { idaoId: idao })
        .await?;
    if config.workerKey.as_slice() != secret.public_key().to_bytes().as_slice() {
        tracing::info!("iDAO 1 is not the devnet's default iDAO; no in-process worker");
        return Ok(None);
    }
    let store = BlobStore::open(&config.storeUrl)?;
    let signer = dev_account(DEVNET_WORKER_INDEX)?;
    let worker_address = signer.address();
    let cfg = WorkerConfig {
        poll: POLL,
        // The devnet's own worker always uses the dev TEE (the devnet's genesis enables it).
        tee: lazai_attest::source::Source::Dev(lazai_attest::dev::Simulator::random()),
        // A devnet's contributors serve their files from this machine.
        proof_api: Some(ProofApiConfig {
            listen: proof_api,
            fetch: FetchPolicy {
                allow_private: true,
                ..FetchPolicy::default()
            },
            ..ProofApiConfig::default()
        }),
        ..WorkerConfig::new(
            rpc,
            idao,
            signer,
            secret,
            Fetcher::new(vec![store]),
            data_dir.join("worker"),
        )
    };
    let worker = Worker::new(cfg).await?;
    let tee = worker.attestation().platform;
    let node_url = worker.node_url().to_string();
    let packager = Packager::new(rpc, dev_account(DEVNET_OPERATOR_INDEX)?, idao, POLL)?;
    let (stop, rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let tasks = vec![
        tokio::spawn(worker.run(stopped(rx.clone()))),
        tokio::spawn(packager.run(stopped(rx))),
    ];
    tracing::info!(idao = DEFAULT_IDAO, worker = %worker_address, tee, store = %config.storeUrl,
        "default iDAO ready: in-process verifier worker and flow packager");
    Ok(Some(Services {
        stop,
        tasks,
        worker: worker_address,
        store: config.storeUrl,
        node_url,
    }))
}
