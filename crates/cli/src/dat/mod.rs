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

mod commands;
mod units;

use self::commands::*;
pub use self::units::*;

use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{Address, B256, U256, keccak256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use lazai_client::{Client as ModuleClient, resolve_signer};
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
