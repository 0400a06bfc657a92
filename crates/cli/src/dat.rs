//! `lazai dat`: the DataAnchoringToken module (ERC-8028 classes of semi-fungible tokens) from
//! the command line — create and show classes, mint, move tokens and value, record usage,
//! settle and claim revenue.
//!
//! Every command talks JSON-RPC to `--rpc` (default `http://127.0.0.1:8545`) and addresses the
//! module at [`DAT_ADDRESS`].
//!
//! # Signers
//!
//! Commands that send a transaction sign it with, in this order of precedence: `--key HEX`,
//! `--key-file FILE` (a file holding the hex private key, `0x` optional, surrounding
//! whitespace ignored) or the environment variable `LAZAI_PRIVATE_KEY`. Without any of them
//! they refuse to run. They estimate the gas (a revert at that point is reported and nothing
//! is sent), send, then poll for the receipt for `--timeout` seconds (60 by default) and print
//! the transaction hash.
//!
//! # Units
//!
//! - **LAZAI amounts** (`settle --amount`, revenue in the output) are decimal numbers of LAZAI
//!   with up to 18 decimals (`1.5`, `0.000000000000000001`); a suffix ` LAZAI` is allowed, and
//!   `…wei` gives an integer number of wei. They are parsed and printed with integer
//!   arithmetic only, so they are exact.
//! - **Values** (`mint --value`, `transfer --value`, `usage --amount`) are in the units of the
//!   token's class: with `unitDecimals = d`, `1.5` is `1.5 × 10^d` base units. They are printed
//!   the same way. `--share` is a plain integer (a revenue weight).
//! - **Expiry** (`mint --expires`): `never` (or `0`), a Unix time in seconds, a UTC date
//!   `YYYY-MM-DD` (midnight) or date and time `YYYY-MM-DDTHH:MM[:SS][Z]`, or a time from now
//!   `+N` followed by `s`, `m`, `h`, `d` or `w` (`+30d`). Dates are printed in UTC.
//! - **Usage metrics** (`usage --metric NAME`): the `bytes32` metric type is
//!   `keccak256(NAME)` of the name's UTF-8 bytes (the default name is `inference`); a name
//!   that is already `0x` followed by 64 hex digits is taken as the `bytes32` itself.
//!
//! # Errors
//!
//! A reverted call or transaction prints the module's custom error by name with its
//! arguments (`QuotaExceeded(tokenId: 1, remaining: 600, requested: 1000)`), else a Solidity
//! `Error(string)` reason, and the command exits non-zero.
//!
//! # Machine output
//!
//! With `--json` every command prints one JSON object; 256-bit quantities (ids, values,
//! shares, wei) are decimal strings, times are Unix seconds (plus a `…Utc` string).

use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{Address, B256, U256, keccak256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_client::{Client as ModuleClient, resolve_signer};
use lazai_ledger::modules::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use lazai_client::{DEFAULT_RPC, KEY_ENV};
/// The default usage metric name.
pub const DEFAULT_METRIC: &str = "inference";
/// LAZAI's decimals.
pub const LAZAI_DECIMALS: u8 = 18;
/// The most decimals [`parse_units`] and [`format_units`] accept (10^77 > 2^256).
const MAX_DECIMALS: u8 = 76;

// ---- arguments ----------------------------------------------------------------------------

#[derive(Subcommand)]
pub enum DatCommand {
    /// Classes (one per dataset, model or other asset): create, show.
    #[command(subcommand)]
    Class(ClassCommand),
    /// Mint a token of a class (its creator or a minter-role module only); prints its id.
    Mint(MintArgs),
    /// Show a token: class, owner, value, share, expiry, pending revenue.
    Show(ShowArgs),
    /// Move a whole token to an address (--to), or part of its value to another token of the
    /// same class (--to-token with --value).
    Transfer(TransferArgs),
    /// Record usage on a token: consumes --amount of its quota.
    Usage(UsageArgs),
    /// Pay --amount LAZAI of revenue to a class, shared over its unexpired tokens by weight.
    Settle(SettleArgs),
    /// Claim a token's pending revenue (its owner only); prints the amount.
    Claim(ClaimArgs),
    /// Print a token's pending revenue in LAZAI.
    Pending(PendingArgs),
}

#[derive(Subcommand)]
pub enum ClassCommand {
    /// Create a semi-fungible (ERC-8028) class owned by the signer; prints its id.
    Create(ClassCreateArgs),
    /// Show a class: creator, URIs, units, totals, revenue.
    Show(ClassShowArgs),
}

/// For commands that only read.
#[derive(Args)]
pub struct ReadArgs {
    /// JSON-RPC URL of the node.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub(crate) rpc: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// For commands that send a transaction.
#[derive(Args)]
pub struct TxArgs {
    /// JSON-RPC URL of the node.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub(crate) rpc: String,
    /// The signer's private key in hex. Visible to other local users while the command runs:
    /// prefer --key-file or LAZAI_PRIVATE_KEY.
    #[arg(long, value_name = "HEX")]
    pub(crate) key: Option<String>,
    /// A file holding the signer's hex private key (used when --key is not given; without
    /// either, the key is read from LAZAI_PRIVATE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Seconds to wait for the transaction's receipt.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub struct ClassCreateArgs {
    /// The class's metadata URI (also its ERC-1155 `uri`).
    #[arg(long, value_name = "URI")]
    uri: String,
    /// The asset's integrity hash: 32 bytes of hex (default zero).
    #[arg(long, value_name = "0x..32B", value_parser = parse_b256)]
    integrity_hash: Option<B256>,
    /// Decimals of the class's unit of value (0 to 36).
    #[arg(long, value_name = "N", default_value_t = 0)]
    decimals: u8,
    /// The class's usage policy URI.
    #[arg(long, value_name = "URI", default_value = "")]
    policy: String,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct ClassShowArgs {
    /// Class id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    id: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct MintArgs {
    /// Class id.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    class: U256,
    /// The token's owner.
    #[arg(long, value_name = "ADDR")]
    to: Address,
    /// The token's value (its usage quota), in the class's units (`1.5` with 2 unit decimals
    /// is 150 base units).
    #[arg(long, value_name = "V")]
    value: String,
    /// The token's weight in the class's revenue (an integer).
    #[arg(long, value_name = "S", value_parser = parse_u256)]
    share: U256,
    /// When the token expires: never (default), a Unix time, YYYY-MM-DD[THH:MM[:SS]] (UTC)
    /// or +N{s,m,h,d,w} from now.
    #[arg(long, value_name = "DATE|UNIX|+30d")]
    expires: Option<String>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    token: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct TransferArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    token: U256,
    /// Move the whole token (with its unclaimed revenue) to this address.
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present = "to_token",
        conflicts_with_all = ["to_token", "value"]
    )]
    to: Option<Address>,
    /// Move --value of the token's value to this token of the same class.
    #[arg(long, value_name = "ID", value_parser = parse_u256, requires = "value")]
    to_token: Option<U256>,
    /// The value to move with --to-token, in the class's units.
    #[arg(long, value_name = "V", requires = "to_token")]
    value: Option<String>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct UsageArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    token: U256,
    /// Quota to consume, in the class's units.
    #[arg(long, value_name = "N")]
    amount: String,
    /// Metric name; its bytes32 is keccak256 of the name (0x + 64 hex digits: used as is).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_METRIC)]
    metric: String,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct SettleArgs {
    /// Class id.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    class: U256,
    /// LAZAI to distribute, with decimals (`1.5`), sent with the transaction.
    #[arg(long, value_name = "LAZAI")]
    amount: String,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct ClaimArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    token: U256,
    /// Where to pay the revenue (default: the signer).
    #[arg(long, value_name = "ADDR")]
    to: Option<Address>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct PendingArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    token: U256,
    #[command(flatten)]
    read: ReadArgs,
}

pub(crate) fn parse_u256(s: &str) -> Result<U256, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => U256::from_str_radix(hex, 16),
        _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => U256::from_str_radix(s, 10),
        _ => return Err(format!("{s:?} is not a non-negative integer")),
    };
    parsed.map_err(|e| format!("{s:?}: {e}"))
}

fn parse_b256(s: &str) -> Result<B256, String> {
    let hex = s.trim();
    let hex = hex
        .strip_prefix("0x")
        .or_else(|| hex.strip_prefix("0X"))
        .unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not 32 bytes of hex (64 hex digits)"));
    }
    hex.parse::<B256>().map_err(|e| e.to_string())
}

// ---- units ---------------------------------------------------------------------------------

/// Parses a non-negative decimal number (`12`, `1.5`, `0.000001`) into base units with
/// `decimals` decimals, exactly: more fractional digits than `decimals` are an error, never
/// rounded.
pub fn parse_units(s: &str, decimals: u8) -> Result<U256> {
    if decimals > MAX_DECIMALS {
        bail!("{decimals} decimals is too many");
    }
    let t = s.trim();
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        bail!("{s:?} is not a decimal number (like 12 or 1.5)");
    }
    let frac = frac.unwrap_or("");
    if frac.len() > usize::from(decimals) {
        bail!("{s:?} has more than {decimals} decimals");
    }
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let too_large = || anyhow!("{s:?} is too large");
    let int = U256::from_str_radix(int, 10).map_err(|_| too_large())?;
    let frac_units = if frac.is_empty() {
        U256::ZERO
    } else {
        let pad = U256::from(10u8).pow(U256::from(usize::from(decimals) - frac.len()));
        U256::from_str_radix(frac, 10).map_err(|_| too_large())? * pad
    };
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(frac_units))
        .ok_or_else(too_large)
}

/// Formats base units with `decimals` decimals, exactly, without trailing zeros: `1.5`, `3`,
/// `0.000000000000000001`.
pub fn format_units(value: U256, decimals: u8) -> String {
    let digits = value.to_string();
    let d = usize::from(decimals.min(MAX_DECIMALS));
    if d == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

/// Parses an amount of LAZAI: `1.5`, `1.5 LAZAI`, or an integer number of wei `1000wei`.
pub fn parse_lazai(s: &str) -> Result<U256> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(wei) = lower.strip_suffix("wei") {
        let wei = wei.trim();
        return parse_units(wei, 0).with_context(|| format!("{s:?} is not an integer of wei"));
    }
    let t = match lower.strip_suffix("lazai") {
        Some(rest) => &t[..rest.len()],
        None => t,
    };
    parse_units(t, LAZAI_DECIMALS).with_context(|| format!("bad LAZAI amount {s:?}"))
}

/// Formats wei as LAZAI, exactly: `1.5 LAZAI`.
pub fn format_lazai(wei: U256) -> String {
    format!("{} LAZAI", format_units(wei, LAZAI_DECIMALS))
}

// ---- dates ---------------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a number of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A Unix time (seconds) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM` or `HH:MM:SS`,
/// optionally ending in `Z` or ` UTC`: a UTC time, in Unix seconds.
pub fn parse_utc(s: &str) -> Result<u64> {
    let bad = || anyhow!("{s:?} is not a UTC date YYYY-MM-DD[THH:MM[:SS]][Z]");
    let t = s.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix(" UTC"))
        .unwrap_or(t);
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let num = |p: &str, len: usize| -> Result<u32> {
        if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse().map_err(|_| bad())
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let (year, month, day) = (i64::from(num(y, 4)?), num(m, 2)?, num(d, 2)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let (h, mi, sec) = match time {
        None => (0, 0, 0),
        Some(tm) => match tm.split(':').collect::<Vec<_>>()[..] {
            [h, mi] => (num(h, 2)?, num(mi, 2)?, 0),
            [h, mi, sec] => (num(h, 2)?, num(mi, 2)?, num(sec, 2)?),
            _ => return Err(bad()),
        },
    };
    if h > 23 || mi > 59 || sec > 59 {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(sec))
}

/// Parses `--expires` at `now` (Unix seconds): `never`/`0` (0), a Unix time, a UTC date, or
/// `+N{s,m,h,d,w}`.
pub fn parse_expiry(s: &str, now: u64) -> Result<u64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(0);
    }
    if let Some(rel) = t.strip_prefix('+') {
        let bad = || anyhow!("{s:?}: expected +N followed by s, m, h, d or w (like +30d)");
        let split = rel.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = rel.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        return n
            .checked_mul(unit)
            .and_then(|d| d.checked_add(now))
            .ok_or_else(|| anyhow!("{s:?} is too far in the future"));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|_| anyhow!("{s:?} is not a Unix time in seconds"));
    }
    parse_utc(t)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `bytes32` metric type of a metric name: `keccak256(name)`, or the value itself when the
/// name is `0x` and 64 hex digits.
pub fn metric_id(name: &str) -> B256 {
    if name.len() == 66
        && name.starts_with("0x")
        && let Ok(b) = parse_b256(name)
    {
        return b;
    }
    keccak256(name.as_bytes())
}

// ---- the client ----------------------------------------------------------------------------

pub use lazai_client::{describe_revert, parse_key};

/// A client of the DAT module.
struct Client(ModuleClient);

impl Client {
    fn read(rpc: &str) -> Result<Self> {
        Ok(Self(ModuleClient::read(rpc)?))
    }

    fn signing(args: &TxArgs) -> Result<Self> {
        let signer = resolve_signer(args.key.as_deref(), args.key_file.as_deref())?;
        Ok(Self(ModuleClient::signing(
            &args.rpc,
            signer,
            Duration::from_secs(args.timeout),
        )?))
    }

    fn from(&self) -> Address {
        self.0.from()
    }

    async fn call<C: SolCall>(&self, call: C) -> Result<C::Return> {
        self.0.call(DAT_ADDRESS, call).await
    }

    async fn send<C: SolCall>(&self, call: C, value: U256) -> Result<TransactionReceipt> {
        self.0.send(DAT_ADDRESS, call, value).await
    }

    async fn class(&self, id: U256) -> Result<I::DatClass> {
        self.call(I::classInfoCall { classId: id }).await
    }

    async fn token(&self, id: U256) -> Result<I::DatToken> {
        self.call(I::tokenInfoCall { tokenId: id }).await
    }

    async fn pending(&self, id: U256) -> Result<U256> {
        self.call(I::pendingRevenueCall {
            tokenId: id,
            asset: NATIVE_ASSET,
        })
        .await
    }
}

/// The first event `E` the DAT module emitted in a receipt.
fn event<E: SolEvent>(receipt: &TransactionReceipt) -> Result<E> {
    lazai_client::event(receipt, DAT_ADDRESS)
}

pub(crate) fn tx_json(receipt: &TransactionReceipt) -> serde_json::Value {
    json!({
        "tx": receipt.transaction_hash.to_string(),
        "block": receipt.block_number,
        "gasUsed": receipt.gas_used,
    })
}

pub(crate) fn print_tx(receipt: &TransactionReceipt) {
    println!(
        "tx            {} (block {}, gas {})",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default(),
        receipt.gas_used
    );
}

pub(crate) fn print_json(mut base: serde_json::Value, extra: serde_json::Value) -> Result<()> {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    println!("{}", serde_json::to_string_pretty(&base)?);
    Ok(())
}

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn utc_or_never(t: u64) -> String {
    if t == 0 {
        "never".to_string()
    } else {
        format_utc(t)
    }
}

// ---- commands ------------------------------------------------------------------------------

pub fn run(cmd: DatCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cmd {
            DatCommand::Class(ClassCommand::Create(a)) => class_create(a).await,
            DatCommand::Class(ClassCommand::Show(a)) => class_show(a).await,
            DatCommand::Mint(a) => mint(a).await,
            DatCommand::Show(a) => show(a).await,
            DatCommand::Transfer(a) => transfer(a).await,
            DatCommand::Usage(a) => usage(a).await,
            DatCommand::Settle(a) => settle(a).await,
            DatCommand::Claim(a) => claim(a).await,
            DatCommand::Pending(a) => pending(a).await,
        }
    })
}

async fn class_create(a: ClassCreateArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let receipt = c
        .send(
            I::createClassCall {
                metadataURI: a.uri,
                integrityHash: a.integrity_hash.unwrap_or_default(),
                unitDecimals: a.decimals,
                policyURI: a.policy,
            },
            U256::ZERO,
        )
        .await?;
    let created = event::<I::ClassCreated>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({ "classId": created.classId.to_string(), "creator": created.creator.to_string() }),
        );
    }
    print_tx(&receipt);
    println!("class id      {}", created.classId);
    Ok(())
}

async fn class_show(a: ClassShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let class = c.class(a.id).await?;
    let rev = c
        .call(I::classRevenueCall {
            classId: a.id,
            asset: NATIVE_ASSET,
        })
        .await?;
    let d = class.unitDecimals;
    if a.read.json {
        return print_json(
            json!({
                "id": class.id.to_string(),
                "creator": class.creator.to_string(),
                "metadataURI": class.metadataURI,
                "policyURI": class.policyURI,
                "integrityHash": class.integrityHash,
                "unitDecimals": d,
                "fungible": class.fungible,
                "verified": class.verified,
                "totalShare": class.totalShare.to_string(),
                "totalValue": class.totalValue.to_string(),
                "totalValueUnits": format_units(class.totalValue, d),
                "tokenCount": class.tokenCount.to_string(),
                "createdAt": class.createdAt,
                "createdAtUtc": format_utc(class.createdAt),
            }),
            json!({
                "revenue": {
                    "settledWei": rev.settled.to_string(),
                    "settled": format_units(rev.settled, LAZAI_DECIMALS),
                    "claimedWei": rev.claimed.to_string(),
                    "claimed": format_units(rev.claimed, LAZAI_DECIMALS),
                    "accRevenuePerShare": rev.accRevenuePerShare.to_string(),
                    "carry": rev.carry.to_string(),
                }
            }),
        );
    }
    let kind = if class.fungible {
        "fungible (ERC-1155, legacy mint)"
    } else {
        "semi-fungible (ERC-8028)"
    };
    println!("class         {}", class.id);
    println!("creator       {}", class.creator);
    println!("metadata URI  {}", or_dash(&class.metadataURI));
    println!("policy URI    {}", or_dash(&class.policyURI));
    println!("integrity     {}", class.integrityHash);
    println!("decimals      {d}");
    println!("kind          {kind}");
    println!("verified      {}", yes_no(class.verified));
    println!("total share   {}", class.totalShare);
    println!("total value   {}", format_units(class.totalValue, d));
    println!("tokens        {}", class.tokenCount);
    println!("created       {}", format_utc(class.createdAt));
    println!("revenue       settled {}", format_lazai(rev.settled));
    println!("              claimed {}", format_lazai(rev.claimed));
    println!(
        "              accumulator {} (wei per share x 1e18)",
        rev.accRevenuePerShare
    );
    Ok(())
}

async fn mint(a: MintArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let class = c.class(a.class).await?;
    let value = parse_units(&a.value, class.unitDecimals).with_context(|| {
        format!(
            "--value (class {} has {} unit decimals)",
            a.class, class.unitDecimals
        )
    })?;
    let expire_at = match &a.expires {
        Some(e) => parse_expiry(e, unix_now()).context("--expires")?,
        None => 0,
    };
    let receipt = c
        .send(
            I::mint_0Call {
                classId: a.class,
                to: a.to,
                value,
                shareRatio: a.share,
                expireAt: expire_at,
            },
            U256::ZERO,
        )
        .await?;
    let minted = event::<I::Minted>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": minted.tokenId.to_string(),
                "classId": minted.classId.to_string(),
                "to": minted.to.to_string(),
                "value": minted.value.to_string(),
                "shareRatio": minted.shareRatio.to_string(),
                "expireAt": minted.expireAt,
            }),
        );
    }
    print_tx(&receipt);
    println!("token id      {}", minted.tokenId);
    Ok(())
}

async fn show(a: ShowArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let t = c.token(a.token).await?;
    let class = c.class(t.classId).await?;
    let pending = c.pending(a.token).await?;
    let d = class.unitDecimals;
    if a.read.json {
        return print_json(
            json!({
                "id": t.id.to_string(),
                "classId": t.classId.to_string(),
                "owner": t.owner.to_string(),
                "value": t.value.to_string(),
                "valueUnits": format_units(t.value, d),
                "unitDecimals": d,
                "shareRatio": t.shareRatio.to_string(),
                "expireAt": t.expireAt,
                "expireAtUtc": (t.expireAt != 0).then(|| format_utc(t.expireAt)),
                "expired": t.expired,
                "mintedAt": t.mintedAt,
                "mintedAtUtc": format_utc(t.mintedAt),
                "classURI": class.metadataURI,
            }),
            json!({
                "pendingWei": pending.to_string(),
                "pending": format_units(pending, LAZAI_DECIMALS),
            }),
        );
    }
    println!("token         {}", t.id);
    println!("class         {}", t.classId);
    println!("owner         {}", t.owner);
    println!("value         {}", format_units(t.value, d));
    println!("share         {}", t.shareRatio);
    println!("expires       {}", utc_or_never(t.expireAt));
    println!("expired       {}", yes_no(t.expired));
    println!("minted        {}", format_utc(t.mintedAt));
    println!("class URI     {}", or_dash(&class.metadataURI));
    println!("pending       {}", format_lazai(pending));
    Ok(())
}

async fn transfer(a: TransferArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    match (a.to, a.to_token, a.value) {
        (Some(to), None, None) => {
            let receipt = c
                .send(
                    I::transferTokenCall {
                        tokenId: a.token,
                        to,
                    },
                    U256::ZERO,
                )
                .await?;
            if a.tx.json {
                return print_json(
                    tx_json(&receipt),
                    json!({ "tokenId": a.token.to_string(), "to": to.to_string() }),
                );
            }
            print_tx(&receipt);
            println!("token {} now owned by {to}", a.token);
        }
        (None, Some(to_token), Some(value)) => {
            let t = c.token(a.token).await?;
            let d = c.class(t.classId).await?.unitDecimals;
            let value = parse_units(&value, d)
                .with_context(|| format!("--value (class {} has {d} unit decimals)", t.classId))?;
            let receipt = c
                .send(
                    I::transferValueCall {
                        fromTokenId: a.token,
                        toTokenId: to_token,
                        value,
                    },
                    U256::ZERO,
                )
                .await?;
            if a.tx.json {
                return print_json(
                    tx_json(&receipt),
                    json!({
                        "fromTokenId": a.token.to_string(),
                        "toTokenId": to_token.to_string(),
                        "value": value.to_string(),
                    }),
                );
            }
            print_tx(&receipt);
            println!(
                "moved {} from token {} to token {to_token}",
                format_units(value, d),
                a.token
            );
        }
        _ => bail!("give either --to ADDR, or --to-token ID with --value V"),
    }
    Ok(())
}

async fn usage(a: UsageArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let t = c.token(a.token).await?;
    let d = c.class(t.classId).await?.unitDecimals;
    let amount = parse_units(&a.amount, d)
        .with_context(|| format!("--amount (class {} has {d} unit decimals)", t.classId))?;
    let metric = metric_id(&a.metric);
    let receipt = c
        .send(
            I::recordUsageCall {
                tokenId: a.token,
                metricType: metric,
                amount,
            },
            U256::ZERO,
        )
        .await?;
    let remaining = c.call(I::valueOfCall { tokenId: a.token }).await?;
    let total = c
        .call(I::usageOfCall {
            tokenId: a.token,
            metricType: metric,
        })
        .await?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": a.token.to_string(),
                "metric": a.metric,
                "metricType": metric,
                "amount": amount.to_string(),
                "remaining": remaining.to_string(),
                "totalUsage": total.to_string(),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "used          {} ({} = {metric})",
        format_units(amount, d),
        a.metric
    );
    println!("remaining     {}", format_units(remaining, d));
    println!("total usage   {}", format_units(total, d));
    Ok(())
}

async fn settle(a: SettleArgs) -> Result<()> {
    let amount = parse_lazai(&a.amount).context("--amount")?;
    let c = Client::signing(&a.tx)?;
    let receipt = c
        .send(I::settleRevenueETHCall { classId: a.class }, amount)
        .await?;
    let settled = event::<I::RevenueSettled>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "classId": settled.classId.to_string(),
                "amountWei": settled.amount.to_string(),
                "amount": format_units(settled.amount, LAZAI_DECIMALS),
                "accRevenuePerShare": settled.accRevenuePerShare.to_string(),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "settled       {} on class {}",
        format_lazai(settled.amount),
        settled.classId
    );
    Ok(())
}

async fn claim(a: ClaimArgs) -> Result<()> {
    let c = Client::signing(&a.tx)?;
    let to = a.to.unwrap_or_else(|| c.from());
    let receipt = c
        .send(
            I::claimCall {
                tokenId: a.token,
                asset: NATIVE_ASSET,
                to,
            },
            U256::ZERO,
        )
        .await?;
    let claimed = event::<I::Claimed>(&receipt)?;
    if a.tx.json {
        return print_json(
            tx_json(&receipt),
            json!({
                "tokenId": a.token.to_string(),
                "to": claimed.to.to_string(),
                "amountWei": claimed.amount.to_string(),
                "amount": format_units(claimed.amount, LAZAI_DECIMALS),
            }),
        );
    }
    print_tx(&receipt);
    println!(
        "claimed       {} to {}",
        format_lazai(claimed.amount),
        claimed.to
    );
    Ok(())
}

async fn pending(a: PendingArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let pending = c.pending(a.token).await?;
    if a.read.json {
        return print_json(
            json!({
                "tokenId": a.token.to_string(),
                "pendingWei": pending.to_string(),
                "pending": format_units(pending, LAZAI_DECIMALS),
            }),
            json!({}),
        );
    }
    println!("{}", format_lazai(pending));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::{Revert, SolError};

    fn u(n: u128) -> U256 {
        U256::from(n)
    }

    #[test]
    fn parses_lazai_exactly() {
        const E18: u128 = 1_000_000_000_000_000_000;
        assert_eq!(parse_lazai("1.5").expect("ok"), u(E18 * 3 / 2));
        assert_eq!(parse_lazai("1.5 LAZAI").expect("ok"), u(E18 * 3 / 2));
        assert_eq!(parse_lazai(" 2lazai ").expect("ok"), u(2 * E18));
        assert_eq!(parse_lazai("0.000000000000000001").expect("ok"), u(1));
        assert_eq!(parse_lazai("0.1").expect("ok"), u(E18 / 10));
        assert_eq!(parse_lazai("123").expect("ok"), u(123 * E18));
        assert_eq!(parse_lazai("1000wei").expect("ok"), u(1000));
        assert_eq!(parse_lazai("7 wei").expect("ok"), u(7));
        // 0.1 + 0.2 is exactly 0.3 here, unlike in floating point.
        assert_eq!(
            parse_lazai("0.1").expect("ok") + parse_lazai("0.2").expect("ok"),
            parse_lazai("0.3").expect("ok")
        );
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e18",
            "1,5",
            "0x10",
            "1.2.3",
            "abc",
            "1.5 ETH",
            "1.5wei",
            "0.0000000000000000001",
        ] {
            assert!(parse_lazai(bad).is_err(), "{bad:?} should be refused");
        }
        // The largest U256 of wei is fine, one more is too large.
        let max = format_units(U256::MAX, 18);
        assert_eq!(parse_lazai(&max).expect("ok"), U256::MAX);
        assert!(parse_lazai(&format!("{max}1")).is_err());
        assert!(parse_units(&U256::MAX.to_string(), 1).is_err());
    }

    #[test]
    fn formats_lazai_exactly() {
        assert_eq!(format_lazai(u(1_500_000_000_000_000_000)), "1.5 LAZAI");
        assert_eq!(format_lazai(u(1)), "0.000000000000000001 LAZAI");
        assert_eq!(format_lazai(U256::ZERO), "0 LAZAI");
        assert_eq!(
            format_lazai(u(10_000_000_000_000_000_000_000)),
            "10000 LAZAI"
        );
        assert_eq!(
            format_lazai(u(1_125_000_000_000_000_001)),
            "1.125000000000000001 LAZAI"
        );
        assert_eq!(format_units(u(150), 2), "1.5");
        assert_eq!(format_units(u(5), 2), "0.05");
        assert_eq!(format_units(u(500), 2), "5");
        assert_eq!(format_units(u(42), 0), "42");
        for (s, d) in [("1.5", 18), ("0.05", 2), ("42", 0), ("3", 36), ("0", 6)] {
            assert_eq!(format_units(parse_units(s, d).expect("ok"), d), s);
        }
        assert!(parse_units("0.5", 0).is_err());
        assert_eq!(parse_units("10.00", 2).expect("ok"), u(1000));
        assert_eq!(parse_units("10", 2).expect("ok"), u(1000));
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(format_utc(u64::from(u32::MAX)), "2106-02-07 06:28:15 UTC");
        for days in [
            -719_468i64,
            -1,
            0,
            59,
            365,
            10_957,
            11_016,
            19_000,
            2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        // Every day of four centuries: consecutive and valid.
        let mut prev = civil_from_days(-1);
        for days in 0..146_097 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((y, m, d) > prev);
            prev = (y, m, d);
        }
    }

    #[test]
    fn parses_dates_and_expiries() {
        assert_eq!(parse_utc("1970-01-01").expect("ok"), 0);
        assert_eq!(
            parse_utc("2023-11-14T22:13:20Z").expect("ok"),
            1_700_000_000
        );
        assert_eq!(
            parse_utc("2023-11-14 22:13:20 UTC").expect("ok"),
            1_700_000_000
        );
        assert_eq!(
            parse_utc("2023-11-14T22:13").expect("ok"),
            1_700_000_000 - 20
        );
        assert_eq!(parse_utc("2000-02-29").expect("ok"), 951_782_400);
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "2023-1-1",
            "2023-11-14T24:00",
            "2023-11-14T10:60",
            "2023-11-14T10:00:60",
            "2023-11-14T10",
            "1969-12-31",
            "tomorrow",
            "",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad:?} should be refused");
        }
        let now = 1_700_000_000;
        assert_eq!(parse_expiry("never", now).expect("ok"), 0);
        assert_eq!(parse_expiry("0", now).expect("ok"), 0);
        assert_eq!(parse_expiry("1800000000", now).expect("ok"), 1_800_000_000);
        assert_eq!(parse_expiry("+30d", now).expect("ok"), now + 30 * 86_400);
        assert_eq!(parse_expiry("+2w", now).expect("ok"), now + 14 * 86_400);
        assert_eq!(parse_expiry("+90m", now).expect("ok"), now + 5400);
        assert_eq!(parse_expiry("+12h", now).expect("ok"), now + 43_200);
        assert_eq!(parse_expiry("+45s", now).expect("ok"), now + 45);
        assert_eq!(parse_expiry("2030-01-01", now).expect("ok"), 1_893_456_000);
        for bad in [
            "+30",
            "+d",
            "+30y",
            "+-3d",
            "+99999999999999999999d",
            "soon",
        ] {
            assert!(parse_expiry(bad, now).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn metric_ids() {
        assert_eq!(metric_id("inference"), keccak256(b"inference"));
        let raw = format!("{}", B256::repeat_byte(0xab));
        assert_eq!(metric_id(&raw), B256::repeat_byte(0xab));
    }

    #[test]
    fn describes_reverts() {
        let e = I::QuotaExceeded {
            tokenId: u(1),
            remaining: u(600),
            requested: u(1000),
        };
        assert_eq!(
            describe_revert(&e.abi_encode()),
            "QuotaExceeded(tokenId: 1, remaining: 600, requested: 1000)"
        );
        assert_eq!(
            describe_revert(&I::ZeroAmount {}.abi_encode()),
            "ZeroAmount()"
        );
        let owner = I::NotTokenOwner {
            tokenId: u(7),
            caller: Address::repeat_byte(0x11),
        };
        assert_eq!(
            describe_revert(&owner.abi_encode()),
            format!(
                "NotTokenOwner(tokenId: 7, caller: {})",
                Address::repeat_byte(0x11)
            )
        );
        let msg = Revert::from("DataAnchoringToken: corrupt record");
        assert_eq!(
            describe_revert(&msg.abi_encode()),
            "Error(\"DataAnchoringToken: corrupt record\")"
        );
        assert_eq!(describe_revert(&[]), "no revert data");
        assert_eq!(
            describe_revert(&[0xde, 0xad, 0xbe, 0xef, 0x01]),
            "unknown revert data 0xdeadbeef01"
        );
    }

    #[test]
    fn parses_keys_and_ids() {
        let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let a = parse_key(key).expect("ok").address();
        assert_eq!(
            parse_key(&format!("{}\n", &key[2..]))
                .expect("ok")
                .address(),
            a
        );
        assert!(parse_key("0x1234").is_err());
        assert!(parse_key(&"0".repeat(64)).is_err());
        assert_eq!(parse_u256("42").expect("ok"), u(42));
        assert_eq!(parse_u256("0x2a").expect("ok"), u(42));
        assert!(parse_u256("-1").is_err());
        assert!(parse_u256("1.5").is_err());
    }
}
