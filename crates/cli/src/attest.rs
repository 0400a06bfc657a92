//! `lazai attest`: verify TEE evidence offline, and set or read an iDAO's TEE policy and its
//! nodes' attestations on chain.

use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::client::{block_on, signing};
use crate::kit::output::{print_json, print_tx, tx_json};
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_abi::{IDAO_REGISTRY_ADDRESS, ITeeRegistry as T, TeePolicy};
use lazai_attest::{Attested, Options, Platform, TcbStatus};
use lazai_client::Client;
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AttestCommand {
    /// Verify an evidence file offline: an SGX/TDX DCAP quote, an SEV-SNP report, a Nitro
    /// attestation document or a dev quote (detected from the bytes; binary or hex). Prints
    /// the normalized result and exits 0 only when the evidence is valid at that time.
    Verify(VerifyArgs),
    /// An iDAO's TEE policy: which platforms, measurements, TCB status and evidence age its
    /// nodes must have.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// A node's attestation for an iDAO, and whether it is assignable now.
    Status(StatusArgs),
    /// Governance: let (or stop letting) nodes attested under an iDAO's TEE policy register
    /// themselves as VerifiedComputing nodes (LazAI's SDK proof jobs).
    AllowNodes(AllowNodesArgs),
}

#[derive(Args)]
pub struct AllowNodesArgs {
    /// iDAO id.
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256)]
    idao: U256,
    /// Stop allowing instead.
    #[arg(long)]
    disallow: bool,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The evidence file.
    #[arg(long, value_name = "FILE")]
    quote: PathBuf,
    /// Its collateral: DCAP collateral JSON (SGX/TDX) or the VCEK certificate (SEV-SNP).
    #[arg(long, value_name = "FILE")]
    collateral: Option<PathBuf>,
    /// Verify as of this time (Unix seconds; default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,
    /// Accept the dev TEE (it proves nothing about hardware).
    #[arg(long)]
    allow_dev: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Set an iDAO's TEE policy (its owner only). Takes effect at once: nodes whose
    /// attestation no longer passes stop being assigned work.
    Set(PolicySetArgs),
    /// Show an iDAO's TEE policy.
    Show(PolicyShowArgs),
}

#[derive(Args)]
pub struct PolicySetArgs {
    /// iDAO id.
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256)]
    idao: U256,
    /// Allowed platforms, comma-separated: dev, sgx, tdx, sev-snp, nitro.
    #[arg(long, value_name = "LIST", value_delimiter = ',', required = true)]
    platforms: Vec<String>,
    /// An allowed measurement hash (as `lazai attest verify` prints it); repeatable. None:
    /// any measurement of an allowed platform.
    #[arg(long = "measurement", value_name = "HASH")]
    measurements: Vec<B256>,
    /// The worst TCB status accepted (UpToDate, SWHardeningNeeded, ConfigurationNeeded,
    /// ConfigurationAndSWHardeningNeeded, TDRelaunchAdvised, ..., OutOfDate,
    /// OutOfDateConfigurationNeeded).
    #[arg(long, value_name = "STATUS", default_value = "UpToDate")]
    min_tcb: String,
    /// Longest evidence age accepted, in seconds; nodes refresh halfway through.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    max_age: u64,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct PolicyShowArgs {
    /// iDAO id.
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256)]
    idao: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// iDAO id.
    #[arg(long, value_name = "ID", value_parser = crate::kit::units::parse_u256)]
    idao: U256,
    /// The node's address.
    #[arg(long, value_name = "ADDR")]
    node: Address,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(cmd: AttestCommand) -> Result<()> {
    match cmd {
        AttestCommand::Verify(a) => verify(a),
        AttestCommand::Policy(PolicyCommand::Set(a)) => block_on(policy_set(a)),
        AttestCommand::Policy(PolicyCommand::Show(a)) => block_on(policy_show(a)),
        AttestCommand::Status(a) => block_on(status(a)),
        AttestCommand::AllowNodes(a) => block_on(allow_nodes(a)),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_input(path: &PathBuf, what: &str) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("read {what} {}", path.display()))?;
    Ok(lazai_attest::decode_input(&raw))
}

fn result_json(a: &Attested) -> serde_json::Value {
    let mut v = serde_json::to_value(a).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("valid".into(), json!(true));
        let mut m = serde_json::Map::new();
        for r in &a.measurements {
            m.insert(
                r.name.into(),
                json!(format!("0x{}", alloy_primitives::hex::encode(&r.value))),
            );
        }
        o.insert("measurements".into(), serde_json::Value::Object(m));
        o.insert("dev".into(), json!(a.platform == Platform::Dev));
        o.insert(
            "issuedAt".into(),
            json!(lazai_attest::binding::issued_at(&a.report_data())),
        );
    }
    v
}

fn verify(a: VerifyArgs) -> Result<()> {
    let evidence = read_input(&a.quote, "evidence")?;
    let collateral = match &a.collateral {
        Some(p) => {
            let raw =
                std::fs::read(p).with_context(|| format!("read collateral {}", p.display()))?;
            // DCAP collateral is JSON text; a VCEK is DER or PEM, or hex of either.
            if raw.first() == Some(&b'{') || raw.starts_with(b"-----") {
                raw
            } else {
                lazai_attest::decode_input(&raw)
            }
        }
        None => Vec::new(),
    };
    let at = a.at.unwrap_or_else(unix_now);
    let platform = lazai_attest::detect(&evidence);
    let result = lazai_attest::verify(
        &evidence,
        &collateral,
        at,
        Options {
            allow_dev: a.allow_dev,
        },
    );
    match result {
        Ok(r) => {
            if a.json {
                let mut v = result_json(&r);
                if let Some(o) = v.as_object_mut() {
                    o.insert("at".into(), json!(at));
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let label = if r.platform == Platform::Dev {
                    "dev (simulated TEE: proves nothing about hardware)".to_string()
                } else {
                    r.platform.to_string()
                };
                println!("valid         yes, at {at}");
                println!("platform      {label}");
                for m in &r.measurements {
                    println!(
                        "{:<13} 0x{}",
                        m.name,
                        alloy_primitives::hex::encode(&m.value)
                    );
                }
                println!(
                    "measurement   {} (the hash a TEE policy allows)",
                    r.measurement_hash
                );
                println!("tcb status    {}", r.tcb_status);
                if !r.advisories.is_empty() {
                    println!("advisories    {}", r.advisories.join(", "));
                }
                println!(
                    "report data   0x{}",
                    alloy_primitives::hex::encode(&r.report_data)
                );
                println!(
                    "issued at     {} (from the report data's last 8 bytes)",
                    lazai_attest::binding::issued_at(&r.report_data())
                );
                println!("valid from    {}", r.not_before);
                println!("valid until   {}", r.not_after);
            }
            Ok(())
        }
        Err(e) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "valid": false,
                        "at": at,
                        "platform": platform.map(|p| p.name()),
                        "error": e.to_string(),
                        "kind": format!("{e:?}").split([' ', '(', '{']).next().unwrap_or(""),
                    }))?
                );
            }
            Err(anyhow!(e).context(format!(
                "{} is not valid evidence at {at}",
                a.quote.display()
            )))
        }
    }
}

fn platform_mask(names: &[String]) -> Result<u32> {
    let mut mask = 0;
    for n in names {
        let p = Platform::parse(n.trim()).ok_or_else(|| {
            anyhow!("unknown platform {n:?}: use dev, sgx, tdx, sev-snp or nitro")
        })?;
        mask |= p.bit();
    }
    Ok(mask)
}

fn platform_names(mask: u32) -> Vec<&'static str> {
    Platform::ALL
        .into_iter()
        .filter(|p| mask & p.bit() != 0)
        .map(Platform::name)
        .collect()
}

async fn policy_set(a: PolicySetArgs) -> Result<()> {
    let platforms = platform_mask(&a.platforms)?;
    let min = TcbStatus::parse(&a.min_tcb).ok_or_else(|| {
        anyhow!(
            "unknown TCB status {:?}: one of {}",
            a.min_tcb,
            TcbStatus::ALL.map(TcbStatus::name).join(", ")
        )
    })?;
    if min == TcbStatus::Revoked {
        bail!("Revoked can never be accepted");
    }
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            IDAO_REGISTRY_ADDRESS,
            T::setTeePolicyCall {
                idaoId: a.idao,
                policy: TeePolicy {
                    platforms,
                    measurements: a.measurements.clone(),
                    minTcbStatus: min.code(),
                    maxEvidenceAge: a.max_age,
                },
            },
            U256::ZERO,
        )
        .await?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "idaoId": a.idao.to_string(), "platforms": platform_names(platforms),
                    "measurements": a.measurements, "minTcbStatus": min.name(), "maxEvidenceAge": a.max_age }),
        );
    }
    print_tx(&receipt);
    println!(
        "policy        iDAO {}: {} · min TCB {} · max age {}s · {}",
        a.idao,
        platform_names(platforms).join(","),
        min,
        a.max_age,
        if a.measurements.is_empty() {
            "any measurement".to_string()
        } else {
            format!("{} measurements", a.measurements.len())
        }
    );
    Ok(())
}

async fn policy_show(a: PolicyShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let p = c
        .call(IDAO_REGISTRY_ADDRESS, T::teePolicyCall { idaoId: a.idao })
        .await?;
    let min = TcbStatus::from_code(p.minTcbStatus).unwrap_or_default();
    if a.read.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "idaoId": a.idao.to_string(),
                "platforms": platform_names(p.platforms),
                "measurements": p.measurements,
                "minTcbStatus": min.name(),
                "maxEvidenceAge": p.maxEvidenceAge,
            }))?
        );
        return Ok(());
    }
    println!("iDAO          {}", a.idao);
    println!("platforms     {}", platform_names(p.platforms).join(", "));
    if p.measurements.is_empty() {
        println!("measurements  any");
    }
    for m in &p.measurements {
        println!("measurement   {m}");
    }
    println!("min TCB       {min}");
    println!("max age       {}s", p.maxEvidenceAge);
    Ok(())
}

async fn allow_nodes(a: AllowNodesArgs) -> Result<()> {
    use lazai_abi::{IVerifiedComputing as V, VERIFIED_COMPUTING_ADDRESS};
    let c = signing(&a.tx)?;
    let receipt = c
        .send(
            VERIFIED_COMPUTING_ADDRESS,
            V::allowNodeIdaoCall {
                idaoId: a.idao,
                allowed: !a.disallow,
            },
            U256::ZERO,
        )
        .await?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "idaoId": a.idao.to_string(), "allowed": !a.disallow }),
        );
    }
    print_tx(&receipt);
    println!(
        "nodes         iDAO {}'s attested nodes {} register themselves",
        a.idao,
        if a.disallow { "may no longer" } else { "may" }
    );
    Ok(())
}

async fn status(a: StatusArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let r = c
        .call(
            IDAO_REGISTRY_ADDRESS,
            T::attestationOfCall {
                idaoId: a.idao,
                node: a.node,
            },
        )
        .await?;
    let until = c
        .call(
            IDAO_REGISTRY_ADDRESS,
            T::attestedUntilCall {
                idaoId: a.idao,
                node: a.node,
            },
        )
        .await?;
    let platform = Platform::from_code(r.platform)
        .map(Platform::name)
        .unwrap_or("unknown");
    let tcb = TcbStatus::from_code(r.tcbStatus).unwrap_or_default();
    if a.read.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "idaoId": a.idao.to_string(),
                "node": a.node,
                "platform": platform,
                "measurementHash": r.measurementHash,
                "tcbStatus": tcb.name(),
                "issuedAt": r.issuedAt,
                "notAfter": r.notAfter,
                "hpkePublicKey": r.hpkePublicKey,
                "evidenceHash": r.evidenceHash,
                "attestedAt": r.attestedAt,
                "attested": until != 0,
                "attestedUntil": until,
            }))?
        );
        return Ok(());
    }
    println!("node          {}", a.node);
    println!("platform      {platform}");
    println!("measurement   {}", r.measurementHash);
    println!("tcb status    {tcb}");
    println!("issued at     {}", r.issuedAt);
    println!("hpke key      {}", r.hpkePublicKey);
    println!("evidence      {}", r.evidenceHash);
    if until == 0 {
        println!("attested      no: expired, or refused by the iDAO's current policy");
    } else {
        println!("attested      yes, until {until}");
    }
    Ok(())
}
