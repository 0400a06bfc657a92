//! Resolution of block tags and lookups of blocks, transactions and receipts shared by the
//! `eth_*` methods and the subscriptions.
//!
//! The node serves finalized data only: the tags `latest`, `safe`, `finalized` and `pending`
//! all name the finalized head, and `earliest` names genesis. State is kept for the head
//! only, so a state query for any older block fails with a clear error instead of silently
//! answering from the head.

use crate::api::{ChainApi, StateAt, TxInBlock};
use crate::convert::{
    TxContext, rpc_block, rpc_block_receipts, rpc_block_transaction, rpc_receipt, rpc_transaction,
};
use crate::error::EthError;
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::B256;
use alloy_rpc_types_eth::{Block as RpcBlock, Transaction as RpcTransaction, TransactionReceipt};
use lazai_types::Block;
use std::sync::Arc;

/// The height a block tag or number names; tags that name the head resolve to the finalized
/// height. The height may be beyond the head (no such block yet).
pub fn tag_height<A: ChainApi>(api: &A, tag: BlockNumberOrTag) -> u64 {
    match tag {
        BlockNumberOrTag::Latest
        | BlockNumberOrTag::Finalized
        | BlockNumberOrTag::Safe
        | BlockNumberOrTag::Pending => api.finalized_height(),
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Number(n) => n,
    }
}

/// The state a query names, and whether it asked for `pending` (only the nonce differs: it then
/// counts the sender's transactions waiting in the mempool). A block number or hash of a finalized
/// block is accepted (whether its state is still kept is the node's answer); an unknown or future
/// one fails with [`EthError::UnknownBlock`].
pub fn state_block<A: ChainApi>(api: &A, id: Option<BlockId>) -> Result<(StateAt, bool), EthError> {
    let head = api.finalized_height();
    let requested = match id {
        None => return Ok((StateAt::Head, false)),
        Some(BlockId::Number(BlockNumberOrTag::Pending)) => return Ok((StateAt::Head, true)),
        Some(BlockId::Number(tag)) => tag_height(api, tag),
        Some(BlockId::Hash(hash)) => api
            .block_by_hash(&hash.block_hash)
            .ok_or(EthError::UnknownBlock)?
            .height(),
    };
    if requested == head {
        Ok((StateAt::Head, false))
    } else if requested < head {
        Ok((StateAt::Block(requested), false))
    } else {
        Err(EthError::UnknownBlock)
    }
}

/// The finalized block a block id names, if it exists.
pub fn block_by_id<A: ChainApi>(api: &A, id: BlockId) -> Option<Arc<Block>> {
    match id {
        BlockId::Number(tag) => api.block_by_height(tag_height(api, tag)),
        BlockId::Hash(hash) => api.block_by_hash(&hash.block_hash),
    }
}

/// The Ethereum-shaped form of a finalized block (receipts are read for full transactions).
pub fn rpc_block_of<A: ChainApi>(api: &A, block: &Block, full: bool) -> Result<RpcBlock, EthError> {
    let receipts = if full {
        api.receipts(block.height())
    } else {
        None
    };
    rpc_block(
        block,
        block.hash(),
        receipts.as_deref().map(Vec::as_slice),
        full,
    )
}

/// The context of a finalized transaction (base fee and time of its block).
fn tx_context<A: ChainApi>(api: &A, at: TxInBlock) -> Result<TxContext, EthError> {
    let header = api.header_by_height(at.height).ok_or_else(|| {
        EthError::Internal(format!(
            "header of finalized block {} is missing",
            at.height
        ))
    })?;
    Ok(TxContext {
        at,
        base_fee: header.base_fee,
        timestamp_secs: header.timestamp_secs(),
    })
}

/// `eth_getTransactionByHash`: a finalized or pending transaction.
pub fn transaction_by_hash<A: ChainApi>(
    api: &A,
    hash: &B256,
) -> Result<Option<RpcTransaction>, EthError> {
    let Some(lookup) = api.transaction(hash) else {
        return Ok(None);
    };
    let context = lookup.location.map(|at| tx_context(api, at)).transpose()?;
    Ok(Some(rpc_transaction(&lookup.tx, context)))
}

/// `eth_getTransactionReceipt`: `None` while the transaction is pending or unknown.
pub fn receipt_by_hash<A: ChainApi>(
    api: &A,
    hash: &B256,
) -> Result<Option<TransactionReceipt>, EthError> {
    let Some(at) = api.transaction(hash).and_then(|lookup| lookup.location) else {
        return Ok(None);
    };
    let receipts = api.receipts(at.height).ok_or_else(|| {
        EthError::Internal(format!(
            "receipts of finalized block {} are missing",
            at.height
        ))
    })?;
    let index = at.index as usize;
    let Some(receipt) = receipts.get(index) else {
        return Err(EthError::Internal(format!(
            "block {} has no receipt at index {index}",
            at.height
        )));
    };
    let first_log_index = receipts[..index].iter().map(|r| r.logs.len() as u64).sum();
    let context = tx_context(api, at)?;
    Ok(Some(rpc_receipt(
        receipt,
        at.block_hash,
        at.height,
        context.timestamp_secs,
        at.index,
        first_log_index,
    )))
}

/// `eth_getTransactionByBlock*AndIndex`.
pub fn transaction_by_block_and_index<A: ChainApi>(
    api: &A,
    id: BlockId,
    index: usize,
) -> Result<Option<RpcTransaction>, EthError> {
    let Some(block) = block_by_id(api, id) else {
        return Ok(None);
    };
    if index >= block.transactions.len() {
        return Ok(None);
    }
    let receipts = api.receipts(block.height());
    let receipt = receipts.as_deref().and_then(|r| r.get(index));
    rpc_block_transaction(&block, block.hash(), index, receipt).map(Some)
}

/// `eth_getBlockReceipts`: every receipt of a finalized block.
pub fn block_receipts<A: ChainApi>(
    api: &A,
    id: BlockId,
) -> Result<Option<Vec<TransactionReceipt>>, EthError> {
    let Some(block) = block_by_id(api, id) else {
        return Ok(None);
    };
    let receipts = api.receipts(block.height()).ok_or_else(|| {
        EthError::Internal(format!(
            "receipts of finalized block {} are missing",
            block.height()
        ))
    })?;
    Ok(Some(rpc_block_receipts(
        &receipts,
        block.hash(),
        block.height(),
        block.header.timestamp_secs(),
    )))
}
