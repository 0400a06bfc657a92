//! The gas schedule and the base-fee rule.
//!
//! Transaction-level costs are Ethereum's (so wallets' estimates hold): 21000 per transaction,
//! 16 per non-zero and 4 per zero calldata byte, 2400 per access-list address and 1900 per
//! access-list storage key. Native modules charge EVM-equivalent costs for what they do:
//!
//! | operation                     | gas                        |
//! | ----------------------------- | -------------------------- |
//! | module call overhead          | 700                        |
//! | storage read                  | 2100                       |
//! | storage write, new slot       | 20000                      |
//! | storage write, existing slot  | 5000                       |
//! | storage write, per 32 bytes   | 640 beyond the first word  |
//! | log                           | 375 + 375/topic + 8/byte   |
//! | value transfer to a module    | 9000                       |
//! | value transfer from a module  | 9000                       |
//! | ed25519 signature check       | 3000                       |
//! | secp256k1 recovery (ecrecover)| 3000                       |
//!
//! Base fee: EIP-1559's rule with a target of half the block gas limit and a change
//! denominator of 8, floored at the genesis `min_base_fee`.

use crate::error::TxError;
use alloy_consensus::Transaction;
use alloy_consensus::TxEnvelope;

pub const TX_BASE: u64 = 21_000;
pub const CALLDATA_NONZERO: u64 = 16;
pub const CALLDATA_ZERO: u64 = 4;
pub const ACCESS_LIST_ADDRESS: u64 = 2_400;
pub const ACCESS_LIST_KEY: u64 = 1_900;
pub const MODULE_CALL: u64 = 700;
pub const SLOAD: u64 = 2_100;
pub const SSTORE_SET: u64 = 20_000;
pub const SSTORE_RESET: u64 = 5_000;
pub const SSTORE_WORD: u64 = 640;
pub const LOG: u64 = 375;
pub const LOG_TOPIC: u64 = 375;
pub const LOG_BYTE: u64 = 8;
pub const CALL_VALUE: u64 = 9_000;
/// Reading whether an account holds code (EIP-2929's cold account access).
pub const ACCOUNT_READ: u64 = 2_600;
/// A module calling a contract whose code it just checked (EIP-2929's warm access).
pub const CONTRACT_CALL: u64 = 100;
pub const ED25519_VERIFY: u64 = 3_000;
pub const ECRECOVER: u64 = 3_000;
/// One keccak256 over up to 32 bytes (the EVM's 30 + 6 per word, rounded up).
pub const KECCAK_WORD: u64 = 36;

const BASE_FEE_CHANGE_DENOMINATOR: u128 = 8;
const ELASTICITY: u64 = 2;

/// Gas a transaction costs before it executes anything.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    intrinsic_of(tx.input(), tx.access_list())
}

/// Intrinsic gas of a call carrying `data` and `access_list` on the native path.
pub fn intrinsic_of(data: &[u8], access_list: Option<&alloy_eips::eip2930::AccessList>) -> u64 {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = data.len() as u64 - zeros;
    let mut gas = TX_BASE + zeros * CALLDATA_ZERO + nonzeros * CALLDATA_NONZERO;
    if let Some(list) = access_list {
        for item in list.iter() {
            gas = gas.saturating_add(ACCESS_LIST_ADDRESS);
            gas =
                gas.saturating_add(ACCESS_LIST_KEY.saturating_mul(item.storage_keys.len() as u64));
        }
    }
    gas
}

/// Checks that a transaction's gas limit covers its intrinsic gas.
pub fn check_intrinsic(tx: &TxEnvelope) -> Result<u64, TxError> {
    let want = intrinsic_gas(tx);
    let have = tx.gas_limit();
    if have < want {
        return Err(TxError::IntrinsicGas { have, want });
    }
    Ok(want)
}

/// The base fee of a child block, from its parent's gas use (EIP-1559). Divisions round toward
/// zero, as EIP-1559 specifies; the remainder is simply not charged (no one receives it). An
/// increase is at least 1 wei so a full chain always moves the fee up.
pub fn next_base_fee(
    parent_base_fee: u64,
    parent_gas_used: u64,
    gas_limit: u64,
    min_base_fee: u64,
) -> u64 {
    let target = (gas_limit / ELASTICITY).max(1);
    let base = u128::from(parent_base_fee);
    let next = match parent_gas_used.cmp(&target) {
        std::cmp::Ordering::Equal => base,
        std::cmp::Ordering::Greater => {
            let delta = base * u128::from(parent_gas_used - target)
                / u128::from(target)
                / BASE_FEE_CHANGE_DENOMINATOR;
            base + delta.max(1)
        }
        std::cmp::Ordering::Less => {
            let delta = base * u128::from(target - parent_gas_used)
                / u128::from(target)
                / BASE_FEE_CHANGE_DENOMINATOR;
            base.saturating_sub(delta)
        }
    };
    u64::try_from(next).unwrap_or(u64::MAX).max(min_base_fee)
}

/// Meters gas inside a module call.
#[derive(Debug, Clone, Copy)]
pub struct GasMeter {
    limit: u64,
    used: u64,
}

/// A module ran out of gas; the call reverts and all its gas is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfGas;

impl GasMeter {
    pub fn new(limit: u64) -> Self {
        Self { limit, used: 0 }
    }
    pub fn charge(&mut self, gas: u64) -> Result<(), OutOfGas> {
        let used = self.used.saturating_add(gas);
        if used > self.limit {
            self.used = self.limit;
            return Err(OutOfGas);
        }
        self.used = used;
        Ok(())
    }
    pub fn used(&self) -> u64 {
        self.used
    }
    pub fn remaining(&self) -> u64 {
        self.limit - self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fee_follows_eip1559() {
        // At target: unchanged. Full block: +12.5%. Empty block: -12.5%, floored.
        assert_eq!(
            next_base_fee(1_000_000_000, 15_000_000, 30_000_000, 7),
            1_000_000_000
        );
        assert_eq!(
            next_base_fee(1_000_000_000, 30_000_000, 30_000_000, 7),
            1_125_000_000
        );
        assert_eq!(next_base_fee(1_000_000_000, 0, 30_000_000, 7), 875_000_000);
        assert_eq!(next_base_fee(8, 0, 30_000_000, 7), 7);
    }

    #[test]
    fn meter_stops_at_limit() {
        let mut m = GasMeter::new(10);
        assert!(m.charge(6).is_ok());
        assert_eq!(m.charge(6), Err(OutOfGas));
        assert_eq!(m.used(), 10);
        assert_eq!(m.remaining(), 0);
    }
}
