//! `lazai idao …`: register an iDAO, declare how its data is verified (`configure`), manage
//! its verifier nodes and make worker keys (`keygen`).

use super::common::create_private;
use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::client::{block_on, signing};
use crate::kit::output::{or_dash, print_json, print_tx_named, tx_json, yes_no};
use crate::kit::units::{LAZAI_DECIMALS, format_lazai, format_units, parse_lazai, parse_u256};
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_abi::{
    IDAO_REGISTRY_ADDRESS, IIdaoRegistry as G, IVsc as V, ROLE_APPLICATION, ROLE_COMPUTE,
    ROLE_DATA, ROLE_MODEL, VSC_ADDRESS, idao_data_address,
};
use lazai_blob::BlobStore;
use lazai_client::{Client, event};
use lazai_crypto::{PublicKey, generate_keypair};
use lazai_worker::Schema;
use serde_json::json;
use std::path::PathBuf;

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

pub(super) fn keygen(a: KeygenArgs) -> Result<()> {
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

pub(super) async fn register(a: RegisterArgs) -> Result<()> {
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

pub(super) async fn idao_show(a: IdaoShowArgs) -> Result<()> {
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

pub(super) async fn configure(a: ConfigureArgs) -> Result<()> {
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

pub(super) async fn verifier_add(a: VerifierAddArgs) -> Result<()> {
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

pub(super) async fn verifier_remove(a: VerifierRemoveArgs) -> Result<()> {
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
