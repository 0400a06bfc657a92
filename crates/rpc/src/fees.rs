//! Fee suggestions: `eth_gasPrice`, `eth_maxPriorityFeePerGas` and `eth_feeHistory`.
//!
//! `eth_feeHistory` follows geth: `baseFeePerGas` has one entry per block of the range plus
//! the base fee of the block after the newest one, `gasUsedRatio` is gas used over the gas
//! limit, and each reward is the effective tip of the transaction that covers the requested
//! percentile of the block's gas, transactions sorted by tip and weighted by gas used. An
//! empty block reports the node's suggested tip for every percentile.

use crate::api::ChainApi;
use crate::blocks::tag_height;
use crate::error::EthError;
use alloy_eips::BlockNumberOrTag;
use alloy_rpc_types_eth::FeeHistory;
use lazai_types::Receipt;

/// Most blocks one `eth_feeHistory` call covers (geth's limit).
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;
/// Most percentiles one `eth_feeHistory` call may ask for.
pub const MAX_REWARD_PERCENTILES: usize = 100;

/// `eth_gasPrice`: next block's base fee plus the suggested tip.
pub fn gas_price<A: ChainApi>(api: &A) -> u128 {
    u128::from(api.next_base_fee()).saturating_add(api.suggested_priority_fee())
}

/// Checks that percentiles are within `[0, 100]`, increasing, and not too many.
pub fn check_percentiles(percentiles: &[f64]) -> Result<(), EthError> {
    if percentiles.len() > MAX_REWARD_PERCENTILES {
        return Err(EthError::InvalidParams(format!(
            "too many reward percentiles: {}, the limit is {MAX_REWARD_PERCENTILES}",
            percentiles.len()
        )));
    }
    let mut previous = 0.0f64;
    for (i, &p) in percentiles.iter().enumerate() {
        if !(0.0..=100.0).contains(&p) {
            return Err(EthError::InvalidParams(format!(
                "invalid reward percentile: {p}"
            )));
        }
        if i > 0 && p < previous {
            return Err(EthError::InvalidParams(format!(
                "invalid reward percentile: #{} {previous} > #{i} {p}",
                i - 1
            )));
        }
        previous = p;
    }
    Ok(())
}

/// The rewards of one block at `percentiles` (already checked), from its receipts.
///
/// `suggested_tip` is reported for every percentile when the block has no transactions.
pub fn block_rewards(
    percentiles: &[f64],
    base_fee: u64,
    receipts: &[Receipt],
    suggested_tip: u128,
) -> Vec<u128> {
    if receipts.is_empty() {
        return vec![suggested_tip; percentiles.len()];
    }
    let mut sorted: Vec<(u128, u64)> = receipts
        .iter()
        .map(|r| {
            (
                r.effective_gas_price.saturating_sub(u128::from(base_fee)),
                r.gas_used,
            )
        })
        .collect();
    sorted.sort_by_key(|&(tip, _)| tip);
    let total_gas: u64 = receipts.iter().map(|r| r.gas_used).sum();
    let mut index = 0usize;
    let mut sum_gas = sorted[0].1;
    percentiles
        .iter()
        .map(|p| {
            // Truncates like geth's `uint64(float64(gasUsed) * p / 100)`.
            let threshold = (total_gas as f64 * p / 100.0) as u64;
            while sum_gas < threshold && index < sorted.len() - 1 {
                index += 1;
                sum_gas += sorted[index].1;
            }
            sorted[index].0
        })
        .collect()
}

/// `eth_feeHistory` over finalized blocks. Runs many storage reads: call it off the runtime.
pub fn fee_history<A: ChainApi>(
    api: &A,
    block_count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<&[f64]>,
) -> Result<FeeHistory, EthError> {
    if let Some(p) = percentiles {
        check_percentiles(p)?;
    }
    let head = api.finalized_height();
    let newest = tag_height(api, newest);
    if newest > head {
        return Err(EthError::InvalidParams(format!(
            "request beyond head block: requested {newest}, head {head}"
        )));
    }
    let count = block_count.min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
    if count == 0 {
        return Ok(FeeHistory {
            oldest_block: newest,
            ..Default::default()
        });
    }
    let oldest = newest + 1 - count;
    let suggested_tip = api.suggested_priority_fee();
    let capacity = usize::try_from(count).unwrap_or(0);
    let mut base_fee_per_gas = Vec::with_capacity(capacity + 1);
    let mut gas_used_ratio = Vec::with_capacity(capacity);
    let mut reward = percentiles.map(|_| Vec::with_capacity(capacity));
    for height in oldest..=newest {
        let header = api.header_by_height(height).ok_or_else(|| {
            EthError::Internal(format!("header of finalized block {height} is missing"))
        })?;
        base_fee_per_gas.push(u128::from(header.base_fee));
        let ratio = if header.gas_limit == 0 {
            0.0
        } else {
            header.gas_used as f64 / header.gas_limit as f64
        };
        gas_used_ratio.push(ratio);
        if let (Some(rewards), Some(p)) = (reward.as_mut(), percentiles) {
            let receipts = if header.gas_used == 0 {
                None
            } else {
                api.receipts(height)
            };
            let receipts = receipts.as_deref().map(Vec::as_slice).unwrap_or(&[]);
            rewards.push(block_rewards(p, header.base_fee, receipts, suggested_tip));
        }
    }
    let next_base_fee = if newest == head {
        api.next_base_fee()
    } else {
        api.header_by_height(newest + 1)
            .map(|h| h.base_fee)
            .unwrap_or_else(|| api.next_base_fee())
    };
    base_fee_per_gas.push(u128::from(next_base_fee));
    Ok(FeeHistory {
        base_fee_per_gas,
        gas_used_ratio,
        base_fee_per_blob_gas: Vec::new(),
        blob_gas_used_ratio: Vec::new(),
        oldest_block: oldest,
        reward,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, B256, Bytes};

    fn receipt(price: u128, gas: u64) -> Receipt {
        Receipt {
            tx_type: 2,
            success: true,
            gas_used: gas,
            cumulative_gas_used: gas,
            effective_gas_price: price,
            logs: Vec::new(),
            output: Bytes::new(),
            from: Address::ZERO,
            to: Address::ZERO,
            tx_hash: B256::ZERO,
            contract_address: None,
        }
    }

    #[test]
    fn rewards_are_gas_weighted_percentiles_of_tips() {
        // Tips 1 (gas 10), 5 (gas 30), 3 (gas 60); base fee 100.
        let receipts = [receipt(101, 10), receipt(105, 30), receipt(103, 60)];
        let rewards = block_rewards(&[0.0, 10.0, 50.0, 70.0, 71.0, 100.0], 100, &receipts, 9);
        assert_eq!(rewards, vec![1, 1, 3, 3, 5, 5]);
    }

    #[test]
    fn empty_block_reports_suggested_tip() {
        assert_eq!(block_rewards(&[25.0, 75.0], 7, &[], 2), vec![2, 2]);
    }

    #[test]
    fn percentiles_must_be_increasing_and_in_range() {
        assert!(check_percentiles(&[10.0, 50.0, 90.0]).is_ok());
        assert!(check_percentiles(&[50.0, 10.0]).is_err());
        assert!(check_percentiles(&[101.0]).is_err());
        assert!(check_percentiles(&[-1.0]).is_err());
        assert!(check_percentiles(&[f64::NAN]).is_err());
    }
}
