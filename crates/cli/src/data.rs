//! `lazai idao`, `lazai data` and `lazai flow`: LazAI Flows from the command line.
//!
//! - `lazai idao …` registers an iDAO in the iDAO registry, declares how its data is verified
//!   in the VSC (`configure`: schema, worker key, blob store, quorum, threshold, deadline, fee,
//!   usage quota), manages its verifier nodes and makes worker keys (`keygen`).
//! - `lazai data …` contributes a file to an iDAO (check that it can be registered and paid
//!   for, encrypt, upload, register it and share the sealed data key with the iDAO's data
//!   address in one `addFileWithPermissions`, wait for the verdict; a failed registration
//!   removes what was uploaded), shows a file's status, its proof and its DAT, decrypts a file
//!   with the owner's data key, lists files, and resubmits a file rejected as unavailable.
//! - `lazai flow …` packages shared files into a flow (the iDAO owner) and shows a flow.
//!
//! Signers, `--rpc`, `--timeout`, `--json` and the error reports are those of `lazai dat`
//! (see [`crate::dat`]): 256-bit numbers are decimal strings in JSON, a reverted call names the
//! module's custom error.
//!
//! Progress lines (`encrypting and uploading 1.0 GiB… 2.3 s`, redrawn while it runs) go to
//! stderr, and only when stderr is a terminal.

use crate::dat::{
    LAZAI_DECIMALS, ReadArgs, TxArgs, format_lazai, format_units, or_dash, parse_lazai, parse_u256,
    print_json, tx_json, yes_no,
};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use lazai_blob::BlobStore;
use lazai_client::{Client, Prepared, event, resolve_signer};
use lazai_crypto::{
    DataKey, EncryptParams, PlaintextCommitment, PublicKey, Root, SEALED_KEY_LEN, SealedKey,
    decrypt_file, generate_keypair,
};
use lazai_ledger::modules::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D,
    IDataRegistry as R, IIdaoRegistry as G, IVsc as V, ROLE_APPLICATION, ROLE_COMPUTE, ROLE_DATA,
    ROLE_MODEL, VSC_ADDRESS, idao_data_address, proof_signer,
};
use lazai_worker::{FileHash, Packager, Schema, describe_reason, encrypt_for};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File states and flow status codes of the VSC.
pub use lazai_ledger::modules::{
    FILE_DISPUTED, FILE_IN_FLOW, FILE_NONE, FILE_REJECTED, FILE_RESUBMITTED, FILE_VERIFIED,
    FLOW_DISPUTED, FLOW_PENDING, FLOW_VERIFIED, REASON_UNAVAILABLE,
};

/// `data list` reads at most this many files (the newest).
pub const LIST_CAP: u64 = 10_000;
/// How often `data contribute` polls for the verdict.
const POLL: Duration = Duration::from_millis(500);
/// Extension of the owner's data key file.
const KEY_EXTENSION: &str = "lazai-key";

// ---- arguments ----------------------------------------------------------------------------

#[derive(Subcommand)]
pub enum IdaoCommand {
    /// Register an iDAO owned by the signer; prints its id.
    Register(RegisterArgs),
    /// Show an iDAO: its registry record and, once configured, how its data is verified.
    Show(IdaoShowArgs),
    /// Declare (or replace) how the iDAO's data is verified (its owner only): schema, worker
    /// key, blob store, quorum, threshold, deadline, fee per node, usage quota of each DAT.
    Configure(ConfigureArgs),
    /// The iDAO's verifier nodes: add, remove.
    #[command(subcommand)]
    Verifier(VerifierCommand),
    /// Make a fresh X25519 worker key pair (the public half goes to `idao configure
    /// --worker-key`, the secret half to the iDAO's workers).
    Keygen(KeygenArgs),
}

#[derive(Subcommand)]
pub enum VerifierCommand {
    /// Add a verifier node to the iDAO (its owner only).
    Add(VerifierAddArgs),
    /// Remove a verifier node from the iDAO (its owner only).
    Remove(VerifierRemoveArgs),
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Encrypt a file, upload it, register it and share it with an iDAO; then wait for its
    /// verdict (unless --no-wait).
    Contribute(ContributeArgs),
    /// Show a file: record, verification state, proof, DAT.
    Status(StatusArgs),
    /// Decrypt a registered file (by id) or a local blob with the owner's data key.
    Decrypt(DecryptArgs),
    /// List files (the newest 10,000 at most), optionally of one owner or one iDAO.
    List(ListArgs),
    /// Put back a file of yours that was rejected as unavailable (its verifiers could not read
    /// its blob), for the iDAO's next flow. A rejection for any other reason is final.
    Resubmit(ResubmitArgs),
}

#[derive(Subcommand)]
pub enum FlowCommand {
    /// Package files shared with an iDAO into a flow (the iDAO's owner only); pays quorum ×
    /// node fee.
    Submit(FlowSubmitArgs),
    /// Show a flow: status, quorum and posts, deadline, fee, and the results once verified.
    Status(FlowStatusArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    /// The iDAO's name (1 to 64 bytes).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The iDAO's metadata URI.
    #[arg(long, value_name = "URI", default_value = "")]
    uri: String,
    /// Its roles, comma-separated: data, model, compute, application (or `none`).
    #[arg(long, value_name = "ROLES", default_value = "data", value_parser = parse_roles)]
    roles: u8,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct IdaoShowArgs {
    /// iDAO id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    id: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct ConfigureArgs {
    /// iDAO id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    id: U256,
    /// The schema the workers check files against: a file, or the JSON text itself. It is
    /// validated here and stored in its canonical form.
    #[arg(long, value_name = "FILE_OR_JSON")]
    schema: String,
    /// The workers' X25519 public key (32 bytes of hex; see `lazai idao keygen`).
    #[arg(long, value_name = "HEX32")]
    worker_key: String,
    /// Where contributors upload ciphertext by default: a directory, file:///dir or
    /// s3://bucket/prefix. A directory is stored as its canonical file:// URL.
    #[arg(long, value_name = "URL")]
    store: String,
    /// Verifier nodes per flow (k, 1 to 16).
    #[arg(long, value_name = "K", default_value_t = 1)]
    quorum: u8,
    /// Agreeing posts that verify a flow (t, 1 to k).
    #[arg(long, value_name = "T", default_value_t = 1)]
    threshold: u8,
    /// Blocks the quorum has to post its results.
    #[arg(long, value_name = "N", default_value_t = 20)]
    deadline_blocks: u64,
    /// LAZAI paid to each agreeing node of a flow (the submitter pays k × this).
    #[arg(long, value_name = "LAZAI", default_value = "0")]
    node_fee: String,
    /// The value (usage quota) of each DAT minted for a verified file.
    #[arg(long, value_name = "N", default_value = "1000", value_parser = parse_u256)]
    usage_quota: U256,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct VerifierAddArgs {
    /// iDAO id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    id: U256,
    /// The node's address (the key it signs results with).
    #[arg(long, value_name = "ADDR")]
    node: Address,
    /// Where the node can be reached (informational).
    #[arg(long, value_name = "URL", default_value = "")]
    url: String,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct VerifierRemoveArgs {
    /// iDAO id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    id: U256,
    /// The node's address.
    #[arg(long, value_name = "ADDR")]
    node: Address,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Write the secret key (hex) to this new file, readable by its owner only, and print
    /// only the public key.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ContributeArgs {
    /// The file to contribute.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The iDAO to contribute to.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: U256,
    /// Upload to this blob store instead of the iDAO's (its workers must trust it).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Plaintext bytes per encrypted chunk: a power of two from 1024 to 16777216 (default
    /// 1 MiB).
    #[arg(long, value_name = "BYTES")]
    chunk_size: Option<u32>,
    /// Return once the file is registered and shared, without waiting for its verdict.
    #[arg(long)]
    no_wait: bool,
    /// Where to write the file's data key (default: FILE.lazai-key next to FILE, else in the
    /// current directory). Never overwritten.
    #[arg(long, value_name = "FILE")]
    key_out: Option<PathBuf>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct ResubmitArgs {
    /// File id (DataRegistry).
    #[arg(value_name = "FILE_ID", value_parser = parse_u256)]
    file: U256,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// File id (DataRegistry).
    #[arg(value_name = "FILE_ID", value_parser = parse_u256)]
    file: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("key").required(true).args(["key_file", "data_key"])))]
pub struct DecryptArgs {
    /// A file id, or (with --root) the path of a local blob.
    #[arg(value_name = "FILE_ID_OR_BLOB_PATH")]
    target: String,
    /// A file holding the data key in hex (what `data contribute` wrote).
    #[arg(long, value_name = "KEYFILE")]
    key_file: Option<PathBuf>,
    /// The data key in hex (visible to other local users: prefer --key-file).
    #[arg(long, value_name = "HEX")]
    data_key: Option<String>,
    /// Where to write the plaintext (replaced only when decryption succeeds).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// The blob store to fetch from (default: the store the file's URL names).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// For a local blob: its ciphertext root (64 hex digits) or its lzenc1 hash.
    #[arg(long, value_name = "HEX")]
    root: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only files of this owner.
    #[arg(long, value_name = "ADDR")]
    owner: Option<Address>,
    /// Only files shared with, or verified through, this iDAO.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: Option<U256>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("which").required(true).args(["files", "pending"])))]
pub struct FlowSubmitArgs {
    /// The iDAO.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: U256,
    /// The files, comma-separated, in flow order.
    #[arg(long, value_name = "ID,ID,…", value_delimiter = ',', value_parser = parse_u256)]
    files: Vec<U256>,
    /// Every file shared with the iDAO's data address that is not in a flow yet.
    #[arg(long)]
    pending: bool,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct FlowStatusArgs {
    /// Flow id.
    #[arg(value_name = "FLOW_ID", value_parser = parse_u256)]
    flow: U256,
    #[command(flatten)]
    read: ReadArgs,
}

// ---- pure helpers --------------------------------------------------------------------------

/// Parses a comma-separated list of roles (`data`, `model`, `compute`, `application`, any
/// case; `none` or nothing is no role) into the registry's bitmask.
pub fn parse_roles(s: &str) -> Result<u8, String> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    let mut mask = 0;
    for part in t.split(',') {
        mask |= match part.trim().to_ascii_lowercase().as_str() {
            "data" => ROLE_DATA,
            "model" => ROLE_MODEL,
            "compute" => ROLE_COMPUTE,
            "application" | "app" => ROLE_APPLICATION,
            "" => return Err(format!("{s:?}: an empty role in the list")),
            other => {
                return Err(format!(
                    "unknown role {other:?}: expected data, model, compute or application, \
                     comma-separated (or none)"
                ));
            }
        };
    }
    Ok(mask)
}

/// The names of the roles in a bitmask, in bit order (unknown bits as `0x..`).
pub fn role_names(mask: u8) -> Vec<String> {
    let mut names: Vec<String> = [
        (ROLE_DATA, "data"),
        (ROLE_MODEL, "model"),
        (ROLE_COMPUTE, "compute"),
        (ROLE_APPLICATION, "application"),
    ]
    .iter()
    .filter(|(bit, _)| mask & bit != 0)
    .map(|(_, name)| (*name).to_string())
    .collect();
    let unknown = mask & !(ROLE_DATA | ROLE_MODEL | ROLE_COMPUTE | ROLE_APPLICATION);
    if unknown != 0 {
        names.push(format!("{unknown:#04x}"));
    }
    names
}

/// The name of a file state (`FileStatus.state`).
pub fn file_state_name(state: u8) -> &'static str {
    match state {
        FILE_NONE => "none",
        FILE_IN_FLOW => "in flow",
        FILE_VERIFIED => "verified",
        FILE_REJECTED => "rejected",
        FILE_DISPUTED => "disputed",
        FILE_RESUBMITTED => "resubmitted",
        _ => "unknown",
    }
}

/// The name of a flow status (`Flow.status`).
pub fn flow_status_name(status: u8) -> &'static str {
    match status {
        FLOW_PENDING => "pending",
        FLOW_VERIFIED => "verified",
        FLOW_DISPUTED => "disputed",
        _ => "unknown",
    }
}

/// The reason text of a file status: for a file with a verdict, what its code means.
fn reason_text(state: u8, reason: u8) -> Option<&'static str> {
    matches!(state, FILE_VERIFIED | FILE_REJECTED).then(|| describe_reason(reason))
}

/// A worker public key: 32 bytes of hex (`0x` optional), a valid X25519 point, not zero.
pub fn parse_worker_key(s: &str) -> Result<B256> {
    let key = PublicKey::from_hex(s.trim()).with_context(|| format!("--worker-key {s:?}"))?;
    let bytes = B256::from(key.to_bytes());
    if bytes.is_zero() {
        bail!("--worker-key is zero; give the public key `lazai idao keygen` printed");
    }
    Ok(bytes)
}

/// The schema text of `--schema`: the argument itself when it looks like JSON (starts with
/// `{`), else the contents of the file it names.
fn schema_text(arg: &str) -> Result<String> {
    if arg.trim_start().starts_with('{') {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg).with_context(|| {
        format!("--schema: read {arg:?} (give a schema file or the schema's JSON text)")
    })
}

/// The blob store location of an object URL: the URL without its last `/name`.
pub fn store_of_url(url: &str) -> Result<&str> {
    let bad = || anyhow!("{url:?} is not a blob URL (scheme://…/name)");
    let (base, name) = url.rsplit_once('/').ok_or_else(bad)?;
    if name.is_empty() || !base.contains("://") {
        return Err(bad());
    }
    if base.to_ascii_lowercase().starts_with("memory:") {
        bail!("{url} is in an in-memory store, which only the process that wrote it can read");
    }
    Ok(base)
}

/// A ciphertext root given as 64 hex digits (`0x` optional) or as a whole `lzenc1:` hash.
pub fn parse_root(s: &str) -> Result<Root> {
    let t = s.trim();
    if t.contains(':') {
        return Ok(t.parse::<FileHash>()?.root);
    }
    Root::from_hex(t).with_context(|| format!("--root {s:?}: expected 64 hex digits"))
}

/// Plaintext megabytes (10^6 bytes) per second.
pub fn megabytes_per_second(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 / 1e6 / secs
}

/// Where `data contribute` may write the data key of `input`, in order of preference: next to
/// the input (`FILE.lazai-key`, then `FILE.<root>.lazai-key` if taken), then the same names in
/// the current directory.
pub fn key_file_candidates(input: &Path, root_hex: &str) -> Vec<PathBuf> {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "contribution".to_string());
    let short: String = root_hex.trim_start_matches("0x").chars().take(16).collect();
    let next_to = match input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut out = Vec::new();
    for dir in [next_to, PathBuf::from(".")] {
        for file in [
            format!("{name}.{KEY_EXTENSION}"),
            format!("{name}.{short}.{KEY_EXTENSION}"),
        ] {
            let path = dir.join(file);
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// Creates `path` (which must not exist) readable and writable by its owner only, holding
/// `contents`.
fn create_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Writes the data key to `explicit`, or to the first free, writable candidate.
fn write_key_file(
    input: &Path,
    explicit: Option<&Path>,
    key: &DataKey,
    root_hex: &str,
) -> Result<PathBuf> {
    let text = format!("{}\n", key.to_hex());
    if let Some(path) = explicit {
        create_private(path, &text)
            .with_context(|| format!("write the data key to {}", path.display()))?;
        return Ok(path.to_path_buf());
    }
    let mut errors = Vec::new();
    for path in key_file_candidates(input, root_hex) {
        match create_private(&path, &text) {
            Ok(()) => return Ok(path),
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    bail!(
        "could not write the data key anywhere ({}); give --key-out",
        errors.join("; ")
    )
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Progress lines on stderr, only when it is a terminal.
struct Progress(bool);

impl Progress {
    fn new() -> Self {
        Self(std::io::stderr().is_terminal())
    }

    fn step(&self, msg: &str) {
        if self.0 {
            eprintln!("{msg}");
        }
    }

    /// Runs `work`, redrawing `label` with the elapsed time on one line every 250 ms while it
    /// runs (on a terminal only).
    async fn ticking<T>(&self, label: &str, work: impl std::future::Future<Output = T>) -> T {
        if !self.0 {
            return work.await;
        }
        let started = Instant::now();
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let out = loop {
            tokio::select! {
                out = &mut work => break out,
                _ = tick.tick() => {
                    eprint!("\r{label} {:.1} s", started.elapsed().as_secs_f64());
                    let _ = std::io::stderr().flush();
                }
            }
        };
        eprintln!("\r{label} done in {:.1} s", started.elapsed().as_secs_f64());
        out
    }
}

pub(crate) fn signing(tx: &TxArgs) -> Result<Client> {
    let signer = resolve_signer(tx.key.as_deref(), tx.key_file.as_deref())?;
    Client::signing(&tx.rpc, signer, Duration::from_secs(tx.timeout))
}

fn print_tx_named(label: &str, receipt: &TransactionReceipt) {
    println!(
        "{label:<13} {} (block {}, gas {})",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default(),
        receipt.gas_used
    );
}

fn dash_if_zero(v: U256) -> String {
    if v.is_zero() {
        "-".to_string()
    } else {
        v.to_string()
    }
}

fn opt_u256(v: U256) -> Value {
    if v.is_zero() {
        Value::Null
    } else {
        Value::String(v.to_string())
    }
}

// ---- commands ------------------------------------------------------------------------------

pub(crate) fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

pub fn run_idao(cmd: IdaoCommand) -> Result<()> {
    match cmd {
        IdaoCommand::Keygen(a) => keygen(a),
        IdaoCommand::Register(a) => block_on(register(a)),
        IdaoCommand::Show(a) => block_on(idao_show(a)),
        IdaoCommand::Configure(a) => block_on(configure(a)),
        IdaoCommand::Verifier(VerifierCommand::Add(a)) => block_on(verifier_add(a)),
        IdaoCommand::Verifier(VerifierCommand::Remove(a)) => block_on(verifier_remove(a)),
    }
}

pub fn run_data(cmd: DataCommand) -> Result<()> {
    block_on(async {
        match cmd {
            DataCommand::Contribute(a) => data_contribute(a).await,
            DataCommand::Status(a) => data_status(a).await,
            DataCommand::Decrypt(a) => data_decrypt(a).await,
            DataCommand::List(a) => data_list(a).await,
            DataCommand::Resubmit(a) => data_resubmit(a).await,
        }
    })
}

pub fn run_flow(cmd: FlowCommand) -> Result<()> {
    block_on(async {
        match cmd {
            FlowCommand::Submit(a) => flow_submit(a).await,
            FlowCommand::Status(a) => flow_status(a).await,
        }
    })
}

// ---- idao ----------------------------------------------------------------------------------

fn keygen(a: KeygenArgs) -> Result<()> {
    let (secret, public) = generate_keypair();
    if let Some(out) = &a.out {
        create_private(out, &format!("{}\n", secret.to_hex())).with_context(|| {
            format!(
                "write the secret key to {} (an existing file is never overwritten)",
                out.display()
            )
        })?;
        if a.json {
            return print_json(
                json!({ "publicKey": public.to_hex(), "secretKeyFile": out.display().to_string() }),
                json!({}),
            );
        }
        println!("{}", public.to_hex());
        return Ok(());
    }
    if a.json {
        return print_json(
            json!({ "secretKey": secret.to_hex(), "publicKey": public.to_hex() }),
            json!({}),
        );
    }
    println!("secret key    {}", secret.to_hex());
    println!("public key    {}", public.to_hex());
    Ok(())
}

async fn register(a: RegisterArgs) -> Result<()> {
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            IDAO_REGISTRY_ADDRESS,
            G::registerIdao_1Call {
                name: a.name,
                metadataUri: a.uri,
                roles: a.roles,
            },
            U256::ZERO,
        )
        .await?;
    let registered = event::<G::IdaoRegistered>(&receipt, IDAO_REGISTRY_ADDRESS)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "idaoId": registered.idaoId.to_string(),
                "owner": registered.owner.to_string(),
                "name": registered.name,
                "roles": role_names(a.roles),
                "dataAddress": idao_data_address(registered.idaoId).to_string(),
            }),
        );
    }
    print_tx_named("tx", &receipt);
    println!("idao id       {}", registered.idaoId);
    println!("roles         {}", or_dash(&role_names(a.roles).join(",")));
    println!("data address  {}", idao_data_address(registered.idaoId));
    Ok(())
}

async fn idao_show(a: IdaoShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let idao = c
        .call(IDAO_REGISTRY_ADDRESS, G::getIdaoCall { idaoId: a.id })
        .await?;
    let data_address = idao_data_address(a.id);
    let configured = c
        .call(VSC_ADDRESS, V::isConfiguredCall { idaoId: a.id })
        .await?;
    let (config, verifiers) = if configured {
        let config = c
            .call(VSC_ADDRESS, V::dataConfigCall { idaoId: a.id })
            .await?;
        let nodes = c
            .call(VSC_ADDRESS, V::verifiersCall { idaoId: a.id })
            .await?;
        let mut verifiers = Vec::with_capacity(nodes.len());
        for node in nodes {
            verifiers.push(
                c.call(VSC_ADDRESS, V::getVerifierCall { idaoId: a.id, node })
                    .await?,
            );
        }
        (Some(config), verifiers)
    } else {
        (None, Vec::new())
    };
    let consensus_key = (!idao.consensusKey.is_zero()).then(|| idao.consensusKey.to_string());
    if a.read.json {
        let data = config.as_ref().map(|cfg| {
            json!({
                "schema": cfg.schema,
                "workerKey": cfg.workerKey.to_string(),
                "storeUrl": cfg.storeUrl,
                "quorumSize": cfg.quorumSize,
                "threshold": cfg.threshold,
                "deadlineBlocks": cfg.deadlineBlocks,
                "nodeFeeWei": cfg.nodeFee.to_string(),
                "nodeFee": format_units(cfg.nodeFee, LAZAI_DECIMALS),
                "usageQuota": cfg.usageQuota.to_string(),
                "classId": cfg.classId.to_string(),
                "verifiers": verifiers.iter().map(|v| json!({
                    "node": v.node.to_string(),
                    "url": v.url,
                    "addedAt": v.addedAt,
                    "flowsServed": v.flowsServed.to_string(),
                })).collect::<Vec<_>>(),
            })
        });
        return print_json(
            json!({
                "id": idao.id.to_string(),
                "name": idao.name,
                "owner": idao.owner.to_string(),
                "metadataUri": idao.metadataUri,
                "roles": role_names(idao.roles),
                "rolesMask": idao.roles,
                "consensusKey": consensus_key,
                "p2pAddress": idao.p2pAddress,
                "bondedWei": idao.bonded.to_string(),
                "unbondingWei": idao.unbonding.to_string(),
                "jailed": idao.jailed,
                "dataAddress": data_address.to_string(),
                "configured": configured,
                "data": data,
            }),
            json!({}),
        );
    }
    println!("idao          {}", idao.id);
    println!("name          {}", idao.name);
    println!("owner         {}", idao.owner);
    println!("metadata URI  {}", or_dash(&idao.metadataUri));
    println!(
        "roles         {}",
        or_dash(&role_names(idao.roles).join(","))
    );
    println!("bonded        {}", format_lazai(idao.bonded));
    if !idao.unbonding.is_zero() {
        println!("unbonding     {}", format_lazai(idao.unbonding));
    }
    if let Some(key) = &consensus_key {
        println!("consensus key {key} ({})", or_dash(&idao.p2pAddress));
    }
    println!("jailed        {}", yes_no(idao.jailed));
    println!("data address  {data_address}");
    println!("configured    {}", yes_no(configured));
    if let Some(cfg) = config {
        println!("schema        {}", cfg.schema);
        println!("worker key    {}", cfg.workerKey);
        println!("store         {}", or_dash(&cfg.storeUrl));
        println!(
            "quorum        k = {}, threshold t = {}",
            cfg.quorumSize, cfg.threshold
        );
        println!("deadline      {} blocks", cfg.deadlineBlocks);
        println!("node fee      {}", format_lazai(cfg.nodeFee));
        println!("usage quota   {}", cfg.usageQuota);
        println!("class         {}", cfg.classId);
        if verifiers.is_empty() {
            println!("verifiers     none");
        }
        for (i, v) in verifiers.iter().enumerate() {
            let label = if i == 0 { "verifiers" } else { "" };
            let url = if v.url.is_empty() {
                String::new()
            } else {
                format!(" {}", v.url)
            };
            println!(
                "{label:<13} {}{url} (added at block {}, {} flows served)",
                v.node, v.addedAt, v.flowsServed
            );
        }
    }
    Ok(())
}

async fn configure(a: ConfigureArgs) -> Result<()> {
    let text = schema_text(&a.schema)?;
    let schema = Schema::parse(&text).map_err(|e| anyhow!("--schema: {e}"))?;
    let worker_key = parse_worker_key(&a.worker_key)?;
    let store = BlobStore::open(&a.store).with_context(|| format!("--store {:?}", a.store))?;
    let store_url = store.base_url().to_string();
    if store_url.starts_with("memory:") {
        bail!(
            "--store memory:// lives inside one process; give a directory, file:///dir or \
             s3://bucket/prefix that contributors and workers can reach"
        );
    }
    let node_fee = parse_lazai(&a.node_fee).context("--node-fee")?;
    let c = signing(&a.tx)?;
    let params = V::DataParams {
        schema: schema.to_json(),
        workerKey: worker_key,
        storeUrl: store_url,
        quorumSize: a.quorum,
        threshold: a.threshold,
        deadlineBlocks: a.deadline_blocks,
        nodeFee: node_fee,
        usageQuota: a.usage_quota,
    };
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::configureIdaoCall {
                idaoId: a.id,
                params: params.clone(),
            },
            U256::ZERO,
        )
        .await?;
    let configured = event::<V::IdaoConfigured>(&receipt, VSC_ADDRESS)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "idaoId": a.id.to_string(),
                "classId": configured.classId.to_string(),
                "schema": params.schema,
                "workerKey": params.workerKey.to_string(),
                "storeUrl": params.storeUrl,
                "quorumSize": params.quorumSize,
                "threshold": params.threshold,
                "deadlineBlocks": params.deadlineBlocks,
                "nodeFeeWei": params.nodeFee.to_string(),
                "usageQuota": params.usageQuota.to_string(),
                "dataAddress": idao_data_address(a.id).to_string(),
            }),
        );
    }
    print_tx_named("tx", &receipt);
    println!("idao          {}", a.id);
    println!("class         {}", configured.classId);
    println!("schema        {}", params.schema);
    println!("store         {}", params.storeUrl);
    println!(
        "quorum        k = {}, threshold t = {}",
        params.quorumSize, params.threshold
    );
    println!("data address  {}", idao_data_address(a.id));
    Ok(())
}

async fn verifier_add(a: VerifierAddArgs) -> Result<()> {
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::addVerifierCall {
                idaoId: a.id,
                node: a.node,
                url: a.url.clone(),
            },
            U256::ZERO,
        )
        .await?;
    let count = c
        .call(VSC_ADDRESS, V::verifiersCall { idaoId: a.id })
        .await?
        .len();
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "idaoId": a.id.to_string(), "node": a.node.to_string(), "url": a.url, "verifiers": count }),
        );
    }
    print_tx_named("tx", &receipt);
    println!(
        "added         {} to iDAO {} ({count} verifiers)",
        a.node, a.id
    );
    Ok(())
}

async fn verifier_remove(a: VerifierRemoveArgs) -> Result<()> {
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::removeVerifierCall {
                idaoId: a.id,
                node: a.node,
            },
            U256::ZERO,
        )
        .await?;
    let count = c
        .call(VSC_ADDRESS, V::verifiersCall { idaoId: a.id })
        .await?
        .len();
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "idaoId": a.id.to_string(), "node": a.node.to_string(), "verifiers": count }),
        );
    }
    print_tx_named("tx", &receipt);
    println!(
        "removed       {} from iDAO {} ({count} verifiers)",
        a.node, a.id
    );
    Ok(())
}

// ---- data ----------------------------------------------------------------------------------

/// Prices the registration of a contribution shared with `data_address` — one
/// `addFileWithPermissions` carrying the sealed key — from arguments of the real ones' sizes,
/// and refuses a signer whose balance could not pay for it: run before anything is encrypted
/// or uploaded, so that a registration that cannot succeed leaves nothing in the store.
async fn price_registration(
    c: &Client,
    store: &BlobStore,
    idao: U256,
    data_address: Address,
) -> Result<Prepared> {
    // Non-zero bytes throughout: calldata costs more per non-zero byte.
    let root = Root::from_hex(&"ff".repeat(32))?;
    let hash = FileHash {
        root,
        commitment: PlaintextCommitment::from_hex(&"ff".repeat(32))?,
    };
    let sealed = SealedKey::from_bytes(&[0xff; SEALED_KEY_LEN])?;
    let placeholder = R::addFileWithPermissionsCall {
        url: store.url_for(&lazai_blob::object_name(&root))?,
        hash: hash.to_string(),
        ownerAddress: c.from(),
        permissions: vec![R::Permission {
            account: data_address,
            key: sealed.to_hex(),
        }],
    };
    let (balance, prepared) = tokio::try_join!(
        async {
            c.provider()
                .get_balance(c.from())
                .await
                .context("read the signer's balance")
        },
        c.prepare(DATA_REGISTRY_ADDRESS, placeholder, U256::ZERO),
    )
    .with_context(|| format!("check that a file can be registered for iDAO {idao}"))?;
    if balance < prepared.max_cost {
        bail!(
            "{} holds {}, but registering the file may cost up to {} in gas ({} gas): fund \
             the account first; nothing was encrypted or uploaded",
            c.from(),
            format_lazai(balance),
            format_lazai(prepared.max_cost),
            prepared.gas_limit
        );
    }
    Ok(prepared)
}

async fn data_contribute(a: ContributeArgs) -> Result<()> {
    let progress = Progress::new();
    let c = signing(&a.tx)?;
    let meta = std::fs::metadata(&a.file).with_context(|| format!("{}", a.file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", a.file.display());
    }
    if let Some(path) = &a.key_out
        && path.exists()
    {
        bail!(
            "--key-out {} already exists; a data key file is never overwritten",
            path.display()
        );
    }
    let params = match a.chunk_size {
        Some(n) => EncryptParams::new(n).context("--chunk-size")?,
        None => EncryptParams::default(),
    };
    // Everything that can be checked is checked before the store is written to.
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: a.idao })
        .await
        .with_context(|| {
            format!(
                "iDAO {} takes no contributions (it does not exist, or its owner has not \
                 configured it with `lazai idao configure`); nothing was uploaded",
                a.idao
            )
        })?;
    let recipient = PublicKey::from_bytes(config.workerKey.as_slice())
        .with_context(|| format!("iDAO {}'s worker key", a.idao))?;
    let location = match &a.store {
        Some(s) => s.clone(),
        None if config.storeUrl.is_empty() => {
            bail!("iDAO {} declares no blob store; give --store", a.idao)
        }
        None => config.storeUrl.clone(),
    };
    let store =
        BlobStore::open(&location).with_context(|| format!("open the blob store {location:?}"))?;
    let data_address = idao_data_address(a.idao);
    let registration = price_registration(&c, &store, a.idao, data_address).await?;

    let started = Instant::now();
    let label = format!("encrypting {}…", human_bytes(meta.len()));
    let encrypted = progress
        .ticking(
            &label,
            encrypt_for(&a.file, &store, &recipient, &std::env::temp_dir(), params),
        )
        .await?;
    let root_hex = encrypted.summary.root.to_hex();
    let key_file = write_key_file(
        &a.file,
        a.key_out.as_deref(),
        &encrypted.summary.data_key,
        &root_hex,
    )?;
    let hash = encrypted.hash.to_string();
    let url = encrypted.url.clone();
    let registration = registration.with_call(R::addFileWithPermissionsCall {
        url: url.clone(),
        hash: hash.clone(),
        ownerAddress: c.from(),
        permissions: vec![R::Permission {
            account: data_address,
            key: encrypted.sealed_key.to_hex(),
        }],
    });

    progress.step("uploading and registering…");
    let upload = async {
        let stored = encrypted.store(&store).await;
        (stored, started.elapsed())
    };
    // Into a local store the rest of the upload is flushing the ciphertext to disk and
    // renaming it: the registration goes out meanwhile (a worker retries a blob that is not
    // there yet). Anything slower is uploaded before the file is registered.
    let ((stored, elapsed), registered) = if store.staging_dir().is_some() {
        tokio::join!(upload, c.send_prepared(registration))
    } else {
        let (stored, elapsed) = upload.await;
        if let Err(e) = stored {
            let _ = std::fs::remove_file(&key_file);
            return Err(anyhow!(e)).context("nothing was registered, and the key file was removed");
        }
        ((stored, elapsed), c.send_prepared(registration).await)
    };
    let (contribution, added) = match (stored, registered) {
        (Ok(contribution), Ok(receipt)) => (contribution, receipt),
        (stored, Err(failure)) if failure.changed_nothing() => {
            // Nothing is registered: take back what was written.
            if stored.is_ok() {
                let _ = store.delete(&url).await;
            }
            let _ = std::fs::remove_file(&key_file);
            return Err(anyhow!(failure))
                .context("the file was not registered; its ciphertext and key file were removed");
        }
        (_, Err(unknown)) => bail!(
            "{unknown}; the ciphertext stays at {url} and the data key in {}: see `lazai data \
             list --owner {}` once the transaction is settled",
            key_file.display(),
            c.from()
        ),
        (Err(e), Ok(receipt)) => {
            let file_id = event::<R::FileAdded>(&receipt, DATA_REGISTRY_ADDRESS)
                .map(|e| e.fileId.to_string())
                .unwrap_or_else(|_| "?".into());
            bail!(
                "file {file_id} is registered, but its ciphertext could not be stored ({e}); \
                 its verifiers will reject it as unavailable: contribute the file again"
            );
        }
    };
    let file_id = event::<R::FileAdded>(&added, DATA_REGISTRY_ADDRESS)?.fileId;
    let summary = &contribution.summary;
    let throughput = megabytes_per_second(summary.plaintext_size, elapsed);
    if !a.tx.json {
        println!("file id       {file_id}");
        println!("url           {}", contribution.url);
        println!("hash          {hash}");
        println!(
            "size          {} bytes plaintext, {} bytes ciphertext ({} chunks of {} bytes)",
            summary.plaintext_size,
            summary.ciphertext_size,
            summary.chunk_count,
            summary.chunk_size
        );
        println!(
            "throughput    {throughput:.1} MB/s of plaintext (encrypt + upload, {} ms)",
            elapsed.as_millis()
        );
        println!(
            "data key      {} (keep it: it decrypts the file)",
            key_file.display()
        );
        println!("idao          {} (data address {data_address})", a.idao);
        // One transaction registers the file and shares its sealed key with the iDAO.
        print_tx_named("tx register", &added);
    }
    let mut out = json!({
        "fileId": file_id.to_string(),
        "url": contribution.url,
        "hash": hash,
        "root": root_hex,
        "plaintextSize": summary.plaintext_size,
        "ciphertextSize": summary.ciphertext_size,
        "chunkCount": summary.chunk_count,
        "chunkSize": summary.chunk_size,
        "elapsedMs": elapsed.as_millis() as u64,
        "throughputMBps": (throughput * 10.0).round() / 10.0,
        "keyFile": key_file.display().to_string(),
        "idaoId": a.idao.to_string(),
        "dataAddress": data_address.to_string(),
        "addFileTx": added.transaction_hash.to_string(),
        "shareTx": added.transaction_hash.to_string(),
    });

    let status = if a.no_wait {
        c.call(VSC_ADDRESS, V::fileStatusCall { fileId: file_id })
            .await?
    } else {
        progress.step("waiting for verification…");
        let deadline = Instant::now() + Duration::from_secs(a.tx.timeout);
        let mut last_state = FILE_NONE;
        loop {
            let st = c
                .call(VSC_ADDRESS, V::fileStatusCall { fileId: file_id })
                .await?;
            if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) {
                break st;
            }
            if st.state != last_state {
                last_state = st.state;
                progress.step(&format!(
                    "{} (flow {})…",
                    file_state_name(st.state),
                    st.flowId
                ));
            }
            if Instant::now() >= deadline {
                let state = file_state_name(st.state);
                if a.tx.json {
                    print_json(out, file_status_json(&st))?;
                } else {
                    println!("state         {state}");
                }
                bail!(
                    "file {file_id} is registered and shared with iDAO {}, but no verdict within \
                     {} s (state: {state}); it may still be verified: check with `lazai data \
                     status {file_id}`",
                    a.idao,
                    a.tx.timeout
                );
            }
            tokio::time::sleep(POLL).await;
        }
    };
    if a.tx.json {
        if let (Some(o), Value::Object(extra)) = (out.as_object_mut(), file_status_json(&status)) {
            o.extend(extra);
        }
        return print_json(out, json!({}));
    }
    print_file_status(&status);
    Ok(())
}

async fn data_resubmit(a: ResubmitArgs) -> Result<()> {
    let c = signing(&a.tx)?;
    check_file(&c, a.file).await?;
    let (file, st) = tokio::try_join!(
        c.call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: a.file }),
        c.call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file }),
    )?;
    // The module refuses all of these too; here they get a sentence.
    if file.ownerAddress != c.from() {
        bail!(
            "file {} belongs to {}: only its owner may resubmit it",
            a.file,
            file.ownerAddress
        );
    }
    if st.state != FILE_REJECTED {
        bail!(
            "file {} is {}: only a file rejected as unavailable can be resubmitted",
            a.file,
            file_state_name(st.state)
        );
    }
    if st.reason != REASON_UNAVAILABLE {
        bail!(
            "file {} was rejected because {} (reason {}): a verdict on its data is final; only \
             a file its verifiers could not read (reason {REASON_UNAVAILABLE}) can be resubmitted",
            a.file,
            describe_reason(st.reason),
            st.reason
        );
    }
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::resubmitFileCall { fileId: a.file },
            U256::ZERO,
        )
        .await?;
    let st = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file })
        .await?;
    if a.tx.json {
        let mut out = tx_json(&receipt);
        if let Some(o) = out.as_object_mut() {
            o.insert("fileId".into(), a.file.to_string().into());
        }
        return print_json(out, file_status_json(&st));
    }
    print_tx_named("tx", &receipt);
    println!(
        "file {} is back for iDAO {}'s next flow (see `lazai data status {}`)",
        a.file, st.idaoId, a.file
    );
    print_file_status(&st);
    Ok(())
}

/// The verification fields of a file status, as in `data status --json`.
fn file_status_json(st: &V::FileStatus) -> Value {
    json!({
        "state": file_state_name(st.state),
        "stateCode": st.state,
        "idaoId": opt_u256(st.idaoId),
        "flowId": opt_u256(st.flowId),
        "score": st.score,
        "reason": st.reason,
        "reasonText": reason_text(st.state, st.reason),
        "tokenId": opt_u256(st.tokenId),
    })
}

fn print_file_status(st: &V::FileStatus) {
    println!("state         {}", file_state_name(st.state));
    if !st.idaoId.is_zero() {
        println!("idao          {}", st.idaoId);
    }
    if !st.flowId.is_zero() {
        println!("flow          {}", st.flowId);
    }
    if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) {
        println!("score         {} / 10000", st.score);
        println!(
            "reason        {} ({})",
            st.reason,
            describe_reason(st.reason)
        );
    }
    println!("DAT token     {}", dash_if_zero(st.tokenId));
}

/// Whether file `id` exists: ids are 1..=filesCount.
async fn check_file(c: &Client, id: U256) -> Result<()> {
    let count = c.call(DATA_REGISTRY_ADDRESS, R::filesCountCall {}).await?;
    if id.is_zero() || id > count {
        bail!("no file {id}: the DataRegistry holds files 1 to {count}");
    }
    Ok(())
}

async fn data_status(a: StatusArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    check_file(&c, a.file).await?;
    let file = c
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: a.file })
        .await?;
    let st = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file })
        .await?;

    // The flow that gave the verdict, and who posted its anchored root.
    let mut flow_proof = None;
    if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) && !st.flowId.is_zero() {
        let flow = c
            .call(VSC_ADDRESS, V::getFlowCall { flowId: st.flowId })
            .await?;
        let posts = quorum_posts(&c, &flow).await?;
        flow_proof = Some((flow, posts));
    }
    // LazAI's SDK path: the DataRegistry's first proof.
    let registry_proof = c
        .call(
            DATA_REGISTRY_ADDRESS,
            R::getFileProofCall {
                fileId: a.file,
                index: U256::from(1),
            },
        )
        .await
        .ok();
    let dat = if st.tokenId.is_zero() {
        None
    } else {
        Some(
            c.call(
                DAT_ADDRESS,
                D::tokenInfoCall {
                    tokenId: st.tokenId,
                },
            )
            .await?,
        )
    };

    if a.read.json {
        let flow_json = flow_proof.as_ref().map(|(flow, posts)| {
            json!({
                "flowId": flow.id.to_string(),
                "resultsRoot": flow.resultsRoot.to_string(),
                "filesRoot": flow.filesRoot.to_string(),
                "threshold": flow.threshold,
                "quorum": posts.iter().map(|(node, root)| json!({
                    "node": node.to_string(),
                    "postedRoot": (!root.is_zero()).then(|| root.to_string()),
                    "agrees": *root == flow.resultsRoot && !root.is_zero(),
                })).collect::<Vec<_>>(),
            })
        });
        let registry_json = registry_proof.as_ref().map(|p| {
            json!({
                "index": "1",
                "score": p.data.score.to_string(),
                "signer": proof_signer(p).map(|s| s.to_string()),
                "proofUrl": p.data.proofUrl,
                "rewardProofIndex": opt_u256(file.proofIndex),
                "rewardAmount": file.rewardAmount.to_string(),
            })
        });
        let proof = if flow_json.is_none() && registry_json.is_none() {
            Value::Null
        } else {
            json!({ "flow": flow_json, "registry": registry_json })
        };
        let dat_json = dat.as_ref().map(|t| {
            json!({
                "tokenId": t.id.to_string(),
                "classId": t.classId.to_string(),
                "owner": t.owner.to_string(),
                "value": t.value.to_string(),
                "shareRatio": t.shareRatio.to_string(),
            })
        });
        return print_json(
            json!({
                "fileId": a.file.to_string(),
                "owner": file.ownerAddress.to_string(),
                "url": file.url,
                "hash": file.hash,
            }),
            {
                let mut v = file_status_json(&st);
                if let Some(o) = v.as_object_mut() {
                    o.insert("proof".into(), proof);
                    o.insert("dat".into(), dat_json.unwrap_or(Value::Null));
                }
                v
            },
        );
    }
    println!("file          {}", a.file);
    println!("owner         {}", file.ownerAddress);
    println!("url           {}", file.url);
    println!("hash          {}", file.hash);
    print_file_status(&st);
    if let Some((flow, posts)) = &flow_proof {
        println!("results root  {} (flow {})", flow.resultsRoot, flow.id);
        println!(
            "quorum        {} nodes, threshold {}",
            flow.quorum.len(),
            flow.threshold
        );
        for (node, root) in posts {
            let what = if root.is_zero() {
                "did not post"
            } else if *root == flow.resultsRoot {
                "posted it"
            } else {
                "posted another root"
            };
            println!("              {node} {what}");
        }
    }
    if let Some(p) = &registry_proof {
        let signer = proof_signer(p)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "invalid signature".to_string());
        println!("proof 1       score {} by {signer}", p.data.score);
    }
    if let Some(t) = &dat {
        println!(
            "DAT           class {}, owner {}, value {}, share {}",
            t.classId, t.owner, t.value, t.shareRatio
        );
    }
    Ok(())
}

async fn data_decrypt(a: DecryptArgs) -> Result<()> {
    let key = match (&a.key_file, &a.data_key) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read the key file {}", path.display()))?;
            DataKey::from_hex(text.trim())
                .with_context(|| format!("the key file {} holds no data key", path.display()))?
        }
        (None, Some(hex)) => DataKey::from_hex(hex.trim()).context("--data-key")?,
        (None, None) => bail!("give --key-file KEYFILE or --data-key HEX"),
    };
    let mut fetched_dir = None;
    let (blob, root, commitment, file_id, url) = match &a.root {
        Some(root) => (
            PathBuf::from(&a.target),
            parse_root(root)?,
            None,
            None,
            None,
        ),
        None => {
            let id = parse_u256(&a.target).map_err(|_| {
                anyhow!(
                    "{:?} is not a file id; to decrypt a local blob, give --root (its ciphertext \
                     root or lzenc1 hash)",
                    a.target
                )
            })?;
            let c = Client::read(&a.read.rpc)?;
            check_file(&c, id).await?;
            let file = c
                .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: id })
                .await?;
            let hash: FileHash = file
                .hash
                .parse()
                .with_context(|| format!("file {id}'s on-chain hash {:?}", file.hash))?;
            let location = match &a.store {
                Some(s) => s.clone(),
                None => store_of_url(&file.url)?.to_string(),
            };
            let store = BlobStore::open(&location)
                .with_context(|| format!("open the blob store {location:?}"))?;
            let dir = tempfile::Builder::new()
                .prefix(".lazai-decrypt-")
                .tempdir()
                .context("make a temporary directory")?;
            let dest = dir.path().join("blob");
            store
                .fetch_verified(&file.url, &hash.root, u64::MAX, &dest)
                .await
                .with_context(|| format!("fetch file {id}"))?;
            fetched_dir = Some(dir);
            (
                dest,
                hash.root,
                Some(hash.commitment),
                Some(id),
                Some(file.url),
            )
        }
    };
    let out = a.out.clone();
    let src = blob.clone();
    let summary = tokio::task::spawn_blocking(move || decrypt_file(&src, &out, &key, Some(&root)))
        .await
        .context("the decryption task failed")?
        .map_err(|e| anyhow!("decrypt {}: {e}", a.target))?;
    drop(fetched_dir);
    if let Some(expected) = commitment
        && expected != summary.plaintext_commitment
    {
        bail!(
            "{} was decrypted to {}, but its plaintext commitment {} is not the one on chain ({})",
            a.target,
            a.out.display(),
            summary.plaintext_commitment.to_hex(),
            expected.to_hex()
        );
    }
    if a.read.json {
        return print_json(
            json!({
                "fileId": file_id.map(|id| id.to_string()),
                "url": url,
                "out": a.out.display().to_string(),
                "root": summary.root.to_hex(),
                "plaintextSize": summary.plaintext_size,
                "ciphertextSize": summary.ciphertext_size,
                "commitmentChecked": commitment.is_some(),
            }),
            json!({}),
        );
    }
    println!(
        "decrypted     {} bytes to {}",
        summary.plaintext_size,
        a.out.display()
    );
    println!("root          {}", summary.root.to_hex());
    if commitment.is_some() {
        println!("commitment    matches the chain");
    }
    Ok(())
}

/// One line of `data list`.
struct Row {
    id: U256,
    owner: Address,
    status: V::FileStatus,
    shared: bool,
}

async fn list_row(c: Client, id: U256, shared_with: Option<Address>) -> Result<Row> {
    let file = c
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: id })
        .await?;
    let status = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: id })
        .await?;
    let shared = match shared_with {
        Some(account) => !c
            .call(
                DATA_REGISTRY_ADDRESS,
                R::getFilePermissionCall {
                    fileId: id,
                    account,
                },
            )
            .await?
            .is_empty(),
        None => false,
    };
    Ok(Row {
        id,
        owner: file.ownerAddress,
        status,
        shared,
    })
}

async fn data_list(a: ListArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let count = c.call(DATA_REGISTRY_ADDRESS, R::filesCountCall {}).await?;
    let first = if count > U256::from(LIST_CAP) {
        eprintln!("note: {count} files; reading the newest {LIST_CAP}");
        count - U256::from(LIST_CAP) + U256::from(1)
    } else {
        U256::from(1)
    };
    let data_address = a.idao.map(idao_data_address);
    let mut rows = Vec::new();
    let mut next = first;
    while next <= count {
        let mut batch = Vec::new();
        while next <= count && batch.len() < 32 {
            batch.push(tokio::spawn(list_row(c.clone(), next, data_address)));
            next += U256::from(1);
        }
        for task in batch {
            let row = task.await.context("a list task failed")??;
            let keep = a.owner.is_none_or(|o| o == row.owner)
                && a.idao.is_none_or(|i| row.status.idaoId == i || row.shared);
            if keep {
                rows.push(row);
            }
        }
    }
    if a.read.json {
        let files: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "fileId": r.id.to_string(),
                    "owner": r.owner.to_string(),
                    "state": file_state_name(r.status.state),
                    "idaoId": opt_u256(r.status.idaoId),
                    "score": r.status.score,
                    "tokenId": opt_u256(r.status.tokenId),
                })
            })
            .collect();
        return print_json(
            json!({ "filesCount": count.to_string(), "files": files }),
            json!({}),
        );
    }
    if rows.is_empty() {
        println!("no files");
        return Ok(());
    }
    println!(
        "{:<8} {:<42} {:<9} {:>5} {:>6}",
        "id", "owner", "state", "score", "token"
    );
    for r in &rows {
        let score = if matches!(r.status.state, FILE_VERIFIED | FILE_REJECTED) {
            r.status.score.to_string()
        } else {
            "-".to_string()
        };
        println!(
            "{:<8} {:<42} {:<9} {:>5} {:>6}",
            r.id.to_string(),
            r.owner.to_string(),
            file_state_name(r.status.state),
            score,
            dash_if_zero(r.status.tokenId)
        );
    }
    Ok(())
}

// ---- flow ----------------------------------------------------------------------------------

async fn flow_submit(a: FlowSubmitArgs) -> Result<()> {
    if a.pending {
        let signer = resolve_signer(a.tx.key.as_deref(), a.tx.key_file.as_deref())?;
        let mut packager = Packager::new(&a.tx.rpc, signer, a.idao, POLL)?;
        let Some(flow_id) = packager.poll().await? else {
            if a.tx.json {
                return print_json(
                    json!({ "idaoId": a.idao.to_string(), "flowId": null }),
                    json!({}),
                );
            }
            println!(
                "no files shared with iDAO {} are waiting for a flow",
                a.idao
            );
            return Ok(());
        };
        let c = Client::read(&a.tx.rpc)?;
        let flow = c
            .call(VSC_ADDRESS, V::getFlowCall { flowId: flow_id })
            .await?;
        let files = c
            .call(VSC_ADDRESS, V::flowFilesCall { flowId: flow_id })
            .await?;
        return print_submitted(&a, None, &flow, &files);
    }
    if a.files.is_empty() {
        bail!("--files is empty");
    }
    let c = signing(&a.tx)?;
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: a.idao })
        .await?;
    let fee = config.nodeFee.saturating_mul(U256::from(config.quorumSize));
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::submitFlowCall {
                idaoId: a.idao,
                fileIds: a.files.clone(),
            },
            fee,
        )
        .await?;
    let submitted = event::<V::FlowSubmitted>(&receipt, VSC_ADDRESS)?;
    let flow = c
        .call(
            VSC_ADDRESS,
            V::getFlowCall {
                flowId: submitted.flowId,
            },
        )
        .await?;
    print_submitted(&a, Some(&receipt), &flow, &a.files)
}

fn print_submitted(
    a: &FlowSubmitArgs,
    receipt: Option<&TransactionReceipt>,
    flow: &V::Flow,
    files: &[U256],
) -> Result<()> {
    let fee = flow.feePerNode * U256::from(flow.quorum.len());
    if a.tx.json {
        return print_json(
            receipt.map(tx_json).unwrap_or_else(|| json!({})),
            json!({
                "flowId": flow.id.to_string(),
                "idaoId": flow.idaoId.to_string(),
                "files": files.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "filesRoot": flow.filesRoot.to_string(),
                "quorum": flow.quorum.iter().map(|q| q.to_string()).collect::<Vec<_>>(),
                "threshold": flow.threshold,
                "deadline": flow.deadline,
                "feePerNodeWei": flow.feePerNode.to_string(),
                "feeWei": fee.to_string(),
            }),
        );
    }
    if let Some(r) = receipt {
        print_tx_named("tx", r);
    }
    println!("flow id       {}", flow.id);
    println!(
        "files         {}",
        files
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("files root    {}", flow.filesRoot);
    for (i, node) in flow.quorum.iter().enumerate() {
        let label = if i == 0 { "quorum" } else { "" };
        println!("{label:<13} {node}");
    }
    println!("threshold     {}", flow.threshold);
    println!("deadline      block {}", flow.deadline);
    println!(
        "fee           {} ({} per node)",
        format_lazai(fee),
        format_lazai(flow.feePerNode)
    );
    Ok(())
}

/// Each quorum member of `flow` with the results root it posted (zero when it did not).
async fn quorum_posts(c: &Client, flow: &V::Flow) -> Result<Vec<(Address, B256)>> {
    let mut posts = Vec::with_capacity(flow.quorum.len());
    for &node in &flow.quorum {
        let root = c
            .call(
                VSC_ADDRESS,
                V::postedRootCall {
                    flowId: flow.id,
                    node,
                },
            )
            .await?;
        posts.push((node, root));
    }
    Ok(posts)
}

async fn flow_status(a: FlowStatusArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let flow = c
        .call(VSC_ADDRESS, V::getFlowCall { flowId: a.flow })
        .await?;
    let files = c
        .call(VSC_ADDRESS, V::flowFilesCall { flowId: a.flow })
        .await?;
    let posts = quorum_posts(&c, &flow).await?;
    let results = if flow.status == FLOW_VERIFIED {
        c.call(
            VSC_ADDRESS,
            V::flowResultsCall {
                flowId: a.flow,
                resultsRoot: flow.resultsRoot,
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let head = c
        .provider()
        .get_block_number()
        .await
        .with_context(|| format!("eth_blockNumber (via {})", a.read.rpc))?;
    let agrees = |root: &B256| !root.is_zero() && *root == flow.resultsRoot;
    if a.read.json {
        return print_json(
            json!({
                "flowId": flow.id.to_string(),
                "status": flow_status_name(flow.status),
                "statusCode": flow.status,
                "idaoId": flow.idaoId.to_string(),
                "submitter": flow.submitter.to_string(),
                "filesRoot": flow.filesRoot.to_string(),
                "resultsRoot": (!flow.resultsRoot.is_zero()).then(|| flow.resultsRoot.to_string()),
                "files": files.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "threshold": flow.threshold,
                "posted": flow.posted.to_string(),
                "quorum": posts.iter().map(|(node, root)| json!({
                    "node": node.to_string(),
                    "postedRoot": (!root.is_zero()).then(|| root.to_string()),
                    "agrees": agrees(root),
                })).collect::<Vec<_>>(),
                "submittedAt": flow.submittedAt,
                "deadline": flow.deadline,
                "currentBlock": head,
                "feePerNodeWei": flow.feePerNode.to_string(),
                "feePerNode": format_units(flow.feePerNode, LAZAI_DECIMALS),
                "results": results.iter().map(|r| json!({
                    "fileId": r.fileId.to_string(),
                    "score": r.score,
                    "reason": r.reason,
                    "reasonText": describe_reason(r.reason),
                })).collect::<Vec<_>>(),
            }),
            json!({}),
        );
    }
    println!("flow          {}", flow.id);
    println!("status        {}", flow_status_name(flow.status));
    println!("idao          {}", flow.idaoId);
    println!("submitter     {}", flow.submitter);
    println!(
        "files         {}",
        files
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("files root    {}", flow.filesRoot);
    if !flow.resultsRoot.is_zero() {
        println!("results root  {}", flow.resultsRoot);
    }
    println!(
        "quorum        {} nodes, threshold {}, {} posted",
        flow.quorum.len(),
        flow.threshold,
        flow.posted
    );
    for (node, root) in &posts {
        let what = if root.is_zero() {
            "not posted".to_string()
        } else if agrees(root) {
            format!("{root} (agrees)")
        } else if flow.status == FLOW_VERIFIED {
            format!("{root} (differs)")
        } else {
            root.to_string()
        };
        println!("              {node} {what}");
    }
    let when = if flow.status != FLOW_PENDING {
        String::new()
    } else if head > flow.deadline {
        " (passed: anyone may finalize it)".to_string()
    } else {
        format!(" ({} blocks left)", flow.deadline - head)
    };
    println!("deadline      block {}{when}", flow.deadline);
    println!("fee per node  {}", format_lazai(flow.feePerNode));
    for (i, r) in results.iter().enumerate() {
        let label = if i == 0 { "results" } else { "" };
        let verdict = if r.score > 0 {
            format!("score {}", r.score)
        } else {
            format!("rejected: {} ({})", describe_reason(r.reason), r.reason)
        };
        println!("{label:<13} file {} {verdict}", r.fileId);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_role_lists() {
        assert_eq!(parse_roles("data"), Ok(ROLE_DATA));
        assert_eq!(
            parse_roles("Data, model,compute,application"),
            Ok(ROLE_DATA | ROLE_MODEL | ROLE_COMPUTE | ROLE_APPLICATION)
        );
        assert_eq!(
            parse_roles("app,data,data"),
            Ok(ROLE_APPLICATION | ROLE_DATA)
        );
        assert_eq!(parse_roles("none"), Ok(0));
        assert_eq!(parse_roles(""), Ok(0));
        for bad in ["data,", "storage", "data,,model", "1"] {
            assert!(parse_roles(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(role_names(ROLE_DATA | ROLE_COMPUTE), ["data", "compute"]);
        assert_eq!(role_names(0), Vec::<String>::new());
        assert_eq!(role_names(0x10 | ROLE_MODEL), ["model", "0x10"]);
        for mask in 0..16u8 {
            assert_eq!(parse_roles(&role_names(mask).join(",")), Ok(mask));
        }
    }

    #[test]
    fn names_states() {
        assert_eq!(file_state_name(FILE_NONE), "none");
        assert_eq!(file_state_name(FILE_IN_FLOW), "in flow");
        assert_eq!(file_state_name(FILE_VERIFIED), "verified");
        assert_eq!(file_state_name(FILE_REJECTED), "rejected");
        assert_eq!(file_state_name(FILE_DISPUTED), "disputed");
        assert_eq!(file_state_name(FILE_RESUBMITTED), "resubmitted");
        assert_eq!(file_state_name(9), "unknown");
        assert_eq!(flow_status_name(FLOW_PENDING), "pending");
        assert_eq!(flow_status_name(FLOW_VERIFIED), "verified");
        assert_eq!(flow_status_name(FLOW_DISPUTED), "disputed");
        assert_eq!(flow_status_name(0), "unknown");
        assert_eq!(reason_text(FILE_NONE, 0), None);
        assert_eq!(reason_text(FILE_REJECTED, 8), Some("the file is empty"));
        assert_eq!(
            reason_text(FILE_REJECTED, 9),
            Some("every row of the file was already contributed")
        );
        assert_eq!(
            reason_text(FILE_REJECTED, 10),
            Some("the file is not CSV with a header or JSON lines")
        );
        assert_eq!(reason_text(FILE_VERIFIED, 0), Some("the file was accepted"));
    }

    #[test]
    fn finds_the_store_of_a_url() {
        assert_eq!(
            store_of_url("file:///srv/blobs/ab.lzenc").expect("ok"),
            "file:///srv/blobs"
        );
        assert_eq!(
            store_of_url("s3://bucket/prefix/ab.lzenc").expect("ok"),
            "s3://bucket/prefix"
        );
        assert!(store_of_url("memory:///ab.lzenc").is_err());
        assert!(store_of_url("ab.lzenc").is_err());
        assert!(store_of_url("file:///srv/blobs/").is_err());
    }

    #[test]
    fn parses_worker_keys_and_roots() {
        let (_, public) = generate_keypair();
        let parsed = parse_worker_key(&public.to_hex()).expect("ok");
        assert_eq!(parsed.0, public.to_bytes());
        assert!(parse_worker_key("0x1234").is_err());
        assert!(parse_worker_key(&"0".repeat(64)).is_err());
        let hex = "ab".repeat(32);
        let root = parse_root(&hex).expect("hex root");
        assert_eq!(parse_root(&format!("0x{hex}")).expect("0x root"), root);
        let hash = format!("lzenc1:{hex}:{}", "cd".repeat(32));
        assert_eq!(parse_root(&hash).expect("hash"), root);
        assert!(parse_root("lzenc1:00:00").is_err());
        assert!(parse_root("xyz").is_err());
    }

    #[test]
    fn key_files_go_next_to_the_input_then_here() {
        let c = key_file_candidates(Path::new("/data/wine.csv"), "0xabcdef0123456789ffff");
        assert_eq!(
            c,
            [
                PathBuf::from("/data/wine.csv.lazai-key"),
                PathBuf::from("/data/wine.csv.abcdef0123456789.lazai-key"),
                PathBuf::from("./wine.csv.lazai-key"),
                PathBuf::from("./wine.csv.abcdef0123456789.lazai-key"),
            ]
        );
        let here = key_file_candidates(Path::new("wine.csv"), "00");
        assert_eq!(
            here,
            [
                PathBuf::from("./wine.csv.lazai-key"),
                PathBuf::from("./wine.csv.00.lazai-key")
            ]
        );
    }

    #[test]
    fn writes_private_files_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        create_private(&path, "secret\n").expect("created");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "secret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(create_private(&path, "other").is_err(), "never overwrites");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "secret\n");
        let key = DataKey::generate();
        let input = dir.path().join("wine.csv");
        let first = write_key_file(&input, None, &key, "0x0011").expect("first");
        assert_eq!(first, dir.path().join("wine.csv.lazai-key"));
        let second = write_key_file(&input, None, &key, "0x0011").expect("second");
        assert_eq!(second, dir.path().join("wine.csv.0011.lazai-key"));
        let text = std::fs::read_to_string(&second).expect("read");
        assert!(DataKey::from_hex(text.trim()).expect("hex") == key);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn throughput() {
        assert_eq!(
            megabytes_per_second(10_000_000, Duration::from_secs(2)),
            5.0
        );
        assert_eq!(megabytes_per_second(1, Duration::ZERO), 0.0);
    }
}
