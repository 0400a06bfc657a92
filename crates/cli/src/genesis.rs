//! `lazai genesis`: build a genesis file for a network of validators.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_consensus::keys;
use lazai_node::{default_fee_recipient, dev_account, devnet_genesis};
use lazai_types::{Address, DEVNET_CHAIN_ID, GenesisAccount, GenesisValidator, lazai};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(after_help = GENESIS_TOML_HELP)]
pub struct GenesisArgs {
    /// Read the network description from this TOML file (see below); flags add validators and
    /// accounts to it and override its scalar settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A validator as `KEY@HOST:PORT[=STAKE]`, where KEY is a key file (from `lazai keys
    /// generate`) or a public key in hex, HOST:PORT its p2p address and STAKE its bonded stake
    /// in whole LAZAI (default --stake). Repeat for each validator.
    #[arg(long = "validator")]
    validators: Vec<String>,
    /// A pre-funded account as `ADDRESS=LAZAI` (whole LAZAI). Repeatable.
    #[arg(long = "alloc")]
    alloc: Vec<String>,
    /// Also fund this many dev accounts from the standard test mnemonic.
    #[arg(long)]
    dev_accounts: Option<u32>,
    /// Balance of each dev account, in LAZAI [default: 10000].
    #[arg(long)]
    dev_balance: Option<u64>,
    /// Chain id [default: 133718].
    #[arg(long)]
    chain_id: Option<u64>,
    /// Block gas limit [default: 1000000000].
    #[arg(long)]
    gas_limit: Option<u64>,
    /// Governance address (defaults to the first funded account).
    #[arg(long)]
    governance: Option<Address>,
    /// Default stake of each genesis validator, in whole LAZAI [default: 1000].
    #[arg(long)]
    stake: Option<u64>,
    /// Blocks per epoch; the validator set is re-elected from stake at each boundary
    /// [default: 100].
    #[arg(long)]
    epoch_length: Option<u64>,
    /// Most validators in an epoch's set (the top K iDAOs by stake) [default: 100].
    #[arg(long)]
    max_validators: Option<u32>,
    /// Least bonded stake to be elected, in whole LAZAI [default: 1].
    #[arg(long)]
    min_stake: Option<u64>,
    /// Blocks before unbonded stake can be withdrawn (at least one epoch) [default: 200].
    #[arg(long)]
    unbonding_delay: Option<u64>,
    /// Basis points of an equivocating validator's stake burned [default: 1000].
    #[arg(long)]
    slash_bps: Option<u32>,
    /// Accept the simulated `dev` TEE as attestation evidence (development networks only: it
    /// proves nothing about hardware) [default: off].
    #[arg(long)]
    dev_tee: bool,
    /// Accept Groth16 keys from dev (fixed-seed, forgeable) setups in the Verifier
    /// (development networks only: whoever knows the seed can forge proofs) [default: off].
    #[arg(long)]
    dev_zk_setups: bool,
    /// Output file.
    #[arg(long, default_value = "genesis.json")]
    out: PathBuf,
}

const GENESIS_TOML_HELP: &str = r#"GENESIS FILE (--config), every field optional:
  chain_id = 133718
  gas_limit = 1000000000
  governance = "0x…"
  dev_accounts = 4
  dev_balance = 10000            # LAZAI
  stake = 1000                   # default validator stake, LAZAI
  dev_tee = false                # accept the simulated dev TEE (development networks only)
  dev_zk_setups = false          # accept dev (forgeable) ZK setups (development networks only)
  [staking]
  epoch_length = 100
  max_validators = 100
  min_stake = 1                  # LAZAI
  unbonding_delay = 200
  slash_bps = 1000
  [[validators]]
  key = "validator-0.key"        # key file or hex public key
  p2p_addr = "10.0.0.1:30300"
  stake = 5000                   # LAZAI (optional)
  name = "acme"                  # optional
  [[alloc]]
  address = "0x…"
  lazai = 1000000"#;

/// The TOML form of [`GenesisArgs`].
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    chain_id: Option<u64>,
    gas_limit: Option<u64>,
    governance: Option<Address>,
    dev_accounts: Option<u32>,
    dev_balance: Option<u64>,
    stake: Option<u64>,
    dev_tee: Option<bool>,
    dev_zk_setups: Option<bool>,
    #[serde(default)]
    staking: StakingFile,
    #[serde(default)]
    validators: Vec<ValidatorFile>,
    #[serde(default)]
    alloc: Vec<AllocFile>,
}

#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct StakingFile {
    epoch_length: Option<u64>,
    max_validators: Option<u32>,
    min_stake: Option<u64>,
    unbonding_delay: Option<u64>,
    slash_bps: Option<u32>,
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ValidatorFile {
    key: String,
    p2p_addr: SocketAddr,
    stake: Option<u64>,
    name: Option<String>,
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AllocFile {
    address: Address,
    lazai: u64,
}

fn public_key_of(key: &str, what: &str) -> Result<keys::PublicKey> {
    if std::path::Path::new(key).exists() {
        Ok(keys::public_key(&crate::keys::read_key(
            std::path::Path::new(key),
        )?))
    } else {
        keys::public_key_from_hex(key)
            .with_context(|| format!("{what}: {key:?} is not a key file nor a hex public key"))
    }
}

fn parse_validator(i: usize, spec: &str, stake: u64) -> Result<GenesisValidator> {
    let (key, rest) = spec
        .rsplit_once('@')
        .with_context(|| format!("validator {spec:?}: expected KEY@HOST:PORT[=STAKE]"))?;
    let (addr, stake) = match rest.split_once('=') {
        Some((addr, stake)) => (
            addr,
            stake
                .parse::<u64>()
                .with_context(|| format!("validator {spec:?}: bad stake"))?,
        ),
        None => (rest, stake),
    };
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("validator {spec:?}: bad p2p address"))?;
    let public = public_key_of(key, &format!("validator {spec:?}"))?;
    let mut validator = genesis_validator(i, &public, addr);
    validator.stake = lazai(stake);
    Ok(validator)
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
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            toml::from_str::<GenesisFile>(&text)
                .with_context(|| format!("parse {}", path.display()))?
        }
        None => GenesisFile::default(),
    };
    let dev_accounts = args.dev_accounts.or(file.dev_accounts).unwrap_or(0);
    let accounts: Vec<Address> = (0..dev_accounts)
        .map(|i| dev_account(i).map(|s| s.address()))
        .collect::<Result<_, _>>()
        .context("derive dev accounts")?;
    let mut genesis = devnet_genesis(
        args.chain_id.or(file.chain_id).unwrap_or(DEVNET_CHAIN_ID),
        0,
        &accounts,
        lazai(args.dev_balance.or(file.dev_balance).unwrap_or(10_000)),
        args.gas_limit.or(file.gas_limit).unwrap_or(1_000_000_000),
    );
    let stake = args.stake.or(file.stake).unwrap_or(1_000);
    for v in &file.validators {
        let i = genesis.validators.len();
        let public = public_key_of(&v.key, &format!("validator {i} in --config"))?;
        let mut validator = genesis_validator(i, &public, v.p2p_addr);
        validator.stake = lazai(v.stake.unwrap_or(stake));
        if let Some(name) = &v.name {
            validator.name = name.clone();
        }
        genesis.validators.push(validator);
    }
    for spec in &args.validators {
        let i = genesis.validators.len();
        genesis.validators.push(parse_validator(i, spec, stake)?);
    }
    if genesis.validators.is_empty() {
        bail!("no validators: pass --validator KEY@HOST:PORT or list [[validators]] in --config");
    }
    let staking = &mut genesis.staking;
    if let Some(v) = args.epoch_length.or(file.staking.epoch_length) {
        staking.epoch_length = v;
    }
    if let Some(v) = args.max_validators.or(file.staking.max_validators) {
        staking.max_validators = v;
    }
    if let Some(v) = args.min_stake.or(file.staking.min_stake) {
        staking.min_validator_stake = lazai(v);
    }
    if let Some(v) = args.unbonding_delay.or(file.staking.unbonding_delay) {
        staking.unbonding_delay = v;
    }
    if let Some(v) = args.slash_bps.or(file.staking.slash_bps) {
        staking.slash_bps = v;
    }
    for a in &file.alloc {
        genesis.alloc.push(GenesisAccount {
            address: a.address,
            balance: lazai(a.lazai),
        });
    }
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
    let governance = args.governance.or(file.governance);
    if let Some(g) = governance {
        genesis.governance = g;
    } else if let Some(first) = genesis.alloc.first() {
        genesis.governance = first.address;
    }
    if genesis.alloc.is_empty() {
        eprintln!("warning: no funded accounts; nobody can pay for transactions");
    }
    // A network built by hand accepts only hardware TEE evidence unless asked otherwise.
    genesis.dev_tee = args.dev_tee || file.dev_tee.unwrap_or(false);
    if genesis.dev_tee {
        eprintln!(
            "warning: dev_tee is on: the simulated TEE's evidence is accepted (development only)"
        );
    }
    genesis.dev_zk_setups = args.dev_zk_setups || file.dev_zk_setups.unwrap_or(false);
    if genesis.dev_zk_setups {
        eprintln!(
            "warning: dev_zk_setups is on: ZK keys from fixed-seed setups, which anyone can forge proofs for, are accepted (development only)"
        );
    }
    if let Err(e) = genesis.validate() {
        bail!("invalid genesis: {e}");
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&genesis)?)?;
    println!(
        "wrote {} ({} validators, {} funded accounts, chain id {}, epochs of {} blocks, top {} by stake)",
        args.out.display(),
        genesis.validators.len(),
        genesis.alloc.len(),
        genesis.chain_id,
        genesis.staking.epoch_length,
        genesis.staking.max_validators
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_toml_description_and_rejects_unknown_fields() {
        let file: GenesisFile = toml::from_str(
            r#"
            chain_id = 4242
            dev_accounts = 2
            stake = 700
            [staking]
            epoch_length = 50
            max_validators = 10
            min_stake = 5
            [[validators]]
            key = "0x9c1fd9bb4f1b8a72f8e5b6b0b05e5d2b1b7a6a8e7f6b3f2a1c0d9e8f7a6b5c4d"
            p2p_addr = "127.0.0.1:30300"
            stake = 5000
            name = "acme"
            [[alloc]]
            address = "0x0000000000000000000000000000000000000001"
            lazai = 12
            "#,
        )
        .expect("parses");
        assert_eq!(file.chain_id, Some(4242));
        assert_eq!(file.stake, Some(700));
        assert_eq!(file.staking.epoch_length, Some(50));
        assert_eq!(file.staking.min_stake, Some(5));
        assert_eq!(file.validators.len(), 1);
        assert_eq!(file.validators[0].stake, Some(5000));
        assert_eq!(file.alloc[0].lazai, 12);
        assert!(toml::from_str::<GenesisFile>("chain_idd = 1").is_err());
        assert!(toml::from_str::<GenesisFile>("[staking]\nepoch = 3").is_err());
    }

    #[test]
    fn validator_flag_takes_an_optional_stake() {
        let key = keys::public_key_to_hex(&keys::public_key(&keys::key_from_seed(1)));
        let v = parse_validator(0, &format!("{key}@127.0.0.1:30300=2500"), 1000).expect("parses");
        assert_eq!(v.stake, lazai(2500));
        let v = parse_validator(1, &format!("{key}@127.0.0.1:30300"), 1000).expect("parses");
        assert_eq!(v.stake, lazai(1000));
        assert!(parse_validator(2, &format!("{key}@127.0.0.1:30300=lots"), 1000).is_err());
        assert!(parse_validator(3, "nokey@127.0.0.1:30300", 1000).is_err());
        assert!(parse_validator(4, &format!("{key}@nowhere"), 1000).is_err());
    }
}
