//! [`Worker`] is one verifier node of one iDAO. Every poll it:
//!
//! 1. walks the VSC's flows in id order. Flows of other iDAOs are skipped. A *verified* flow of
//!    its iDAO adds the rows of its accepted files to the worker's accepted set (the rows the
//!    next files are judged against) — from the verdicts it computed itself, or by scoring the
//!    files now if it was not in that quorum, dissented, or was restarted (the set lives in
//!    memory and is rebuilt from the verified files on chain). A *disputed* flow adds nothing.
//!    At the first *pending* flow of its iDAO it stops: if it is in that flow's quorum and has
//!    not posted, it verifies every file in flow order (the rows of the accepted files before
//!    it in the flow count as accepted, so of two copies in one flow the later is rejected as a
//!    [`Reason::Duplicate`]) and posts the signed results. Flows are
//!    taken strictly in order because a flow's scores depend on what the flows before it
//!    accepted; the deadline guarantees a pending flow closes.
//! 2. serves LazAI's SDK path, when enabled: every VerifiedComputing job assigned to it that
//!    is still submitted and whose file carries a data key sealed to this node (this
//!    network's own format) gets a proof (`addProof`, EIP-191 over the `ProofData`, score from
//!    the same verification, uniqueness against the accepted set) and `completeJob`. A file
//!    the verification rejects gets no proof (a proof's score is at least 1); the worker logs
//!    why and leaves the job to its owner to cancel. Jobs of files contributed with LazAI's
//!    SDK (OpenPGP, a password wrapped to the node's RSA key) wait for the SDK's
//!    `POST /proof` ([`crate::sdk::proof_api`]), which the worker serves beside its polls.
//!
//! Plaintext never leaves [`crate::verify`]; logs name files by id and give reasons, never
//! content.

mod config;
mod jobs;

pub use config::{DEFAULT_FETCH_RETRY, DEFAULT_MAX_BLOB, UNSET_NODE_URL, WorkerConfig};
pub(crate) use config::{connect, file_input};

use crate::schema::Schema;
use crate::score::{Reason, RowHash};
use crate::sdk::node_key::NodeKey;
use crate::sdk::proof_api::{self, ProofService, SharedRows};
use crate::tee::{Attested, Attestor};
use crate::verify::{FileInput, Verdict, fetch_retrying, score_blob};
use alloy_primitives::{Address, Bytes, U256};
use alloy_signer::SignerSync;
use anyhow::{Context as _, Result, anyhow};
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, FLOW_PENDING, FLOW_VERIFIED, IDataRegistry, IVsc, VSC_ADDRESS,
    idao_data_address, results_digest, results_root,
};
use lazai_client::Client;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tracing::{debug, info, warn};

/// Gas added to a results post per file in the flow, for anchoring and minting in case it is
/// the post that completes the quorum: the anchoring post of a 100-file flow measures about
/// 66,000 gas per file (`gas_of_a_flow_of_3_and_of_100_files` in the ledger's tests).
const ANCHOR_GAS_PER_FILE: u64 = 80_000;
/// Gas added to a results post for anchoring whatever the flow's size (the completing post of a
/// 3-file flow ran out of a 387,000 limit with the per-file headroom alone).
const ANCHOR_GAS_FIXED: u64 = 150_000;

/// One verifier node of one iDAO (see the module docs).
pub struct Worker {
    cfg: WorkerConfig,
    client: Client,
    chain_id: u64,
    me: Address,
    data_address: Address,
    /// Rows of every accepted file of the verified flows before `next_flow`.
    accepted: Arc<HashSet<RowHash>>,
    /// New rows of files this worker scored, until their flow closes.
    scored: HashMap<U256, Vec<RowHash>>,
    /// The lowest flow id not yet taken into account.
    next_flow: U256,
    /// The lowest VerifiedComputing job id not yet handled.
    next_job: U256,
    /// Jobs it could not serve yet (transient failures), retried every poll.
    retry_jobs: BTreeSet<U256>,
    /// Jobs whose proof landed but that are not completed yet.
    proved_jobs: HashSet<U256>,
    attestor: Attestor,
    /// Its attestation on chain (refreshed halfway through its life).
    attested: Attested,
    /// `accepted`, as the proof API reads it.
    shared_accepted: SharedRows,
    /// Jobs being served now, by the poll loop or the proof API.
    busy: Arc<Mutex<HashSet<U256>>>,
    /// The proof API, bound and waiting for [`Worker::run`].
    api: Option<ProofApi>,
}

/// LazAI's node HTTP API of a worker, bound before the worker registers its URL.
struct ProofApi {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    service: Arc<ProofService>,
}

impl Worker {
    /// Connects to the node (refusing a secret that is not the iDAO's worker key), binds the
    /// proof API when it serves one, and attests.
    pub async fn new(cfg: WorkerConfig) -> Result<Self> {
        let (client, chain_id) = connect(&cfg).await?;
        let me = cfg.signer.address();
        let data_address = idao_data_address(cfg.idao);
        let shared_accepted = SharedRows::default();
        let busy = Arc::new(Mutex::new(HashSet::new()));
        let api = match (&cfg.proof_api, cfg.serve_jobs) {
            (Some(api), true) => Some(
                Self::bind_api(&cfg, api, &client, &shared_accepted, &busy)
                    .await
                    .context("start the proof API")?,
            ),
            _ => None,
        };
        let url = match &api {
            Some(api) if cfg.url == UNSET_NODE_URL => format!("http://{}", api.addr),
            _ => cfg.url.clone(),
        };
        let attestor = Attestor {
            source: cfg.tee.clone(),
            idao: cfg.idao,
            hpke: cfg.secret.public_key().to_bytes(),
            url,
            register_node: cfg.serve_jobs,
            rsa_key: api.as_ref().map(|a| a.service.key.clone()),
        };
        let attested = attestor
            .attest(&client, chain_id, me)
            .await
            .with_context(|| format!("attest worker {me} for iDAO {}", cfg.idao))?;
        if let Some(api) = &api {
            publish_registry_key(&client, me, api.service.key.public_pem()).await;
        }
        Ok(Self {
            cfg,
            client,
            chain_id,
            me,
            data_address,
            accepted: Arc::new(HashSet::new()),
            scored: HashMap::new(),
            next_flow: U256::from(1),
            next_job: U256::from(1),
            retry_jobs: BTreeSet::new(),
            proved_jobs: HashSet::new(),
            attestor,
            attested,
            shared_accepted,
            busy,
            api,
        })
    }

    async fn bind_api(
        cfg: &WorkerConfig,
        api: &proof_api::ProofApiConfig,
        client: &Client,
        accepted: &SharedRows,
        busy: &Arc<Mutex<HashSet<U256>>>,
    ) -> Result<ProofApi> {
        let listener = tokio::net::TcpListener::bind(api.listen)
            .await
            .with_context(|| format!("listen on {}", api.listen))?;
        let addr = listener.local_addr()?;
        let key = tokio::task::spawn_blocking(NodeKey::generate)
            .await
            .map_err(|e| anyhow!("RSA key generation failed: {e}"))??;
        let service = Arc::new(ProofService {
            client: client.clone(),
            signer: cfg.signer.clone(),
            idao: cfg.idao,
            key: Arc::new(key),
            fetch: api.fetch.clone(),
            limits: cfg.limits,
            max_plaintext: api.max_plaintext,
            accepted: accepted.clone(),
            proved_rows: SharedRows::default(),
            busy: busy.clone(),
            unwrap_lock: tokio::sync::Mutex::new(()),
            verify_slots: tokio::sync::Semaphore::new(proof_api::VERIFY_SLOTS),
        });
        Ok(ProofApi {
            listener,
            addr,
            service,
        })
    }

    /// Where the proof API listens, when it serves one.
    pub fn proof_api_addr(&self) -> Option<SocketAddr> {
        self.api.as_ref().map(|a| a.addr)
    }

    /// The URL registered with its node record.
    pub fn node_url(&self) -> &str {
        &self.attestor.url
    }

    /// Its RSA public key (PKCS#1 PEM), published as its node record's `publicKey`, when it
    /// serves the proof API.
    pub fn rsa_public_key(&self) -> Option<&str> {
        self.api.as_ref().map(|a| a.service.key.public_pem())
    }

    /// This worker's node address.
    pub fn address(&self) -> Address {
        self.me
    }

    /// Rows in the accepted set.
    pub fn accepted_rows(&self) -> usize {
        self.accepted.len()
    }

    /// Polls until `stop` resolves; a failed poll is logged and retried. The proof API, if
    /// any, serves until then too.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        info!(node = %self.me, idao = %self.cfg.idao, "verifier worker started");
        let (halt, halted) = tokio::sync::oneshot::channel::<()>();
        let server = self.api.take().map(|api| {
            info!(url = %self.attestor.url, listen = %api.addr, "proof API serving POST /proof");
            let app = proof_api::router(api.service);
            tokio::spawn(async move {
                let shutdown = async {
                    let _ = halted.await;
                };
                if let Err(e) = axum::serve(api.listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    warn!(error = %e, "proof API stopped");
                }
            })
        });
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.poll().await {
                warn!(error = %format!("{e:#}"), "worker poll failed; retrying");
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(self.cfg.poll) => {}
            }
        }
        let _ = halt.send(());
        if let Some(server) = server {
            let _ = server.await;
        }
        info!(node = %self.me, "verifier worker stopped");
    }

    /// Its current attestation.
    pub fn attestation(&self) -> &Attested {
        &self.attested
    }

    /// One pass over the flows (and the jobs when serving them), refreshing its attestation
    /// first when it is halfway through its life.
    pub async fn poll(&mut self) -> Result<()> {
        if Attestor::due(&self.attested) {
            match self
                .attestor
                .attest(&self.client, self.chain_id, self.me)
                .await
            {
                Ok(a) => self.attested = a,
                Err(e) => {
                    // Retried in a minute, not every poll: a failed refresh may have paid gas.
                    self.attested.refresh_at = Attestor::retry_at();
                    warn!(
                        error = %format!("{e:#}"),
                        expires_at = self.attested.expires_at,
                        "TEE evidence refresh failed; retrying in a minute"
                    )
                }
            }
        }
        // A flow that cannot progress yet must not hold LazAI SDK jobs up, nor the reverse.
        let flows = self.poll_flows().await;
        let jobs = if self.cfg.serve_jobs {
            self.poll_jobs().await
        } else {
            Ok(())
        };
        match (flows, jobs) {
            (Err(f), Err(j)) => Err(f.context(format!("and serving jobs failed: {j:#}"))),
            (flows, jobs) => flows.and(jobs),
        }
    }

    async fn schema(&self) -> Result<Schema> {
        let config = self
            .client
            .call(
                VSC_ADDRESS,
                IVsc::dataConfigCall {
                    idaoId: self.cfg.idao,
                },
            )
            .await?;
        Schema::parse(&config.schema)
            .map_err(|e| anyhow!("iDAO {} declares an invalid schema: {e}", self.cfg.idao))
    }

    async fn poll_flows(&mut self) -> Result<()> {
        let count = self
            .client
            .call(VSC_ADDRESS, IVsc::flowCountCall {})
            .await?;
        while self.next_flow <= count {
            let id = self.next_flow;
            let flow = self
                .client
                .call(VSC_ADDRESS, IVsc::getFlowCall { flowId: id })
                .await?;
            if flow.idaoId != self.cfg.idao {
                self.next_flow += U256::from(1);
                continue;
            }
            let files = self
                .client
                .call(VSC_ADDRESS, IVsc::flowFilesCall { flowId: id })
                .await?;
            match flow.status {
                FLOW_PENDING => {
                    let posted = self
                        .client
                        .call(
                            VSC_ADDRESS,
                            IVsc::postedRootCall {
                                flowId: id,
                                node: self.me,
                            },
                        )
                        .await?;
                    if flow.quorum.contains(&self.me)
                        && posted.is_zero()
                        && let Err(e) = self.verify_flow(id, &files).await
                    {
                        let now = self
                            .client
                            .call(VSC_ADDRESS, IVsc::getFlowCall { flowId: id })
                            .await?;
                        if now.status == FLOW_PENDING {
                            return Err(e);
                        }
                        // The quorum closed the flow while this post was on its way.
                        info!(flow = %id, "flow closed before this node's results landed");
                    }
                    // Later flows wait for this one to close.
                    return Ok(());
                }
                FLOW_VERIFIED => self.ingest(id, &flow, &files).await?,
                _ => debug!(flow = %id, "flow disputed; nothing accepted"),
            }
            for f in &files {
                self.scored.remove(f);
            }
            self.next_flow += U256::from(1);
        }
        Ok(())
    }

    /// The file's URL, hash and the sealed key for `account`.
    async fn file_input(&self, file: U256, account: Address) -> Result<FileInput> {
        file_input(&self.client, file, account).await
    }

    /// The instant after which blobs read from now on are no longer retried.
    fn give_up(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.cfg.fetch_retry
    }

    /// Verifies one file against `seen` ∪ the accepted set; an unreadable blob is retried
    /// until `give_up`.
    async fn verify_file(
        &self,
        file: U256,
        account: Address,
        schema: &Arc<Schema>,
        extra: &Arc<HashSet<RowHash>>,
        give_up: tokio::time::Instant,
    ) -> Result<Verdict> {
        let input = self.file_input(file, account).await?;
        let (blob, key, hash) = match fetch_retrying(
            &self.cfg.fetcher,
            &self.cfg.secret,
            &input,
            &self.cfg.work_dir,
            self.cfg.max_blob,
            give_up,
        )
        .await
        {
            Ok(fetched) => fetched,
            Err(verdict) => return Ok(verdict),
        };
        let accepted = self.accepted.clone();
        let extra = extra.clone();
        let schema = schema.clone();
        let limits = self.cfg.limits;
        let path = blob.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            let seen = |h: &RowHash| accepted.contains(h) || extra.contains(h);
            score_blob(&path, &key, &hash, &schema, &seen, &limits)
        })
        .await
        .context("the scoring task failed")?;
        let _ = tokio::fs::remove_file(&blob).await;
        Ok(verdict)
    }

    async fn verify_flow(&mut self, id: U256, files: &[U256]) -> Result<()> {
        let schema = Arc::new(self.schema().await?);
        let mut in_flow: Arc<HashSet<RowHash>> = Arc::new(HashSet::new());
        let mut results = Vec::with_capacity(files.len());
        // One retry budget for the whole flow, so that a flow of missing blobs still closes.
        let give_up = self.give_up();
        for &file in files {
            let verdict = self
                .verify_file(file, self.data_address, &schema, &in_flow, give_up)
                .await?;
            log_verdict(file, &verdict);
            Arc::make_mut(&mut in_flow).extend(verdict.new_rows().iter().copied());
            self.scored.insert(file, verdict.new_rows().to_vec());
            results.push(IVsc::FileResult {
                fileId: file,
                score: verdict.score,
                reason: if verdict.score > 0 {
                    0
                } else {
                    verdict.reason.code().max(1)
                },
            });
        }
        let root = results_root(&results);
        let digest = results_digest(self.chain_id, id, root);
        let signature = self.cfg.signer.sign_hash_sync(&digest)?;
        // The post that completes the quorum also anchors the flow and mints a DAT per
        // accepted file: whether this one will be that post is known only in its block.
        let headroom = ANCHOR_GAS_PER_FILE
            .saturating_mul(files.len() as u64)
            .saturating_add(ANCHOR_GAS_FIXED);
        let receipt = self
            .client
            .send_with_headroom(
                VSC_ADDRESS,
                IVsc::postResultsCall {
                    flowId: id,
                    results,
                    signature: Bytes::from(signature.as_bytes().to_vec()),
                },
                U256::ZERO,
                headroom,
            )
            .await?;
        info!(flow = %id, files = files.len(), root = %root, tx = %receipt.transaction_hash, "results posted");
        Ok(())
    }

    /// Adds the rows of a verified flow's accepted files to the accepted set.
    async fn ingest(&mut self, id: U256, flow: &IVsc::Flow, files: &[U256]) -> Result<()> {
        let results = self
            .client
            .call(
                VSC_ADDRESS,
                IVsc::flowResultsCall {
                    flowId: id,
                    resultsRoot: flow.resultsRoot,
                },
            )
            .await?;
        // Rows this worker scored are the agreed rows only if it posted the anchored root:
        // after a dissent (a verdict, or a file's seen rows, differed) rescore every file.
        let mine = self
            .client
            .call(
                VSC_ADDRESS,
                IVsc::postedRootCall {
                    flowId: id,
                    node: self.me,
                },
            )
            .await?;
        if mine != flow.resultsRoot {
            for f in files {
                self.scored.remove(f);
            }
        }
        let mut schema = None;
        let mut in_flow: Arc<HashSet<RowHash>> = Arc::new(HashSet::new());
        let give_up = self.give_up();
        for (file, result) in files.iter().zip(&results) {
            if result.score == 0 {
                continue;
            }
            let rows = match self.scored.remove(file) {
                Some(rows) => rows,
                None => {
                    let schema = match &schema {
                        Some(s) => Arc::clone(s),
                        None => schema.insert(Arc::new(self.schema().await?)).clone(),
                    };
                    let verdict = self
                        .verify_file(*file, self.data_address, &schema, &in_flow, give_up)
                        .await?;
                    // The quorum accepted it: its rows must be counted, so try again later.
                    if verdict.score == 0 && verdict.reason == Reason::Unavailable {
                        return Err(anyhow!(
                            "file {file} of flow {id} cannot be read now ({})",
                            verdict.detail
                        ));
                    }
                    verdict.new_rows().to_vec()
                }
            };
            Arc::make_mut(&mut in_flow).extend(rows);
        }
        let added = in_flow.len();
        let accepted = Arc::make_mut(&mut self.accepted);
        accepted.extend(in_flow.iter().copied());
        debug!(flow = %id, rows = added, total = accepted.len(), "accepted rows ingested");
        if let Ok(mut shared) = self.shared_accepted.write() {
            *shared = Arc::clone(&self.accepted);
        }
        Ok(())
    }
}

/// Publishes this node's attested RSA key as `DataRegistry.publicKey()` (what LazAI's SDK
/// wraps passwords to for `addPermissionForFile`) when governance named it the key publisher;
/// a failure is logged, and the SDK path still works through the node's own `publicKey`.
async fn publish_registry_key(client: &Client, me: Address, pem: &str) {
    let publisher = match client
        .call(DATA_REGISTRY_ADDRESS, IDataRegistry::keyPublisherCall {})
        .await
    {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %format!("{e:#}"), "cannot read the DataRegistry's key publisher");
            return;
        }
    };
    if publisher != me {
        return;
    }
    match client
        .send(
            DATA_REGISTRY_ADDRESS,
            IDataRegistry::updatePublicKeyCall {
                newPublicKey: pem.to_string(),
            },
            U256::ZERO,
        )
        .await
    {
        Ok(_) => info!("published this node's RSA key as DataRegistry.publicKey()"),
        Err(e) => warn!(error = %format!("{e:#}"), "DataRegistry.publicKey() not published"),
    }
}

fn log_verdict(file: U256, v: &Verdict) {
    if v.score > 0 {
        let (rows, valid, unique) = v
            .evaluation
            .as_ref()
            .map(|e| (e.rows, e.valid, e.unique))
            .unwrap_or_default();
        info!(file = %file, score = v.score, rows, valid, unique, "file verified");
    } else {
        info!(file = %file, reason = %v.reason, code = v.reason.code(), detail = %v.detail, "file rejected");
    }
}

/// The rejection reason a code names, for people.
pub fn describe_reason(code: u8) -> &'static str {
    Reason::from_code(code)
        .map(Reason::describe)
        .unwrap_or("an unknown reason")
}
