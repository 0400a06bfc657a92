//! `eth_getLogs` and log matching for `logs` subscriptions.
//!
//! A filter names one block (`blockHash`) or an inclusive range (`fromBlock`/`toBlock`, both
//! defaulting to the finalized head, tags resolved as in [`crate::blocks`]); a range wider
//! than the configured limit is refused rather than truncated. Each block's header bloom is
//! tested first, so receipts are read only for blocks that may hold a match. `address` is one
//! address or a list (any of them), `topics` position by position: `null` matches anything,
//! a list matches any of its entries.

use crate::api::ChainApi;
use crate::blocks::tag_height;
use crate::convert::{LogPosition, rpc_log};
use crate::error::EthError;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log as RpcLog};
use lazai_types::{Header, Receipt};

/// Limits of one `eth_getLogs` query.
#[derive(Clone, Copy, Debug)]
pub struct LogLimits {
    /// Most blocks one range may span.
    pub max_range: u64,
    /// Most logs one query may return.
    pub max_results: usize,
}

/// Appends the logs of one block that match `filter` (address and topics only) to `out`.
///
/// Fails with [`EthError::TooManyLogs`] once `out` would exceed `max_results`.
pub fn block_logs(
    filter: &Filter,
    header: &Header,
    block_hash: B256,
    receipts: &[Receipt],
    max_results: usize,
    out: &mut Vec<RpcLog>,
) -> Result<(), EthError> {
    let mut log_index = 0u64;
    for (tx_index, receipt) in receipts.iter().enumerate() {
        for log in &receipt.logs {
            if filter.matches(log) {
                if out.len() >= max_results {
                    return Err(EthError::TooManyLogs(max_results));
                }
                out.push(rpc_log(
                    log,
                    LogPosition {
                        block_hash,
                        block_number: header.height,
                        block_timestamp: header.timestamp_secs(),
                        transaction_hash: receipt.tx_hash,
                        transaction_index: tx_index as u64,
                        log_index,
                    },
                ));
            }
            log_index += 1;
        }
    }
    Ok(())
}

/// `eth_getLogs`. Reads up to `max_range` headers: call it off the runtime.
pub fn get_logs<A: ChainApi>(
    api: &A,
    filter: &Filter,
    limits: LogLimits,
) -> Result<Vec<RpcLog>, EthError> {
    let mut out = Vec::new();
    match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let block = api.block_by_hash(&hash).ok_or(EthError::UnknownBlock)?;
            if filter.matches_bloom(block.header.logs_bloom) {
                let receipts = receipts_of(api, block.height())?;
                block_logs(
                    filter,
                    &block.header,
                    hash,
                    &receipts,
                    limits.max_results,
                    &mut out,
                )?;
            }
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let head = api.finalized_height();
            let from = from_block.map(|t| tag_height(api, t)).unwrap_or(head);
            let to = to_block.map(|t| tag_height(api, t)).unwrap_or(head);
            if from > to {
                return Err(EthError::InvalidParams(format!(
                    "invalid block range params: fromBlock {from} is after toBlock {to}"
                )));
            }
            if to - from >= limits.max_range {
                return Err(EthError::RangeTooLarge(limits.max_range));
            }
            // Blocks past the head do not exist yet: they hold no logs.
            let to = to.min(head);
            if from > to {
                return Ok(out);
            }
            for height in from..=to {
                let Some(header) = api.header_by_height(height) else {
                    return Err(EthError::Internal(format!(
                        "header of finalized block {height} is missing"
                    )));
                };
                if !filter.matches_bloom(header.logs_bloom) {
                    continue;
                }
                let receipts = receipts_of(api, height)?;
                let hash = header.hash();
                block_logs(
                    filter,
                    &header,
                    hash,
                    &receipts,
                    limits.max_results,
                    &mut out,
                )?;
            }
        }
    }
    Ok(out)
}

fn receipts_of<A: ChainApi>(
    api: &A,
    height: u64,
) -> Result<std::sync::Arc<Vec<Receipt>>, EthError> {
    api.receipts(height).ok_or_else(|| {
        EthError::Internal(format!("receipts of finalized block {height} are missing"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, Bytes, Log, LogData};
    use alloy_rpc_types_eth::Topic;

    fn receipt(logs: Vec<Log>) -> Receipt {
        Receipt {
            tx_type: 2,
            success: true,
            gas_used: 1,
            cumulative_gas_used: 1,
            effective_gas_price: 1,
            logs,
            output: Bytes::new(),
            from: Address::ZERO,
            to: Address::ZERO,
            tx_hash: B256::repeat_byte(0xaa),
            contract_address: None,
        }
    }

    fn log(address: u8, topics: &[u8]) -> Log {
        Log {
            address: Address::repeat_byte(address),
            data: LogData::new_unchecked(
                topics.iter().map(|t| B256::repeat_byte(*t)).collect(),
                Bytes::new(),
            ),
        }
    }

    #[test]
    fn topics_with_wildcards_and_alternatives() {
        let receipts = vec![
            receipt(vec![log(1, &[10, 20]), log(2, &[10, 21])]),
            receipt(vec![log(1, &[11, 22])]),
        ];
        let filter = Filter::new()
            .address(vec![Address::repeat_byte(1), Address::repeat_byte(2)])
            .topic1(Topic::from(vec![
                B256::repeat_byte(20),
                B256::repeat_byte(21),
            ]));
        let mut out = Vec::new();
        let header = Header {
            height: 4,
            ..Default::default()
        };
        block_logs(&filter, &header, B256::ZERO, &receipts, 10, &mut out).expect("within limit");
        let indexes: Vec<_> = out.iter().map(|l| l.log_index).collect();
        assert_eq!(indexes, vec![Some(0), Some(1)]);

        let filter = Filter::new().address(Address::repeat_byte(1));
        let mut out = Vec::new();
        block_logs(&filter, &header, B256::ZERO, &receipts, 10, &mut out).expect("within limit");
        assert_eq!(
            out.iter().map(|l| l.log_index).collect::<Vec<_>>(),
            vec![Some(0), Some(2)]
        );
        assert_eq!(out[1].transaction_index, Some(1));

        let mut out = Vec::new();
        let err = block_logs(&filter, &header, B256::ZERO, &receipts, 1, &mut out);
        assert_eq!(err, Err(EthError::TooManyLogs(1)));
    }
}
