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

use self::commands::{
    claim, class_create, class_show, mint, pending, settle, show, transfer, usage,
};
use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::units::{parse_b256, parse_u256};

use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{Address, B256, U256};
use anyhow::Result;
use clap::{Args, Subcommand};
use lazai_client::{Client as ModuleClient, resolve_signer};
use lazai_ledger::modules::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use std::time::Duration;

/// The default usage metric name.
pub const DEFAULT_METRIC: &str = "inference";

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
    use crate::kit::args::parse_key;
    use crate::kit::client::describe_revert;
    use alloy::sol_types::{Revert, SolError};

    fn u(n: u128) -> U256 {
        U256::from(n)
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
