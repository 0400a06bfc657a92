//! `lazai worker`: one verifier node of one iDAO, run until Ctrl-C.
//!
//! The worker needs two keys:
//!
//! - its **node key** (secp256k1, `--key`): the address the iDAO's owner added as a verifier
//!   (`lazai idao verifier add`); it signs flow results, LazAI SDK proofs and transactions, so
//!   its account needs LAZAI for gas;
//! - the iDAO's **worker secret** (X25519, `--worker-secret`): the secret half of the key
//!   contributors seal data keys to (`lazai idao keygen`, `lazai idao configure --worker-key`).
//!
//! It trusts the iDAO's declared blob store plus every `--store` given, and reads ciphertext
//! from nowhere else. The plaintext stays inside this process: the TEE boundary.
//!
//! At start it attests: it gets evidence from the platform it runs on (configfs-tsm, the
//! dstack socket, /dev/sev-guest or the Nitro NSM; `--tee auto`) binding its node address and
//! the worker key, and registers it on chain (`VerifiedComputing.registerAttestedNode`), where
//! the iDAO's TEE policy decides. With no TEE platform it uses the dev TEE, which only a chain
//! whose genesis enables `dev_tee` accepts (every log line then says `tee=dev`); a platform
//! that is present but fails stops the worker. Evidence is refreshed halfway through its life.

use alloy_primitives::U256;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_abi::{IVsc, VSC_ADDRESS};
use lazai_attest::source::Source;
use lazai_blob::{BlobStore, Fetcher};
use lazai_client::{Client, DEFAULT_RPC, resolve_signer};
use lazai_crypto::SecretKey;
use lazai_worker::sdk::fetch::{DEFAULT_IPFS_GATEWAY, FetchPolicy};
use lazai_worker::sdk::proof_api::{DEFAULT_MAX_PLAINTEXT, ProofApiConfig};
use lazai_worker::{DEFAULT_FETCH_RETRY, DEFAULT_MAX_BLOB, UNSET_NODE_URL, Worker, WorkerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable holding the iDAO's worker secret (hex).
pub const WORKER_SECRET_ENV: &str = "LAZAI_WORKER_SECRET";

#[derive(Args)]
pub struct WorkerArgs {
    /// The iDAO this node verifies for.
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256)]
    pub idao: U256,
    /// The node key: a file holding the hex secp256k1 key, or the hex key itself (visible to
    /// other local users while the worker runs: prefer a file). Without it the key is read
    /// from LAZAI_PRIVATE_KEY.
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// A file holding the iDAO's X25519 worker secret (hex). Without it the secret is read
    /// from LAZAI_WORKER_SECRET.
    #[arg(long, value_name = "FILE")]
    pub worker_secret: Option<PathBuf>,
    /// JSON-RPC URL of a node.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Also trust this blob store (a directory, file:///dir or s3://bucket/prefix); the
    /// iDAO's declared store is always trusted. Repeatable.
    #[arg(long = "store", value_name = "URL")]
    pub stores: Vec<String>,
    /// Where fetched ciphertext waits while it is verified (default: a private temporary
    /// directory removed at exit).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Milliseconds between polls of the chain.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub poll_ms: u64,
    /// Largest ciphertext to fetch, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BLOB)]
    pub max_blob: u64,
    /// Seconds to keep retrying a flow's blobs that cannot be read (missing, a store or disk
    /// error), with exponential backoff, before rejecting them as unavailable (their owners
    /// may resubmit them: `lazai data resubmit`).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_FETCH_RETRY.as_secs())]
    pub fetch_retry: u64,
    /// Do not serve VerifiedComputing proof jobs (LazAI's SDK path); only flows.
    #[arg(long)]
    pub no_jobs: bool,
    /// Seconds to wait for each transaction's receipt.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Where TEE evidence comes from: `auto` (the platform's interface if present, else the
    /// dev TEE) or `dev` (the simulated TEE, for development chains).
    #[arg(long, value_name = "SOURCE", default_value = "auto", value_parser = ["auto", "dev"])]
    pub tee: String,
    /// Collateral sent with the evidence: DCAP collateral JSON (QuoteCollateralV3, from a
    /// PCCS) for TDX; the chip's VCEK for SEV-SNP when the host supplies no certificate table.
    #[arg(long, value_name = "FILE")]
    pub tee_collateral: Option<PathBuf>,
    /// The URL registered with this node's record: where LazAI's SDK reaches its
    /// `POST /proof` (e.g. `https://node.example.org` behind a reverse proxy). Default: the
    /// proof API's own `http://ADDR` when it serves one.
    #[arg(long, value_name = "URL", default_value = UNSET_NODE_URL)]
    pub url: String,
    /// Serve LazAI's node HTTP API (`POST /proof`, for contributions made with LazAI's SDK:
    /// OpenPGP files, passwords wrapped to this node's RSA key) on this address, e.g.
    /// `0.0.0.0:8000`. Without it, only files in this network's own format are proved.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_jobs")]
    pub proof_api_addr: Option<SocketAddr>,
    /// Gateway `ipfs://` file URLs are fetched through.
    #[arg(long, value_name = "URL", default_value = DEFAULT_IPFS_GATEWAY)]
    pub ipfs_gateway: String,
    /// Also fetch SDK files from loopback and private addresses (closed networks, tests);
    /// by default only public addresses are fetched from.
    #[arg(long)]
    pub allow_private_urls: bool,
    /// Largest SDK file fetched, in bytes (encrypted; its plaintext may be as large).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_sdk_file: u64,
    /// Seconds a fetch of an SDK file may take, redirects included.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub fetch_timeout: u64,
}

/// The node key from `--key` (a file, or hex) or [`lazai_client::KEY_ENV`].
pub fn node_signer(key: Option<&str>) -> Result<PrivateKeySigner> {
    match key {
        Some(k) if Path::new(k).is_file() => resolve_signer(None, Some(Path::new(k))),
        other => resolve_signer(other, None),
    }
}

/// The worker secret from `--worker-secret FILE` or [`WORKER_SECRET_ENV`].
pub fn worker_secret(path: Option<&Path>) -> Result<SecretKey> {
    let (text, source) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .with_context(|| format!("read worker secret {}", p.display()))?,
            p.display().to_string(),
        ),
        None => match std::env::var(WORKER_SECRET_ENV) {
            Ok(s) if !s.trim().is_empty() => (s, WORKER_SECRET_ENV.to_string()),
            _ => bail!(
                "no worker secret: pass --worker-secret FILE (see `lazai idao keygen --out`) or \
                 set {WORKER_SECRET_ENV}"
            ),
        },
    };
    SecretKey::from_hex(text.trim())
        .with_context(|| format!("invalid X25519 worker secret in {source}"))
}

/// The worker configuration `args` describe (a temporary work dir is kept alive by the
/// returned guard), and the blob stores it trusts.
pub async fn config(args: &WorkerArgs) -> Result<(WorkerConfig, tempfile::TempDir, Vec<String>)> {
    let signer = node_signer(args.key.as_deref())?;
    let secret = worker_secret(args.worker_secret.as_deref())?;
    if args.poll_ms == 0 {
        bail!("--poll-ms must be at least 1");
    }
    let client = Client::read(&args.rpc)?;
    let config = client
        .call(VSC_ADDRESS, IVsc::dataConfigCall { idaoId: args.idao })
        .await
        .with_context(|| format!("read iDAO {}'s data configuration", args.idao))?;
    let mut locations = args.stores.clone();
    if !config.storeUrl.is_empty() {
        locations.insert(0, config.storeUrl.clone());
    }
    if locations.is_empty() {
        bail!(
            "iDAO {} declares no blob store and no --store was given: nothing to read \
             ciphertext from",
            args.idao
        );
    }
    let stores = locations
        .iter()
        .map(|l| BlobStore::open(l).with_context(|| format!("open the blob store {l:?}")))
        .collect::<Result<Vec<_>>>()?;
    let temp = tempfile::Builder::new().prefix("lazai-worker-").tempdir()?;
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let collateral = match &args.tee_collateral {
        Some(p) => Some(lazai_attest::decode_input(
            &std::fs::read(p).with_context(|| format!("read {}", p.display()))?,
        )),
        None => None,
    };
    let tee = match args.tee.as_str() {
        "dev" => Source::Dev(lazai_attest::dev::Simulator::random()),
        _ => Source::detect(collateral),
    };
    tracing::info!(tee = tee.name(), "TEE evidence source");
    let cfg = WorkerConfig {
        tee,
        url: args.url.clone(),
        poll: Duration::from_millis(args.poll_ms),
        max_blob: args.max_blob,
        fetch_retry: Duration::from_secs(args.fetch_retry),
        serve_jobs: !args.no_jobs,
        proof_api: args.proof_api_addr.map(|listen| ProofApiConfig {
            listen,
            fetch: FetchPolicy {
                max_bytes: args.max_sdk_file,
                timeout: Duration::from_secs(args.fetch_timeout.max(1)),
                allow_private: args.allow_private_urls,
                ipfs_gateway: args.ipfs_gateway.clone(),
                ..FetchPolicy::default()
            },
            max_plaintext: usize::try_from(args.max_sdk_file)
                .unwrap_or(usize::MAX)
                .max(DEFAULT_MAX_PLAINTEXT),
        }),
        tx_timeout: Duration::from_secs(args.timeout),
        ..WorkerConfig::new(
            &args.rpc,
            args.idao,
            signer,
            secret,
            Fetcher::new(stores),
            work_dir,
        )
    };
    Ok((cfg, temp, locations))
}

pub fn run(args: WorkerArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (cfg, temp, locations) = config(&args).await?;
        let client = Client::read(&args.rpc)?;
        let verifiers = client
            .call(VSC_ADDRESS, IVsc::verifiersCall { idaoId: args.idao })
            .await?;
        if !verifiers.contains(&cfg.signer.address()) {
            tracing::warn!(node = %cfg.signer.address(), idao = %args.idao,
                "not (yet) a verifier of this iDAO: it will be in no quorum until the owner runs `lazai idao verifier add`");
        }
        let worker = Worker::new(cfg).await?;
        let attested = worker.attestation();
        tracing::info!(node = %worker.address(), idao = %args.idao, tee = attested.platform,
            expires_at = attested.expires_at, stores = ?locations, rpc = %args.rpc,
            url = worker.node_url(), proof_api = ?worker.proof_api_addr(), "worker ready");
        worker
            .run(async {
                match crate::kit::signal::shutdown_signal().await {
                    Ok(signal) => tracing::info!(signal, "shutting down"),
                    Err(e) => tracing::warn!(error = %e, "cannot listen for signals"),
                }
            })
            .await;
        drop(temp);
        Ok(())
    })
}
