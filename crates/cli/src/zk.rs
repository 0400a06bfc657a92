//! `lazai zk` and `lazai task`: Groth16 circuits registered with the Verifier module (keys and
//! proofs in snarkjs's JSON format, so circom circuits work unchanged), proofs checked by the
//! chain, and the execution records of tasks.

use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::client::{block_on, signing};
use crate::kit::output::{print_json, print_tx, tx_json, utc_or_never};
use alloy_primitives::{B256, Bytes, U256};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use lazai_abi::{IVerifier as X, VERIFIER_ADDRESS};
use lazai_client::Client;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ZkCommand {
    /// Register a Groth16 (BN254) verifying key — snarkjs's `verification_key.json` — with
    /// the Verifier module; prints its circuit id (keccak256 of the key's canonical bytes).
    /// A key made elsewhere (a snarkjs phase-2 ceremony) is registered as is; `--dev` marks a
    /// fixed-seed setup, accepted only on chains whose genesis enables dev setups.
    Register(RegisterArgs),
    /// Ask the chain whether a proof (snarkjs's `proof.json` and `public.json`) checks
    /// against a registered circuit; exits 0 only if it does.
    Verify(VerifyArgs),
    /// The dev setup of a model's proof-of-inference circuit: writes its
    /// `verification_key.json` and prints its circuit id. The seed comes from the model's
    /// hash, so anyone can recompute the keys — and forge proofs: dev chains only.
    Setup(SetupArgs),
    /// Prove a model on one input, locally (dev-setup keys): writes snarkjs's `proof.json`
    /// and `public.json` (task id, input commitment, output commitment) for `lazai zk verify`.
    Prove(ProveArgs),
    /// Export a model's proof-of-inference circuit as circom's `.r1cs` (and, with --features
    /// and --wtns, a witness as `.wtns`) for a snarkjs ceremony and snarkjs proving.
    Export(ExportArgs),
}

#[derive(Subcommand)]
pub enum TaskCommand {
    /// A task's execution record: iDAO, model, circuit, worker, input commitment, result,
    /// mode and status; for an optimistic result, its window, bonds and disputes.
    Show(ShowArgs),
    /// An iDAO's terms for optimistic results (window, clocks, bonds): print, or set as its
    /// owner.
    Terms(crate::optimistic::TermsArgs),
    /// Make an optimistic result final once its window passed with no dispute open (anyone
    /// may; the worker's bond goes back to it).
    Finalize(FinalizeArgs),
}

#[derive(Args)]
pub struct FinalizeArgs {
    /// The task id.
    #[arg(value_parser = crate::kit::units::parse_u256)]
    id: U256,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct RegisterArgs {
    /// snarkjs `verification_key.json`.
    #[arg(long, value_name = "FILE")]
    vk: PathBuf,
    /// Which public signal carries the task id (0 = the first in `public.json`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    task_signal: u32,
    /// The key comes from a dev (fixed-seed, forgeable) setup.
    #[arg(long)]
    dev: bool,
    /// Register it as this model's proof-of-inference circuit (`registerModelCircuit`: task
    /// id in signal 0, input commitment in signal 1; the model's worker or iDAO owner only).
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256, conflicts_with = "task_signal")]
    model: Option<U256>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct SetupArgs {
    /// The model file.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Directory for `verification_key.json`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Args)]
pub struct ProveArgs {
    /// The model file.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Comma-separated feature values (as `lazai model call` takes them).
    #[arg(long, allow_hyphen_values = true)]
    features: String,
    /// The task id the proof is bound to (public signal 0).
    #[arg(long, value_parser = crate::kit::units::parse_u256, default_value = "0")]
    task: U256,
    /// The commitment's salt (32 bytes, hex); default: random, printed.
    #[arg(long, value_name = "HEX", conflicts_with = "clear")]
    salt: Option<B256>,
    /// Salt 0: anyone shown the input can recompute the commitment.
    #[arg(long)]
    clear: bool,
    /// Directory for `proof.json`, `public.json` and `verification_key.json`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The model file.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Where the `.r1cs` goes.
    #[arg(long, value_name = "FILE")]
    r1cs: PathBuf,
    /// Also write the witness of these comma-separated features (`.wtns`, with --wtns).
    #[arg(long, allow_hyphen_values = true, requires = "wtns")]
    features: Option<String>,
    #[arg(long, value_name = "FILE", requires = "features")]
    wtns: Option<PathBuf>,
    /// The witness's task id.
    #[arg(long, value_parser = crate::kit::units::parse_u256, default_value = "0")]
    task: U256,
    /// The witness's salt (32 bytes, hex; default 0).
    #[arg(long, value_name = "HEX")]
    salt: Option<B256>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The circuit id `lazai zk register` printed.
    #[arg(long, value_name = "ID")]
    circuit: B256,
    /// snarkjs `proof.json`.
    #[arg(long, value_name = "FILE")]
    proof: PathBuf,
    /// snarkjs `public.json`.
    #[arg(long, value_name = "FILE")]
    public: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Task id.
    #[arg(value_parser = crate::kit::units::parse_u256)]
    id: U256,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(cmd: ZkCommand) -> Result<()> {
    match cmd {
        ZkCommand::Register(a) => block_on(register(a)),
        ZkCommand::Verify(a) => block_on(verify(a)),
        ZkCommand::Setup(a) => setup(a),
        ZkCommand::Prove(a) => prove(a),
        ZkCommand::Export(a) => export(a),
    }
}

pub fn run_task(cmd: TaskCommand) -> Result<()> {
    match cmd {
        TaskCommand::Show(a) => block_on(show(a)),
        TaskCommand::Terms(a) => crate::optimistic::terms(a),
        TaskCommand::Finalize(a) => crate::optimistic::finalize(a.id, a.tx),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

async fn register(a: RegisterArgs) -> Result<()> {
    let key = lazai_zk::VerifyingKey::from_snarkjs_json(&read(&a.vk)?)
        .with_context(|| format!("{} is not a usable Groth16 BN254 key", a.vk.display()))?;
    let id = match a.model {
        Some(model) => lazai_abi::model_circuit_id(model, &key.to_bytes()),
        None => B256::from(key.id()),
    };
    let c = signing(&a.tx)?;
    let receipt = match a.model {
        Some(model) => {
            c.send(
                VERIFIER_ADDRESS,
                X::registerModelCircuitCall {
                    modelId: model,
                    verifyingKey: Bytes::from(key.to_bytes()),
                    dev: a.dev,
                },
                U256::ZERO,
            )
            .await?
        }
        None => {
            c.send(
                VERIFIER_ADDRESS,
                X::registerCircuitCall {
                    verifyingKey: Bytes::from(key.to_bytes()),
                    dev: a.dev,
                    taskSignal: a.task_signal,
                },
                U256::ZERO,
            )
            .await?
        }
    };
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "circuitId": id,
                "publicInputs": key.public_inputs(),
                "taskSignal": a.task_signal,
                "dev": a.dev,
            }),
        );
    }
    print_tx(&receipt);
    println!("circuit       {id}");
    println!(
        "inputs        {} public (task id in signal {}){}",
        key.public_inputs(),
        a.task_signal,
        if a.dev { ", dev setup" } else { "" }
    );
    Ok(())
}

async fn verify(a: VerifyArgs) -> Result<()> {
    let proof = lazai_zk::Proof::from_snarkjs_json(&read(&a.proof)?)
        .with_context(|| format!("{} is not a usable Groth16 proof", a.proof.display()))?;
    let inputs = lazai_zk::public_inputs_from_snarkjs_json(&read(&a.public)?)
        .with_context(|| format!("{} is not a list of public signals", a.public.display()))?;
    let signals: Vec<U256> = lazai_zk::public_inputs_to_bytes(&inputs)
        .chunks_exact(32)
        .map(U256::from_be_slice)
        .collect();
    let c = Client::read(&a.read.rpc)?;
    let valid = c
        .call(
            VERIFIER_ADDRESS,
            X::verifyProofCall {
                circuitId: a.circuit,
                zkProof: Bytes::from(proof.to_bytes()),
                publicSignals: signals,
            },
        )
        .await?;
    if a.read.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "circuitId": a.circuit, "valid": valid }))?
        );
    } else {
        println!("proof         {}", if valid { "valid" } else { "INVALID" });
    }
    if !valid {
        bail!("the proof does not check against circuit {}", a.circuit);
    }
    Ok(())
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        1 => "tee",
        2 => "zk",
        3 => "optimistic",
        _ => "unknown",
    }
}

fn status_name(status: u8) -> &'static str {
    match status {
        1 => "pending",
        2 => "verified",
        3 => "rejected",
        4 => "challenged",
        5 => "fraud",
        _ => "unknown",
    }
}

async fn show(a: ShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let t = c
        .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: a.id })
        .await?;
    let dev = t.mode == lazai_abi::MODE_ZK
        && c.call(
            VERIFIER_ADDRESS,
            X::getCircuitCall {
                circuitId: t.circuitId,
            },
        )
        .await?
        .dev;
    let optimistic = if t.mode == lazai_abi::MODE_OPTIMISTIC {
        Some(crate::optimistic::dispute_json(&c, a.id).await?)
    } else {
        None
    };
    if a.read.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "optimistic": optimistic,
                "taskId": a.id.to_string(),
                "circuitDev": dev,
                "idaoId": t.idaoId.to_string(),
                "modelId": t.modelId.to_string(),
                "circuitId": t.circuitId,
                "worker": t.worker,
                "requester": t.requester,
                "inputCommitment": t.inputCommitment,
                "resultHash": t.resultHash,
                "mode": mode_name(t.mode),
                "status": status_name(t.status),
                "verified": t.status == lazai_abi::TASK_VERIFIED,
                "createdAt": t.createdAt,
                "updatedAt": t.updatedAt,
            }))?
        );
        return Ok(());
    }
    println!("task          {}", a.id);
    println!("status        {}", status_name(t.status));
    println!("mode          {}", mode_name(t.mode));
    println!("iDAO          {}", t.idaoId);
    println!("model         {}", t.modelId);
    if t.mode == lazai_abi::MODE_ZK {
        println!(
            "circuit       {}{}",
            t.circuitId,
            if dev { " (dev setup: forgeable)" } else { "" }
        );
    }
    println!("worker        {}", t.worker);
    println!("requester     {}", t.requester);
    println!("input         {}", t.inputCommitment);
    println!("result        {}", t.resultHash);
    println!("created       {}", utc_or_never(t.createdAt));
    println!("updated       {}", utc_or_never(t.updatedAt));
    if optimistic.is_some() {
        crate::optimistic::print_dispute(&c, a.id).await?;
    }
    Ok(())
}

pub(crate) fn load_model(path: &Path) -> Result<lazai_model::QuantizedMlp> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    lazai_model::QuantizedMlp::from_bytes(&bytes)
        .with_context(|| format!("{} is not a LazAI model file", path.display()))
}

/// `--features` in thousandths, as the inference server converts them.
fn parse_features(s: &str) -> Result<Vec<i32>> {
    let values = crate::model::parse_features(s)?;
    lazai_worker::serve::features_to_milli(&values).map_err(anyhow::Error::msg)
}

fn field(b: &B256, what: &str) -> Result<lazai_zkml::Fr> {
    lazai_zkml::fr_from_be(&b.0).with_context(|| format!("{what} is not a BN254 scalar"))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

fn setup(a: SetupArgs) -> Result<()> {
    let model = load_model(&a.model)?;
    let size = lazai_zkml::size(&model)?;
    let keys = lazai_zkml::dev_setup(&model)?;
    let path = write(
        &a.out,
        "verification_key.json",
        &keys.verifying.to_snarkjs_json(),
    )?;
    println!(
        "key id        {} (as a model's circuit, its id is bound to the model id)",
        B256::from(keys.verifying.id())
    );
    println!("setup         dev (seeded by the model hash: forgeable, dev chains only)");
    println!(
        "constraints   {} ({} public signals: task, input commitment, output commitment)",
        size.constraints, size.public_inputs
    );
    println!("key           {}", path.display());
    Ok(())
}

fn prove(a: ProveArgs) -> Result<()> {
    let model = load_model(&a.model)?;
    let x = parse_features(&a.features)?;
    let q = model.quantize_input(&x)?;
    let salt = match (a.clear, a.salt) {
        (true, _) => lazai_zkml::Fr::from(0u64),
        (false, Some(s)) => field(&s, "--salt")?,
        (false, None) => lazai_zkml::random_salt(),
    };
    let task = lazai_zkml::fr_from_be(&a.task.to_be_bytes::<32>())?;
    let started = std::time::Instant::now();
    let keys = lazai_zkml::dev_setup(&model)?;
    let setup = started.elapsed();
    let started = std::time::Instant::now();
    let (proof, st) = lazai_zkml::prove(&keys, &model, &q, salt, task)?;
    let proved = started.elapsed();
    let signals = st.public_signals();
    write(&a.out, "proof.json", &proof.to_snarkjs_json())?;
    write(
        &a.out,
        "public.json",
        &lazai_zk::public_inputs_to_snarkjs_json(&signals),
    )?;
    write(
        &a.out,
        "verification_key.json",
        &keys.verifying.to_snarkjs_json(),
    )?;
    println!("class         {}", st.class);
    println!("logits        {:?}", st.logits);
    println!(
        "commitment    {}",
        B256::from(lazai_zkml::fr_to_be(&st.commitment))
    );
    println!("salt          {}", B256::from(lazai_zkml::fr_to_be(&salt)));
    println!(
        "key id        {} (dev setup)",
        B256::from(keys.verifying.id())
    );
    println!(
        "proved        in {:.3} s (setup {:.3} s); {}",
        proved.as_secs_f64(),
        setup.as_secs_f64(),
        a.out.display()
    );
    Ok(())
}

fn export(a: ExportArgs) -> Result<()> {
    let model = load_model(&a.model)?;
    let r1cs = lazai_zkml::r1cs::write_r1cs(&model)?;
    std::fs::write(&a.r1cs, &r1cs).with_context(|| format!("write {}", a.r1cs.display()))?;
    println!("r1cs          {} ({} bytes)", a.r1cs.display(), r1cs.len());
    if let (Some(features), Some(path)) = (&a.features, &a.wtns) {
        let q = model.quantize_input(&parse_features(features)?)?;
        let salt = match &a.salt {
            Some(s) => field(s, "--salt")?,
            None => lazai_zkml::Fr::from(0u64),
        };
        let task = lazai_zkml::fr_from_be(&a.task.to_be_bytes::<32>())?;
        let wtns = lazai_zkml::r1cs::write_wtns(&model, &q, salt, task)?;
        std::fs::write(path, &wtns).with_context(|| format!("write {}", path.display()))?;
        println!("witness       {} ({} bytes)", path.display(), wtns.len());
    }
    Ok(())
}

/// `lazai model call --proof zk`'s wait: [`wait_verified`], narrated.
pub async fn await_proved_call(
    rpc: &str,
    zk: &lazai_worker::serve::ZkTask,
    p: &lazai_worker::serve::Prediction,
    timeout: std::time::Duration,
) -> Result<()> {
    println!(
        "task          {} (zk{}), input commitment {}",
        zk.task_id,
        if zk.dev { ", dev setup" } else { "" },
        zk.input_commitment
    );
    wait_verified(rpc, zk, p, timeout).await?;
    println!("verified      on chain: the logits and class are the model's on the committed input");
    Ok(())
}

/// After a call answered with a ZK task: checks the answer's commitment against its input
/// and salt, waits until the chain has verified the task, and checks that what the chain
/// verified is the answer (the task's result hash is that of the answer's statement).
pub async fn wait_verified(
    rpc: &str,
    zk: &lazai_worker::serve::ZkTask,
    p: &lazai_worker::serve::Prediction,
    timeout: std::time::Duration,
) -> Result<()> {
    let salt = field(&zk.salt, "the answer's salt")?;
    let commitment = B256::from(lazai_zkml::fr_to_be(&lazai_zkml::commitment(
        &zk.input, salt,
    )));
    if commitment != zk.input_commitment {
        bail!("the answer's input commitment is not Poseidon(input, salt)");
    }
    let statement = lazai_zkml::Statement {
        task: lazai_zkml::fr_from_be(&zk.task_id.to_be_bytes::<32>())?,
        commitment: lazai_zkml::commitment(&zk.input, salt),
        logits: p.logits.clone(),
        class: p.class,
    };
    let signals: Vec<U256> = statement
        .public_signals()
        .iter()
        .map(|f| U256::from_be_bytes(lazai_zkml::fr_to_be(f)))
        .collect();
    let expected = lazai_abi::zk_result_hash(&signals);
    let c = Client::read(rpc)?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let t = c
            .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: zk.task_id })
            .await?;
        if t.inputCommitment != zk.input_commitment || t.circuitId != zk.circuit_id {
            bail!(
                "task {} on chain is not the one the answer names",
                zk.task_id
            );
        }
        if t.status == lazai_abi::TASK_VERIFIED {
            if t.resultHash != expected {
                bail!(
                    "the chain verified task {} for another result than the answer",
                    zk.task_id
                );
            }
            return Ok(());
        }
        if t.status != lazai_abi::TASK_PENDING {
            bail!("task {} is {}", zk.task_id, status_name(t.status));
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "task {} is still pending after {} s",
                zk.task_id,
                timeout.as_secs()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
