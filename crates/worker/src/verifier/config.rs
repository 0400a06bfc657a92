//! How a verifier worker runs, and its first contact with the chain.

use crate::score::Limits;
use crate::sdk::proof_api::ProofApiConfig;
use crate::verify::FileInput;
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow};
use lazai_abi::{DATA_REGISTRY_ADDRESS, IDataRegistry as R, IVsc, VSC_ADDRESS};
use lazai_attest::source::Source;
use lazai_blob::Fetcher;
use lazai_client::Client;
use lazai_crypto::SecretKey;
use std::path::PathBuf;
use std::time::Duration;

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerConfig {
    /// JSON-RPC of a node.
    pub rpc: String,
    /// The iDAO it verifies for.
    pub idao: U256,
    /// Its node key: signs results, proofs and transactions.
    pub signer: PrivateKeySigner,
    /// The iDAO's worker secret (HPKE X25519): opens the sealed data keys.
    pub secret: SecretKey,
    /// The blob stores it reads from; a URL outside them is rejected as unavailable.
    pub fetcher: Fetcher,
    /// Where fetched ciphertext is kept while being verified (private to the worker).
    pub work_dir: PathBuf,
    /// Time between polls.
    pub poll: Duration,
    /// Bounds on what a file may hold.
    pub limits: Limits,
    /// Largest ciphertext it fetches, in bytes.
    pub max_blob: u64,
    /// How long a flow's blobs that cannot be read (missing, a store error, a local disk
    /// error) are retried, with exponential backoff, before such a file is rejected as
    /// unavailable — a rejection its owner may resubmit the file after.
    pub fetch_retry: Duration,
    /// Also serve VerifiedComputing jobs (LazAI's SDK path).
    pub serve_jobs: bool,
    /// How long to wait for a transaction's receipt.
    pub tx_timeout: Duration,
    /// Where its TEE evidence comes from (the platform, or the dev TEE).
    pub tee: Source,
    /// The URL registered with its node record; [`UNSET_NODE_URL`] means the proof API's
    /// own address (`http://IP:PORT`) when it serves one.
    pub url: String,
    /// Serve LazAI's node HTTP API (`POST /proof`) for the SDK's contributions; `None`: no
    /// HTTP API (jobs whose files are in this network's own format are still served).
    pub proof_api: Option<ProofApiConfig>,
}

/// The placeholder URL of a node that has no address of its own to register.
pub const UNSET_NODE_URL: &str = "lazai-worker://";

/// Largest ciphertext a worker fetches by default: 16 GiB.
pub const DEFAULT_MAX_BLOB: u64 = 16 << 30;
/// How long a worker retries unreadable blobs by default ([`WorkerConfig::fetch_retry`]).
pub const DEFAULT_FETCH_RETRY: Duration = Duration::from_secs(60);

impl WorkerConfig {
    /// A worker of `idao` with the defaults: polls every 500 ms, default [`Limits`], blobs up
    /// to [`DEFAULT_MAX_BLOB`] retried for [`DEFAULT_FETCH_RETRY`], serves LazAI SDK jobs,
    /// waits 60 s for a receipt.
    pub fn new(
        rpc: &str,
        idao: U256,
        signer: PrivateKeySigner,
        secret: SecretKey,
        fetcher: Fetcher,
        work_dir: PathBuf,
    ) -> Self {
        Self {
            rpc: rpc.to_string(),
            idao,
            signer,
            secret,
            fetcher,
            work_dir,
            poll: Duration::from_millis(500),
            limits: Limits::default(),
            max_blob: DEFAULT_MAX_BLOB,
            fetch_retry: DEFAULT_FETCH_RETRY,
            serve_jobs: true,
            tx_timeout: Duration::from_secs(60),
            tee: Source::detect(None),
            url: UNSET_NODE_URL.to_string(),
            proof_api: None,
        }
    }
}

/// Creates the work dir and connects to the node as `cfg.signer`; refuses a secret that is not
/// the iDAO's worker key. Returns the client and the chain id.
pub(crate) async fn connect(cfg: &WorkerConfig) -> Result<(Client, u64)> {
    std::fs::create_dir_all(&cfg.work_dir)
        .with_context(|| format!("create {}", cfg.work_dir.display()))?;
    let client = Client::signing(&cfg.rpc, cfg.signer.clone(), cfg.tx_timeout)?;
    let chain_id = client
        .provider()
        .get_chain_id()
        .await
        .with_context(|| format!("reach the node at {}", cfg.rpc))?;
    let config = client
        .call(VSC_ADDRESS, IVsc::dataConfigCall { idaoId: cfg.idao })
        .await
        .with_context(|| format!("read iDAO {}'s data configuration", cfg.idao))?;
    if config.workerKey.as_slice() != cfg.secret.public_key().to_bytes().as_slice() {
        return Err(anyhow!(
            "the worker secret does not match iDAO {}'s worker key {}: contributors seal \
             data keys to that key, so this worker could not open them",
            cfg.idao,
            config.workerKey
        ));
    }
    Ok((client, chain_id))
}

/// A file's URL, hash and the sealed key granted to `account`, from the DataRegistry.
pub(crate) async fn file_input(client: &Client, file: U256, account: Address) -> Result<FileInput> {
    let record = client
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: file })
        .await?;
    let sealed_key = client
        .call(
            DATA_REGISTRY_ADDRESS,
            R::getFilePermissionCall {
                fileId: file,
                account,
            },
        )
        .await?;
    Ok(FileInput {
        url: record.url,
        hash: record.hash,
        sealed_key,
    })
}
