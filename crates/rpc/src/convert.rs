//! Conversions from LazChain's data (blocks, receipts, recovered transactions) to the
//! `alloy-rpc-types-eth` shapes that Ethereum wallets and libraries parse.
//!
//! A LazChain header carries fewer fields than an Ethereum one; the rest are filled with the
//! constants of a post-merge chain without uncles: `sha3Uncles` is the hash of the empty
//! list, `difficulty`, `nonce` and `mixHash` are zero, `extraData` is empty. `timestamp` is in
//! seconds and `miner` is the proposer's fee recipient.

use crate::api::TxInBlock;
use crate::error::EthError;
use alloy_consensus::transaction::{Recovered, SignerRecoverable};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Eip658Value, ReceiptEnvelope, ReceiptWithBloom, Transaction as _,
    TxEnvelope, TxType,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B64, B256, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    Block as RpcBlock, BlockTransactions, Header as RpcHeader, Log as RpcLog,
    Transaction as RpcTransaction, TransactionReceipt,
};
use lazai_ledger::RecoveredTx;
use lazai_types::{Block, Header, Log, Receipt};

/// Where a log sits, for the fields that an RPC log carries besides its content.
#[derive(Clone, Copy, Debug)]
pub struct LogPosition {
    pub block_hash: B256,
    pub block_number: u64,
    pub block_timestamp: u64,
    pub transaction_hash: B256,
    pub transaction_index: u64,
    /// Index among all logs of the block.
    pub log_index: u64,
}

/// An RPC log from a log and its position.
pub fn rpc_log(log: &Log, at: LogPosition) -> RpcLog {
    RpcLog {
        inner: log.clone(),
        block_hash: Some(at.block_hash),
        block_number: Some(at.block_number),
        block_timestamp: Some(at.block_timestamp),
        transaction_hash: Some(at.transaction_hash),
        transaction_index: Some(at.transaction_index),
        log_index: Some(at.log_index),
        removed: false,
    }
}

/// The Ethereum-shaped header of a LazChain header whose hash is `hash`.
///
/// `size` is the encoded size of the whole block, when known.
pub fn rpc_header(header: &Header, hash: B256, size: Option<usize>) -> RpcHeader {
    let inner = alloy_consensus::Header {
        parent_hash: header.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: header.proposer,
        state_root: header.state_root,
        transactions_root: header.transactions_root,
        receipts_root: header.receipts_root,
        logs_bloom: header.logs_bloom,
        difficulty: U256::ZERO,
        number: header.height,
        gas_limit: header.gas_limit,
        gas_used: header.gas_used,
        timestamp: header.timestamp_secs(),
        extra_data: Default::default(),
        mix_hash: B256::ZERO,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(header.base_fee),
        ..Default::default()
    };
    RpcHeader {
        hash,
        inner,
        total_difficulty: Some(U256::ZERO),
        size: size.map(U256::from),
    }
}

/// The Ethereum-shaped block: transaction hashes, or (`full`) whole transactions.
///
/// Full transactions take their sender and effective gas price from `receipts` when they are
/// given and line up with the block (the sender is recovered from the signature otherwise).
/// Fails only if a transaction of the block does not decode, which a finalized block never has.
pub fn rpc_block(
    block: &Block,
    hash: B256,
    receipts: Option<&[Receipt]>,
    full: bool,
) -> Result<RpcBlock, EthError> {
    let header = rpc_header(&block.header, hash, Some(block.length()));
    let transactions = if full {
        let txs = (0..block.transactions.len())
            .map(|index| {
                let receipt = receipts.and_then(|r| r.get(index));
                rpc_block_transaction(block, hash, index, receipt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        BlockTransactions::Full(txs)
    } else {
        BlockTransactions::Hashes(block.transactions.iter().map(keccak256).collect())
    };
    Ok(RpcBlock {
        header,
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    })
}

/// The Ethereum-shaped transaction at `index` of a finalized block whose hash is `hash`.
///
/// The sender and effective gas price come from `receipt` when it belongs to this transaction;
/// otherwise the sender is recovered from the signature.
pub fn rpc_block_transaction(
    block: &Block,
    hash: B256,
    index: usize,
    receipt: Option<&Receipt>,
) -> Result<RpcTransaction, EthError> {
    let raw = block.transactions.get(index).ok_or_else(|| {
        EthError::Internal(format!(
            "block {} has no transaction {index}",
            block.height()
        ))
    })?;
    let tx_hash = keccak256(raw);
    let receipt = receipt.filter(|r| r.tx_hash == tx_hash);
    let envelope = decode_envelope(raw)?;
    let sender = match receipt {
        Some(r) => r.from,
        None => envelope
            .recover_signer()
            .map_err(|e| EthError::Internal(format!("cannot recover sender of {tx_hash}: {e}")))?,
    };
    let effective_gas_price = receipt
        .map(|r| r.effective_gas_price)
        .unwrap_or_else(|| envelope.effective_gas_price(Some(block.header.base_fee)));
    Ok(RpcTransaction {
        inner: Recovered::new_unchecked(envelope, sender),
        block_hash: Some(hash),
        block_number: Some(block.header.height),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(effective_gas_price),
        block_timestamp: Some(block.header.timestamp_secs()),
    })
}

/// Decodes a transaction of a finalized block.
fn decode_envelope(raw: &[u8]) -> Result<TxEnvelope, EthError> {
    let mut slice = raw;
    TxEnvelope::decode_2718(&mut slice)
        .map_err(|e| EthError::Internal(format!("stored transaction does not decode: {e}")))
}

/// Where a finalized transaction sits, with what its block charged.
#[derive(Clone, Copy, Debug)]
pub struct TxContext {
    pub at: TxInBlock,
    pub base_fee: u64,
    pub timestamp_secs: u64,
}

/// The Ethereum-shaped transaction; `context` is `None` while it waits in the mempool.
pub fn rpc_transaction(tx: &RecoveredTx, context: Option<TxContext>) -> RpcTransaction {
    let (block_hash, block_number, transaction_index, effective_gas_price, block_timestamp) =
        match context {
            Some(c) => (
                Some(c.at.block_hash),
                Some(c.at.height),
                Some(u64::from(c.at.index)),
                Some(tx.envelope.effective_gas_price(Some(c.base_fee))),
                Some(c.timestamp_secs),
            ),
            None => (None, None, None, None, None),
        };
    RpcTransaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash,
        block_number,
        transaction_index,
        effective_gas_price,
        block_timestamp,
    }
}

/// The Ethereum-shaped receipt of the transaction at `index` of a block.
///
/// `first_log_index` is the number of logs of the block's earlier transactions, so that
/// `logIndex` counts across the block as Ethereum's does.
pub fn rpc_receipt(
    receipt: &Receipt,
    block_hash: B256,
    block_number: u64,
    block_timestamp: u64,
    index: u32,
    first_log_index: u64,
) -> TransactionReceipt {
    let logs = receipt
        .logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            rpc_log(
                log,
                LogPosition {
                    block_hash,
                    block_number,
                    block_timestamp,
                    transaction_hash: receipt.tx_hash,
                    transaction_index: u64::from(index),
                    log_index: first_log_index + i as u64,
                },
            )
        })
        .collect();
    let inner = alloy_consensus::Receipt {
        status: Eip658Value::Eip658(receipt.success),
        cumulative_gas_used: receipt.cumulative_gas_used,
        logs,
    };
    let with_bloom = ReceiptWithBloom::new(inner, receipt.bloom());
    let ty = TxType::try_from(receipt.tx_type).unwrap_or(TxType::Legacy);
    TransactionReceipt {
        inner: ReceiptEnvelope::from_typed(ty, with_bloom),
        transaction_hash: receipt.tx_hash,
        transaction_index: Some(u64::from(index)),
        block_hash: Some(block_hash),
        block_number: Some(block_number),
        gas_used: receipt.gas_used,
        effective_gas_price: receipt.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: receipt.from,
        to: receipt.contract_address.is_none().then_some(receipt.to),
        contract_address: receipt.contract_address,
    }
}

/// All receipts of a block, Ethereum-shaped, with `logIndex` counted across the block.
pub fn rpc_block_receipts(
    receipts: &[Receipt],
    block_hash: B256,
    block_number: u64,
    block_timestamp: u64,
) -> Vec<TransactionReceipt> {
    let mut first_log_index = 0u64;
    let mut out = Vec::with_capacity(receipts.len());
    for (index, receipt) in receipts.iter().enumerate() {
        out.push(rpc_receipt(
            receipt,
            block_hash,
            block_number,
            block_timestamp,
            u32::try_from(index).unwrap_or(u32::MAX),
            first_log_index,
        ));
        first_log_index += receipt.logs.len() as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, Bloom, Bytes, LogData};

    fn receipt(logs: usize, tx_hash: B256) -> Receipt {
        let log = Log {
            address: Address::repeat_byte(7),
            data: LogData::new_unchecked(vec![B256::repeat_byte(1)], Bytes::new()),
        };
        Receipt {
            tx_type: 2,
            success: true,
            gas_used: 21_000,
            cumulative_gas_used: 21_000,
            effective_gas_price: 10,
            logs: vec![log; logs],
            output: Bytes::new(),
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            tx_hash,
            contract_address: None,
        }
    }

    #[test]
    fn log_indexes_count_across_the_block() {
        let receipts = vec![
            receipt(2, B256::repeat_byte(1)),
            receipt(3, B256::repeat_byte(2)),
        ];
        let out = rpc_block_receipts(&receipts, B256::ZERO, 5, 9);
        let indexes: Vec<_> = out
            .iter()
            .flat_map(|r| r.inner.logs().iter().map(|l| l.log_index))
            .collect();
        assert_eq!(indexes, (0..5).map(Some).collect::<Vec<_>>());
        assert_eq!(out[1].transaction_index, Some(1));
        assert!(out[1].inner.status());
    }

    #[test]
    fn header_has_ethereum_constants() {
        let header = Header {
            height: 3,
            timestamp_ms: 5_999,
            base_fee: 7,
            logs_bloom: Bloom::ZERO,
            ..Default::default()
        };
        let rpc = rpc_header(&header, B256::repeat_byte(9), Some(100));
        let json = serde_json::to_value(&rpc).expect("serializes");
        assert_eq!(json["timestamp"], "0x5");
        assert_eq!(json["number"], "0x3");
        assert_eq!(json["baseFeePerGas"], "0x7");
        assert_eq!(json["sha3Uncles"], format!("{EMPTY_OMMER_ROOT_HASH}"));
        assert_eq!(json["nonce"], "0x0000000000000000");
        assert_eq!(json["difficulty"], "0x0");
        assert_eq!(json["hash"], format!("{}", B256::repeat_byte(9)));
    }
}
