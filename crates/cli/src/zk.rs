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
}

#[derive(Subcommand)]
pub enum TaskCommand {
    /// A task's execution record: iDAO, model, circuit, worker, input commitment, result,
    /// mode and status.
    Show(ShowArgs),
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
    #[command(flatten)]
    tx: TxArgs,
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
    }
}

pub fn run_task(cmd: TaskCommand) -> Result<()> {
    match cmd {
        TaskCommand::Show(a) => block_on(show(a)),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

async fn register(a: RegisterArgs) -> Result<()> {
    let key = lazai_zk::VerifyingKey::from_snarkjs_json(&read(&a.vk)?)
        .with_context(|| format!("{} is not a usable Groth16 BN254 key", a.vk.display()))?;
    let id = B256::from(key.id());
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            VERIFIER_ADDRESS,
            X::registerCircuitCall {
                verifyingKey: Bytes::from(key.to_bytes()),
                dev: a.dev,
                taskSignal: a.task_signal,
            },
            U256::ZERO,
        )
        .await?;
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
        _ => "unknown",
    }
}

async fn show(a: ShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let t = c
        .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: a.id })
        .await?;
    if a.read.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "taskId": a.id.to_string(),
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
        println!("circuit       {}", t.circuitId);
    }
    println!("worker        {}", t.worker);
    println!("requester     {}", t.requester);
    println!("input         {}", t.inputCommitment);
    println!("result        {}", t.resultHash);
    println!("created       {}", utc_or_never(t.createdAt));
    println!("updated       {}", utc_or_never(t.updatedAt));
    Ok(())
}
