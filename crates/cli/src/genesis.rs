//! `lazai genesis`: build a genesis file for a network of validators.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_consensus::keys;
use lazai_node::{default_fee_recipient, dev_account, devnet_genesis};
use lazai_types::{Address, DEVNET_CHAIN_ID, GenesisAccount, GenesisValidator, lazai};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GenesisArgs {
    /// A validator as `KEY@HOST:PORT`, where KEY is a key file (from `lazai keys generate`) or
    /// a public key in hex, and HOST:PORT its p2p address. Repeat for each validator.
    #[arg(long = "validator", required = true)]
    validators: Vec<String>,
    /// A pre-funded account as `ADDRESS=LAZAI` (whole LAZAI). Repeatable.
    #[arg(long = "alloc")]
    alloc: Vec<String>,
    /// Also fund this many dev accounts from the standard test mnemonic.
    #[arg(long, default_value_t = 0)]
    dev_accounts: u32,
    /// Balance of each dev account, in LAZAI.
    #[arg(long, default_value_t = 10_000)]
    dev_balance: u64,
    #[arg(long, default_value_t = DEVNET_CHAIN_ID)]
    chain_id: u64,
    /// Block gas limit.
    #[arg(long, default_value_t = 1_000_000_000)]
    gas_limit: u64,
    /// Governance address (defaults to the first funded account).
    #[arg(long)]
    governance: Option<Address>,
    /// Output file.
    #[arg(long, default_value = "genesis.json")]
    out: PathBuf,
}

fn parse_validator(i: usize, spec: &str) -> Result<GenesisValidator> {
    let (key, addr) = spec
        .rsplit_once('@')
        .with_context(|| format!("validator {spec:?}: expected KEY@HOST:PORT"))?;
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("validator {spec:?}: bad p2p address"))?;
    let public = if std::path::Path::new(key).exists() {
        keys::public_key(&crate::keys::read_key(std::path::Path::new(key))?)
    } else {
        keys::public_key_from_hex(key)
            .with_context(|| format!("validator {spec:?}: not a key file nor a hex public key"))?
    };
    Ok(genesis_validator(i, &public, addr))
}

/// Genesis validator `i` (named `validator-i`) with consensus key `public`, listening for p2p
/// on `p2p_addr`, its fees going to the default fee recipient of its key.
pub fn genesis_validator(
    i: usize,
    public: &keys::PublicKey,
    p2p_addr: SocketAddr,
) -> GenesisValidator {
    GenesisValidator {
        name: format!("validator-{i}"),
        consensus_key: keys::public_key_to_hex(public),
        fee_recipient: default_fee_recipient(public),
        p2p_addr: Some(p2p_addr.to_string()),
        stake: lazai_types::DEFAULT_GENESIS_STAKE,
        owner: None,
    }
}

pub fn run(args: GenesisArgs) -> Result<()> {
    let accounts: Vec<Address> = (0..args.dev_accounts)
        .map(|i| dev_account(i).map(|s| s.address()))
        .collect::<Result<_, _>>()
        .context("derive dev accounts")?;
    let mut genesis = devnet_genesis(
        args.chain_id,
        0,
        &accounts,
        lazai(args.dev_balance),
        args.gas_limit,
    );
    genesis.validators = args
        .validators
        .iter()
        .enumerate()
        .map(|(i, v)| parse_validator(i, v))
        .collect::<Result<_>>()?;
    for spec in &args.alloc {
        let (addr, amount) = spec
            .split_once('=')
            .with_context(|| format!("alloc {spec:?}: expected ADDRESS=LAZAI"))?;
        let address: Address = addr
            .parse()
            .with_context(|| format!("alloc {spec:?}: bad address"))?;
        let whole: u64 = amount
            .parse()
            .with_context(|| format!("alloc {spec:?}: bad amount"))?;
        genesis.alloc.push(GenesisAccount {
            address,
            balance: lazai(whole),
        });
    }
    if let Some(g) = args.governance {
        genesis.governance = g;
    } else if let Some(first) = genesis.alloc.first() {
        genesis.governance = first.address;
    }
    if genesis.alloc.is_empty() {
        eprintln!("warning: no funded accounts; nobody can pay for transactions");
    }
    if let Err(e) = genesis.validate() {
        bail!("invalid genesis: {e}");
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&genesis)?)?;
    println!(
        "wrote {} ({} validators, {} funded accounts, chain id {})",
        args.out.display(),
        genesis.validators.len(),
        genesis.alloc.len(),
        genesis.chain_id
    );
    Ok(())
}
