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

mod args;
mod client;
mod commands;

pub use self::args::{
    ClaimArgs, ClassCommand, ClassCreateArgs, ClassShowArgs, DEFAULT_METRIC, DatCommand, MintArgs,
    PendingArgs, SettleArgs, ShowArgs, TransferArgs, UsageArgs,
};
pub use self::commands::run;

#[cfg(test)]
mod tests {
    use crate::kit::args::parse_key;
    use crate::kit::client::describe_revert;
    use crate::kit::units::parse_u256;
    use alloy::sol_types::{Revert, SolError};
    use alloy_primitives::{Address, U256};
    use lazai_abi::IDataAnchoringToken as I;

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
