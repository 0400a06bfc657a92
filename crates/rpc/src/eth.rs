//! The `eth_*` namespace (everything but subscriptions, which live in
//! [`crate::subscriptions`]).
//!
//! Cheap reads run inline; methods that execute code, recover signatures or scan many blocks
//! (`eth_call`, `eth_estimateGas`, `eth_sendRawTransaction`, `eth_getLogs`, `eth_feeHistory`,
//! `eth_getBlockBy*`) run on tokio's blocking pool so they neither stall the runtime nor
//! serialize concurrent requests.
//!
//! `eth_getStorageAt` answers a contract's storage words; for a native module it answers the
//! zero word, since modules keep their storage in their own key space, not in 32-byte slots.
//!
//! `eth_estimateGas` returns the least gas limit with which the call succeeds: the gas a call
//! uses is not always enough to run it (refunds are paid after the fact, and a call passes on
//! only 63/64 of its gas), so when the used gas fails it searches between that and the cap.

use crate::api::StateAt;
use crate::api::{CallRequest, ChainApi};
use crate::blocks::{self, state_block, tag_height};
use crate::error::{EthError, join_error};
use crate::fees;
use crate::logs::{self, LogLimits};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::state::StateOverride;
use alloy_rpc_types_eth::{
    AccessListResult, Block as RpcBlock, FeeHistory, Filter, Index, Log as RpcLog,
    Transaction as RpcTransaction, TransactionReceipt, TransactionRequest,
};
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use lazai_ledger::TxError;
use std::sync::Arc;

/// Ethereum's `eth_*` methods.
#[rpc(server, namespace = "eth")]
pub trait EthApi {
    /// Chain id (EIP-155).
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    /// Always `false`: the node serves what it has finalized.
    #[method(name = "syncing")]
    fn syncing(&self) -> RpcResult<bool>;
    /// A devnet's dev accounts; empty on a real network, whose nodes hold no user keys.
    #[method(name = "accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
    /// Height of the finalized head.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    /// Balance at the finalized head.
    #[method(name = "getBalance")]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Nonce at the finalized head; with `pending`, also counting mempool transactions.
    #[method(name = "getTransactionCount")]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    /// A contract's code; a native module's marker; empty otherwise.
    #[method(name = "getCode")]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// A contract's storage word (zero for native modules: see `lazai_getProof`).
    #[method(name = "getStorageAt")]
    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256>;
    /// Next block's base fee plus the suggested tip.
    #[method(name = "gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    /// The suggested tip.
    #[method(name = "maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    /// Base fees, gas use and tip percentiles of recent blocks.
    #[method(name = "feeHistory")]
    async fn fee_history(
        &self,
        block_count: U64,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// Runs a call on the finalized state; a revert fails with code 3 and the revert data, a
    /// sender that cannot pay the value (see `check_funds`) with code -32000. geth's state
    /// override set (balance, nonce, code, `state`, `stateDiff` per account) is applied first;
    /// one that cannot be honoured (`movePrecompileToAddress`, a module's code or storage) is
    /// refused with code -32602.
    #[method(name = "call")]
    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<Bytes>;
    /// The least gas limit with which the call succeeds on the finalized state, intrinsic cost
    /// included, with the same state overrides as `eth_call`.
    #[method(name = "estimateGas")]
    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<U64>;
    /// The access list a transaction like the request would use (every account and slot its
    /// call touches, sender, recipient and precompiles left out) and the gas the call uses with
    /// it; a failing call still answers, with `error` set.
    #[method(name = "createAccessList")]
    async fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult>;
    /// Admits a signed transaction (EIP-2718 bytes) to the mempool; returns its hash.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    /// A finalized or pending transaction.
    #[method(name = "getTransactionByHash")]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>>;
    /// The receipt of a finalized transaction; `null` while it is pending.
    #[method(name = "getTransactionReceipt")]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    /// A finalized block by number or tag.
    #[method(name = "getBlockByNumber")]
    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<RpcBlock>>;
    /// A finalized block by hash.
    #[method(name = "getBlockByHash")]
    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>>;
    /// Number of transactions of a finalized block.
    #[method(name = "getBlockTransactionCountByNumber")]
    fn block_transaction_count_by_number(&self, number: BlockNumberOrTag)
    -> RpcResult<Option<U64>>;
    /// Number of transactions of a finalized block.
    #[method(name = "getBlockTransactionCountByHash")]
    fn block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    /// A transaction by its block and position.
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    async fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<RpcTransaction>>;
    /// A transaction by its block and position.
    #[method(name = "getTransactionByBlockHashAndIndex")]
    async fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<RpcTransaction>>;
    /// Every receipt of a finalized block.
    #[method(name = "getBlockReceipts")]
    async fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>>;
    /// Logs of finalized blocks that match a filter.
    #[method(name = "getLogs")]
    async fn logs(&self, filter: Filter) -> RpcResult<Vec<RpcLog>>;
}

/// The `eth_*` handler over a [`ChainApi`].
pub struct EthRpc<A> {
    api: Arc<A>,
    log_limits: LogLimits,
    /// What `eth_accounts` answers: a devnet's dev accounts, none on a real network.
    accounts: Vec<Address>,
}

impl<A: ChainApi> EthRpc<A> {
    pub fn new(api: Arc<A>, log_limits: LogLimits, accounts: Vec<Address>) -> Self {
        Self {
            api,
            log_limits,
            accounts,
        }
    }

    /// Runs `f` with the API on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> RpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&A) -> Result<T, EthError> + Send + 'static,
    {
        let api = self.api.clone();
        let result = tokio::task::spawn_blocking(move || f(&api))
            .await
            .map_err(join_error)?;
        Ok(result?)
    }
}

/// What geth checks of a call before running it, with geth's words (code -32000, no revert
/// data), which wallets and ethers recognise: fees the request names must be coherent (a tip
/// above the fee cap; on the latest state, a fee cap below the next block's base fee), and the
/// sender's balance must cover the call's `value`, plus `gas * price` when the request names
/// both ("insufficient funds for gas * price + value", ethers' `INSUFFICIENT_FUNDS`). A call
/// that names no price runs free, as in geth.
fn check_funds<A: ChainApi>(
    api: &A,
    request: &TransactionRequest,
    overrides: Option<&StateOverride>,
    at: StateAt,
) -> Result<(), EthError> {
    if let (Some(tip), Some(cap)) = (request.max_priority_fee_per_gas, request.max_fee_per_gas)
        && tip > cap
    {
        return Err(TxError::TipAboveFeeCap.into());
    }
    let price = request.max_fee_per_gas.or(request.gas_price);
    if let Some(fee_cap) = price.filter(|p| *p > 0)
        && at == StateAt::Head
    {
        let base_fee = api.next_base_fee();
        if fee_cap < u128::from(base_fee) {
            return Err(TxError::FeeCapTooLow { fee_cap, base_fee }.into());
        }
    }
    let fee = match (request.gas, price) {
        (Some(gas), Some(price)) => U256::from(gas).saturating_mul(U256::from(price)),
        _ => U256::ZERO,
    };
    let cost = request.value.unwrap_or_default().saturating_add(fee);
    if cost.is_zero() {
        return Ok(());
    }
    let from = request.from.unwrap_or_default();
    let overridden = overrides.and_then(|o| o.get(&from)).and_then(|o| o.balance);
    let balance = match overridden {
        Some(balance) => balance,
        None => api.account(&from, at, false)?.balance,
    };
    if balance < cost {
        return Err(TxError::InsufficientFunds { balance, cost }.into());
    }
    Ok(())
}

/// Parses call parameters; the gas is capped at the block gas limit.
pub(crate) fn call_request<A: ChainApi>(
    api: &A,
    request: TransactionRequest,
    overrides: Option<StateOverride>,
) -> Result<CallRequest, EthError> {
    let to = match request.to {
        Some(TxKind::Call(to)) => Some(to),
        Some(TxKind::Create) | None => None,
    };
    let input = request
        .input
        .try_into_unique_input()
        .map_err(|e| EthError::InvalidParams(e.to_string()))?
        .unwrap_or_default();
    let gas = request.gas.map(|gas| gas.min(api.gas_limit()));
    Ok(CallRequest {
        from: request.from,
        to,
        value: request.value,
        input,
        gas,
        access_list: request.access_list.unwrap_or_default(),
        overrides: overrides.unwrap_or_default(),
    })
}

/// The least gas limit with which `request` succeeds on the state `block` names (see the module
/// documentation); shared by `eth_estimateGas` and the devnet's `eth_sendTransaction`.
pub(crate) async fn estimate<A: ChainApi>(
    api: &Arc<A>,
    request: TransactionRequest,
    block: Option<BlockId>,
    overrides: Option<StateOverride>,
) -> Result<u64, EthError> {
    let (at, _) = state_block(&**api, block)?;
    check_funds(&**api, &request, overrides.as_ref(), at)?;
    let request = call_request(&**api, request, overrides)?;
    let api = api.clone();
    tokio::task::spawn_blocking(move || {
        let cap = request.gas.unwrap_or_else(|| api.gas_limit());
        let outcome = api.call(&request, at)?;
        if outcome.out_of_gas {
            return Err(EthError::GasAllowance(cap));
        }
        if !outcome.success {
            return Err(EthError::Reverted(outcome.output));
        }
        let succeeds = |gas: u64| -> Result<bool, EthError> {
            let trial = CallRequest {
                gas: Some(gas),
                ..request.clone()
            };
            match api.call(&trial, at) {
                Ok(outcome) => Ok(outcome.success),
                Err(EthError::Tx(TxError::IntrinsicGas { .. })) => Ok(false),
                Err(e) => Err(e),
            }
        };
        let used = outcome.gas_used.min(cap);
        if used == cap || succeeds(used)? {
            return Ok(used);
        }
        // `used` fails and `cap` succeeds: the least limit that succeeds lies above `used`.
        let (mut low, mut high) = (used, cap);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if succeeds(mid)? {
                high = mid;
            } else {
                low = mid;
            }
        }
        Ok(high)
    })
    .await
    .map_err(|e| EthError::Internal(e.to_string()))?
}

#[async_trait]
impl<A: ChainApi> EthApiServer for EthRpc<A> {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.api.chain_id()))
    }

    fn syncing(&self) -> RpcResult<bool> {
        Ok(false)
    }

    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(self.accounts.clone())
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.api.finalized_height()))
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let (at, _) = state_block(&*self.api, block)?;
        Ok(self.api.account(&address, at, false)?.balance)
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        let (at, pending) = state_block(&*self.api, block)?;
        Ok(U64::from(self.api.account(&address, at, pending)?.nonce))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let (at, _) = state_block(&*self.api, block)?;
        Ok(self.api.code(&address, at)?)
    }

    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256> {
        let (at, _) = state_block(&*self.api, block)?;
        Ok(self.api.storage(&address, &B256::from(slot), at)?)
    }

    fn gas_price(&self) -> RpcResult<U256> {
        Ok(U256::from(fees::gas_price(&*self.api)))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::from(self.api.suggested_priority_fee()))
    }

    async fn fee_history(
        &self,
        block_count: U64,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let count = block_count.saturating_to::<u64>();
        self.blocking(move |api| {
            fees::fee_history(api, count, newest_block, reward_percentiles.as_deref())
        })
        .await
    }

    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<Bytes> {
        let (at, _) = state_block(&*self.api, block)?;
        check_funds(&*self.api, &request, state_overrides.as_ref(), at)?;
        let request = call_request(&*self.api, request, state_overrides)?;
        self.blocking(move |api| {
            let outcome = api.call(&request, at)?;
            if outcome.out_of_gas {
                Err(EthError::OutOfGas)
            } else if !outcome.success {
                Err(EthError::Reverted(outcome.output))
            } else {
                Ok(outcome.output)
            }
        })
        .await
    }

    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<U64> {
        Ok(U64::from(
            estimate(&self.api, request, block, state_overrides).await?,
        ))
    }

    async fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult> {
        let (at, _) = state_block(&*self.api, block)?;
        check_funds(&*self.api, &request, None, at)?;
        let request = call_request(&*self.api, request, None)?;
        self.blocking(move |api| {
            let (access_list, outcome) = api.create_access_list(&request, at)?;
            let error = if outcome.out_of_gas {
                Some(EthError::OutOfGas.to_string())
            } else if !outcome.success {
                Some(EthError::Reverted(outcome.output).to_string())
            } else {
                None
            };
            Ok(AccessListResult {
                access_list,
                gas_used: U256::from(outcome.gas_used),
                error,
            })
        })
        .await
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        self.blocking(move |api| {
            api.submit(raw).map_err(|error| {
                tracing::debug!(%error, "transaction refused");
                EthError::Submit(error)
            })
        })
        .await
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>> {
        Ok(blocks::transaction_by_hash(&*self.api, &hash)?)
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        Ok(blocks::receipt_by_hash(&*self.api, &hash)?)
    }

    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<RpcBlock>> {
        self.blocking(move |api| {
            api.block_by_height(tag_height(api, number))
                .map(|block| blocks::rpc_block_of(api, &block, full))
                .transpose()
        })
        .await
    }

    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>> {
        self.blocking(move |api| {
            api.block_by_hash(&hash)
                .map(|block| blocks::rpc_block_of(api, &block, full))
                .transpose()
        })
        .await
    }

    fn block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> RpcResult<Option<U64>> {
        let height = tag_height(&*self.api, number);
        Ok(self
            .api
            .block_by_height(height)
            .map(|b| U64::from(b.transactions.len())))
    }

    fn block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        Ok(self
            .api
            .block_by_hash(&hash)
            .map(|b| U64::from(b.transactions.len())))
    }

    async fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<RpcTransaction>> {
        self.blocking(move |api| {
            blocks::transaction_by_block_and_index(api, BlockId::Number(number), index.into())
        })
        .await
    }

    async fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<RpcTransaction>> {
        self.blocking(move |api| {
            blocks::transaction_by_block_and_index(api, BlockId::from(hash), index.into())
        })
        .await
    }

    async fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>> {
        self.blocking(move |api| blocks::block_receipts(api, block))
            .await
    }

    async fn logs(&self, filter: Filter) -> RpcResult<Vec<RpcLog>> {
        let limits = self.log_limits;
        self.blocking(move |api| logs::get_logs(api, &filter, limits))
            .await
    }
}
