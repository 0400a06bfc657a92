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

mod contribute;
mod files;
mod flow;
mod idao;

pub use self::{contribute::*, files::*, flow::*, idao::*};

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
use lazai_client::{Client, event, resolve_signer};
use lazai_crypto::{DataKey, EncryptParams, PublicKey, Root, decrypt_file, generate_keypair};
use lazai_abi::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D,
    IDataRegistry as R, IIdaoRegistry as G, IVsc as V, ROLE_APPLICATION, ROLE_COMPUTE, ROLE_DATA,
    ROLE_MODEL, VSC_ADDRESS, idao_data_address, proof_signer,
};
use lazai_worker::{FileHash, Packager, Schema, describe_reason};
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File states and flow status codes of the VSC.
pub use lazai_abi::{
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
