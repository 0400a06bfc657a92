//! The `lazai dat` subcommands' arguments.

use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::units::{parse_b256, parse_u256};
use alloy_primitives::{Address, B256, U256};
use clap::{Args, Subcommand};

/// The default usage metric name.
pub const DEFAULT_METRIC: &str = "inference";

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
    pub(super) uri: String,
    /// The asset's integrity hash: 32 bytes of hex (default zero).
    #[arg(long, value_name = "0x..32B", value_parser = parse_b256)]
    pub(super) integrity_hash: Option<B256>,
    /// Decimals of the class's unit of value (0 to 36).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(super) decimals: u8,
    /// The class's usage policy URI.
    #[arg(long, value_name = "URI", default_value = "")]
    pub(super) policy: String,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct ClassShowArgs {
    /// Class id.
    #[arg(value_name = "ID", value_parser = parse_u256)]
    pub(super) id: U256,
    #[command(flatten)]
    pub(super) read: ReadArgs,
}

#[derive(Args)]
pub struct MintArgs {
    /// Class id.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    pub(super) class: U256,
    /// The token's owner.
    #[arg(long, value_name = "ADDR")]
    pub(super) to: Address,
    /// The token's value (its usage quota), in the class's units (`1.5` with 2 unit decimals
    /// is 150 base units).
    #[arg(long, value_name = "V")]
    pub(super) value: String,
    /// The token's weight in the class's revenue (an integer).
    #[arg(long, value_name = "S", value_parser = parse_u256)]
    pub(super) share: U256,
    /// When the token expires: never (default), a Unix time, YYYY-MM-DD[THH:MM[:SS]] (UTC)
    /// or +N{s,m,h,d,w} from now.
    #[arg(long, value_name = "DATE|UNIX|+30d")]
    pub(super) expires: Option<String>,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    pub(super) token: U256,
    #[command(flatten)]
    pub(super) read: ReadArgs,
}

#[derive(Args)]
pub struct TransferArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    pub(super) token: U256,
    /// Move the whole token (with its unclaimed revenue) to this address.
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present = "to_token",
        conflicts_with_all = ["to_token", "value"]
    )]
    pub(super) to: Option<Address>,
    /// Move --value of the token's value to this token of the same class.
    #[arg(long, value_name = "ID", value_parser = parse_u256, requires = "value")]
    pub(super) to_token: Option<U256>,
    /// The value to move with --to-token, in the class's units.
    #[arg(long, value_name = "V", requires = "to_token")]
    pub(super) value: Option<String>,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct UsageArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    pub(super) token: U256,
    /// Quota to consume, in the class's units.
    #[arg(long, value_name = "N")]
    pub(super) amount: String,
    /// Metric name; its bytes32 is keccak256 of the name (0x + 64 hex digits: used as is).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_METRIC)]
    pub(super) metric: String,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct SettleArgs {
    /// Class id.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    pub(super) class: U256,
    /// LAZAI to distribute, with decimals (`1.5`), sent with the transaction.
    #[arg(long, value_name = "LAZAI")]
    pub(super) amount: String,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct ClaimArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    pub(super) token: U256,
    /// Where to pay the revenue (default: the signer).
    #[arg(long, value_name = "ADDR")]
    pub(super) to: Option<Address>,
    #[command(flatten)]
    pub(super) tx: TxArgs,
}

#[derive(Args)]
pub struct PendingArgs {
    /// Token id.
    #[arg(value_name = "TOKEN", value_parser = parse_u256)]
    pub(super) token: U256,
    #[command(flatten)]
    pub(super) read: ReadArgs,
}
