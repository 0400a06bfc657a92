//! Transaction and block execution: the pure `apply(state, tx, block) -> receipt` core.
//!
//! Fee rule (exact integers): a transaction pays `gas_used * effective_gas_price`, where
//! `effective_gas_price = min(max_fee, base_fee + max_priority_fee)`. Of that, `gas_used *
//! base_fee` is burned (added to the state's `burned` counter, never to any balance) and
//! `gas_used * (effective_gas_price - base_fee)` goes to the block's proposer. The sender is
//! debited `gas_limit * effective_gas_price` up front and refunded the unused part, so no
//! division is involved and nothing is rounded.

use crate::env::BlockEnv;
use crate::error::{BlockError, TxError};
use crate::evm;
use crate::gas;
use crate::kernel::{Call, ModuleError};
use crate::modules::Modules;
use crate::modules::idao::staking;
use crate::state::{Changes, State};
use crate::tx::RecoveredTx;
use alloy_primitives::{Address, B256, Bloom, Bytes, Log, U256};
use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
use lazai_types::{Genesis, Receipt, StakingParams, logs_bloom};
use std::sync::Arc;

/// A block executed on a parent state.
#[derive(Clone, Debug)]
pub struct ExecutedBlock {
    pub state: State,
    pub changes: Changes,
    pub receipts: Vec<Receipt>,
    pub transactions: Vec<Arc<RecoveredTx>>,
    pub gas_used: u64,
    pub logs_bloom: Bloom,
    pub state_root: B256,
    pub receipts_root: B256,
}

/// The ledger: chain id, staking parameters and the native modules. Pure; cheap to clone.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub chain_id: u64,
    pub modules: Modules,
    /// The validator-election parameters (genesis `staking`), applied at block level.
    pub staking: StakingParams,
}

/// How a native-path call ended.
pub(crate) struct Dispatch {
    pub(crate) success: bool,
    pub(crate) output: Bytes,
    pub(crate) gas_used: u64,
    pub(crate) logs: Vec<Log>,
    pub(crate) out_of_gas: bool,
}

impl Ledger {
    /// A ledger with default staking parameters.
    pub fn new(chain_id: u64) -> Self {
        Self::with_staking(chain_id, StakingParams::default())
    }

    /// A ledger with the given staking parameters (used by the registry module and by the
    /// block-level epoch and evidence rules).
    pub fn with_staking(chain_id: u64, staking: StakingParams) -> Self {
        Self::with_config(chain_id, staking, Address::ZERO)
    }

    /// A ledger with the given staking parameters and governance address (who administers
    /// module parameters: nodes, fees, pausing).
    pub fn with_config(chain_id: u64, staking: StakingParams, governance: Address) -> Self {
        Self {
            chain_id,
            modules: Modules::standard_with(staking.clone(), governance),
            staking,
        }
    }

    /// The ledger a genesis document describes.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self::with_config(
            genesis.chain_id,
            genesis.staking.clone(),
            genesis.governance,
        )
    }

    /// Checks everything about a transaction that does not depend on its sender's account:
    /// chain id, recipient, intrinsic gas, gas limit against the gas left, fee cap against the
    /// base fee. Returns its intrinsic gas.
    pub fn validate_stateless(
        &self,
        env: &BlockEnv,
        tx: &RecoveredTx,
        gas_left: u64,
    ) -> Result<u64, TxError> {
        if tx.chain_id() != Some(self.chain_id) {
            return Err(match tx.chain_id() {
                None => TxError::MissingChainId,
                Some(got) => TxError::WrongChainId {
                    expected: self.chain_id,
                    got,
                },
            });
        }
        let intrinsic = match tx.to() {
            Some(to) if self.modules.get(&to).is_some() => gas::check_intrinsic(&tx.envelope)?,
            to => {
                if to.is_none() && tx.input().len() > evm::MAX_INITCODE_SIZE {
                    return Err(TxError::InitcodeTooLarge {
                        max: evm::MAX_INITCODE_SIZE,
                    });
                }
                use alloy_consensus::Transaction;
                let want = evm::intrinsic_gas(tx.input(), to.is_none(), tx.envelope.access_list());
                if tx.gas_limit() < want {
                    return Err(TxError::IntrinsicGas {
                        have: tx.gas_limit(),
                        want,
                    });
                }
                want
            }
        };
        if tx.gas_limit() > gas_left {
            return Err(TxError::GasLimitExceeded {
                gas: tx.gas_limit(),
                left: gas_left,
            });
        }
        if tx.effective_gas_price(env.base_fee).is_none() {
            return Err(TxError::FeeCapTooLow {
                fee_cap: tx.max_fee_per_gas(),
                base_fee: env.base_fee,
            });
        }
        Ok(intrinsic)
    }

    /// The most a transaction can cost its sender: `gas_limit * max_fee_per_gas + value`.
    pub fn max_cost(tx: &RecoveredTx) -> U256 {
        U256::from(tx.gas_limit())
            .saturating_mul(U256::from(tx.max_fee_per_gas()))
            .saturating_add(tx.value())
    }

    /// Checks a transaction against a state and block without changing anything. Returns its
    /// intrinsic gas.
    pub fn validate(
        &self,
        state: &State,
        env: &BlockEnv,
        tx: &RecoveredTx,
        gas_left: u64,
    ) -> Result<u64, TxError> {
        let intrinsic = self.validate_stateless(env, tx, gas_left)?;
        let account = state.account(&tx.sender);
        if tx.nonce() < account.nonce {
            return Err(TxError::NonceTooLow {
                expected: account.nonce,
                got: tx.nonce(),
            });
        }
        if tx.nonce() > account.nonce {
            return Err(TxError::NonceTooHigh {
                expected: account.nonce,
                got: tx.nonce(),
            });
        }
        let cost = Self::max_cost(tx);
        if account.balance < cost {
            return Err(TxError::InsufficientFunds {
                balance: account.balance,
                cost,
            });
        }
        Ok(intrinsic)
    }

    /// Applies one transaction. On `Err` the state is unchanged and the transaction cannot be
    /// included; on `Ok` the nonce is bumped and fees are charged whether or not the call
    /// succeeded (see the receipt's `success`).
    pub fn apply(
        &self,
        state: &mut State,
        env: &BlockEnv,
        tx: &RecoveredTx,
        cumulative_gas: u64,
    ) -> Result<Receipt, TxError> {
        let gas_left = env.gas_limit.saturating_sub(cumulative_gas);
        let intrinsic = self.validate(state, env, tx, gas_left)?;
        let price = tx
            .effective_gas_price(env.base_fee)
            .ok_or(TxError::FeeCapTooLow {
                fee_cap: tx.max_fee_per_gas(),
                base_fee: env.base_fee,
            })?;
        let price_u = U256::from(price);

        if evm::runs_in_evm(state, &self.modules, tx.to(), tx.input()) {
            let outcome = evm::transact(
                state,
                &self.modules,
                env,
                evm::EvmTx::from_signed(tx),
                evm::Mode::Transaction,
            )?;
            return Ok(Receipt {
                tx_type: tx.tx_type(),
                success: outcome.success,
                gas_used: outcome.gas_used,
                cumulative_gas_used: cumulative_gas + outcome.gas_used,
                effective_gas_price: price,
                logs: outcome.logs,
                output: outcome.output,
                from: tx.sender,
                to: tx.to().unwrap_or_default(),
                tx_hash: tx.hash,
                contract_address: tx.to().is_none().then(|| tx.sender.create(tx.nonce())),
            });
        }

        // Up-front charge for the whole gas limit, and the nonce bump; neither is undone by a
        // revert.
        let mut sender = state.account(&tx.sender);
        sender.nonce += 1;
        sender.balance -= U256::from(tx.gas_limit()) * price_u;
        state.set_account(&tx.sender, sender);

        let to = tx.to().expect("a creation runs in the EVM");
        let call_gas = tx.gas_limit() - intrinsic;
        let mut scratch = state.clone();
        let outcome = self.dispatch(
            &mut scratch,
            env,
            tx.sender,
            to,
            tx.value(),
            tx.input(),
            call_gas,
            price,
            &evm::ReplacedStorage::new(),
        );
        if outcome.success {
            *state = scratch;
        }
        let gas_used = intrinsic + outcome.gas_used;

        // Refund the unused gas, pay the tip to the proposer, burn the base fee.
        let refund = U256::from(tx.gas_limit() - gas_used) * price_u;
        let mut sender = state.account(&tx.sender);
        sender.balance += refund;
        state.set_account(&tx.sender, sender);
        let tip = U256::from(gas_used) * U256::from(price - u128::from(env.base_fee));
        if !tip.is_zero() {
            let mut proposer = state.account(&env.proposer);
            proposer.balance += tip;
            state.set_account(&env.proposer, proposer);
        }
        state.add_burned(U256::from(gas_used) * U256::from(env.base_fee));

        Ok(Receipt {
            tx_type: tx.tx_type(),
            success: outcome.success,
            gas_used,
            cumulative_gas_used: cumulative_gas + gas_used,
            effective_gas_price: price,
            logs: if outcome.success {
                outcome.logs
            } else {
                Vec::new()
            },
            output: outcome.output,
            from: tx.sender,
            to,
            tx_hash: tx.hash,
            contract_address: None,
        })
    }

    /// Moves `value` to `to` and runs the module there, if any. Never fails the transaction:
    /// failures are reverts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dispatch(
        &self,
        state: &mut State,
        env: &BlockEnv,
        from: Address,
        to: Address,
        value: U256,
        input: &Bytes,
        gas_limit: u64,
        gas_price: u128,
        replaced: &evm::ReplacedStorage,
    ) -> Dispatch {
        let module = self.modules.get(&to);
        let mut meter = gas::GasMeter::new(gas_limit);
        if !value.is_zero() {
            if module.is_some() && meter.charge(gas::CALL_VALUE).is_err() {
                return Dispatch {
                    success: false,
                    output: Bytes::new(),
                    gas_used: gas_limit,
                    logs: vec![],
                    out_of_gas: true,
                };
            }
            let mut sender = state.account(&from);
            if sender.balance < value {
                let err = crate::kernel::revert_msg("insufficient balance for transfer");
                let ModuleError::Revert(output) = err else {
                    unreachable!("revert_msg reverts")
                };
                return Dispatch {
                    success: false,
                    output,
                    gas_used: meter.used(),
                    logs: vec![],
                    out_of_gas: false,
                };
            }
            sender.balance -= value;
            state.set_account(&from, sender);
            let mut recipient = state.account(&to);
            recipient.balance += value;
            state.set_account(&to, recipient);
        }
        let Some(module) = module else {
            // A plain transfer. Calldata to a non-module was refused by `validate`.
            return Dispatch {
                success: true,
                output: Bytes::new(),
                gas_used: meter.used(),
                logs: vec![],
                out_of_gas: false,
            };
        };
        let already = meter.used();
        let mut host = evm::NativeHost {
            state,
            modules: &self.modules,
            env,
            replaced,
            origin: from,
            gas_price,
        };
        let mut call = Call::new(to, from, value, env, &mut host, gas_limit - already);
        let result = call
            .charge(gas::MODULE_CALL)
            .and_then(|_| module.call(&mut call, input));
        let gas_used = already + call.gas_used();
        match result {
            Ok(output) => Dispatch {
                success: true,
                output: output.into(),
                gas_used,
                logs: call.into_logs(),
                out_of_gas: false,
            },
            Err(ModuleError::Revert(output)) => Dispatch {
                success: false,
                output,
                gas_used,
                logs: vec![],
                out_of_gas: false,
            },
            Err(ModuleError::OutOfGas) => Dispatch {
                success: false,
                output: Bytes::new(),
                gas_used: gas_limit,
                logs: vec![],
                out_of_gas: true,
            },
        }
    }

    /// Executes a proposed block: its evidence, its transactions in order, then (at an epoch's
    /// last block) the next epoch's election. Any invalid transaction makes the whole block
    /// invalid.
    pub fn execute_block(
        &self,
        parent: &State,
        env: &BlockEnv,
        txs: Vec<Arc<RecoveredTx>>,
    ) -> Result<ExecutedBlock, BlockError> {
        let mut state = self.begin_block(parent, env, true);
        let mut receipts = Vec::with_capacity(txs.len());
        let mut cumulative = 0u64;
        for (index, tx) in txs.iter().enumerate() {
            let receipt = self
                .apply(&mut state, env, tx, cumulative)
                .map_err(|error| BlockError::InvalidTx {
                    index,
                    hash: tx.hash,
                    error,
                })?;
            cumulative = receipt.cumulative_gas_used;
            receipts.push(receipt);
            state.fold_ahead();
        }
        staking::end_block(&mut state, env, &self.staking);
        Ok(Self::seal(state, receipts, txs, cumulative))
    }

    /// Builds a block from candidate transactions (in the order given), skipping those that are
    /// invalid against the evolving state. Returns the block and the skipped ones with reasons.
    /// Evidence and the epoch election are applied exactly as [`Ledger::execute_block`] does.
    pub fn build_block(
        &self,
        parent: &State,
        env: &BlockEnv,
        candidates: impl IntoIterator<Item = Arc<RecoveredTx>>,
    ) -> (ExecutedBlock, Vec<(Arc<RecoveredTx>, TxError)>) {
        let mut state = self.begin_block(parent, env, true);
        let mut receipts = Vec::new();
        let mut included = Vec::new();
        let mut skipped = Vec::new();
        let mut cumulative = 0u64;
        for tx in candidates {
            if env.gas_limit - cumulative < gas::TX_BASE {
                break;
            }
            match self.apply(&mut state, env, &tx, cumulative) {
                Ok(receipt) => {
                    cumulative = receipt.cumulative_gas_used;
                    receipts.push(receipt);
                    included.push(tx);
                    state.fold_ahead();
                }
                Err(e) => skipped.push((tx, e)),
            }
        }
        staking::end_block(&mut state, env, &self.staking);
        (Self::seal(state, receipts, included, cumulative), skipped)
    }

    /// The state a block's transactions start from: its parent's, after the block-level start
    /// (evidence and slashing, the parent's hash for `BLOCKHASH`). `prefetch` turns the source's
    /// write hints on (execution and building, not tracing).
    fn begin_block(&self, parent: &State, env: &BlockEnv, prefetch: bool) -> State {
        let mut state = parent.clone();
        let _ = state.take_changes();
        state.prefetch_writes(prefetch);
        staking::begin_block(&mut state, env, &self.staking);
        Self::record_parent_hash(&mut state, env);
        state
    }

    /// The state right before transaction `index` of a block (environment `env`, transactions
    /// `txs`) on `parent`, and the gas the transactions before it used.
    pub fn state_before(
        &self,
        parent: &State,
        env: &BlockEnv,
        txs: &[Arc<RecoveredTx>],
        index: usize,
    ) -> Result<(State, u64), BlockError> {
        let mut state = self.begin_block(parent, env, false);
        let mut cumulative = 0u64;
        for (i, tx) in txs.iter().enumerate().take(index) {
            let receipt = self
                .apply(&mut state, env, tx, cumulative)
                .map_err(|error| BlockError::InvalidTx {
                    index: i,
                    hash: tx.hash,
                    error,
                })?;
            cumulative = receipt.cumulative_gas_used;
        }
        Ok((state, cumulative))
    }

    /// Applies `tx` as [`Ledger::apply`] does and traces it with the tracer `opts` names
    /// (`debug_traceTransaction`).
    pub fn trace_transaction(
        &self,
        state: &mut State,
        env: &BlockEnv,
        tx: &RecoveredTx,
        cumulative_gas: u64,
        opts: &GethDebugTracingOptions,
    ) -> Result<GethTrace, evm::TraceError> {
        if evm::runs_in_evm(state, &self.modules, tx.to(), tx.input()) {
            self.validate(state, env, tx, env.gas_limit.saturating_sub(cumulative_gas))?;
            let tx = evm::EvmTx::from_signed(tx);
            return evm::trace(state, &self.modules, env, tx, evm::Mode::Transaction, opts)
                .map(|(_, trace)| trace);
        }
        let receipt = self.apply(state, env, tx, cumulative_gas)?;
        evm::native_trace(
            opts,
            tx.sender,
            receipt.to,
            tx.value(),
            tx.input().clone(),
            tx.gas_limit(),
            receipt.success,
            receipt.gas_used,
            receipt.output,
            &receipt.logs,
        )
    }

    /// Keeps the parent's hash for the EVM's `BLOCKHASH`.
    fn record_parent_hash(state: &mut State, env: &BlockEnv) {
        if let Some(parent) = env.height.checked_sub(1) {
            state.record_block_hash(parent, env.parent_hash);
        }
    }

    fn seal(
        mut state: State,
        receipts: Vec<Receipt>,
        transactions: Vec<Arc<RecoveredTx>>,
        gas_used: u64,
    ) -> ExecutedBlock {
        // Folded with the hints still on, so the source drops the ones not acted on yet.
        let state_root = state.commit_root();
        state.prefetch_writes(false);
        let changes = state.take_changes();
        let encoded: Vec<Vec<u8>> = receipts.iter().map(|r| r.consensus_encoding()).collect();
        let receipts_root = alloy_trie::root::ordered_trie_root_with_encoder(&encoded, |r, buf| {
            buf.extend_from_slice(r)
        });
        let logs_bloom = logs_bloom(receipts.iter().flat_map(|r| r.logs.iter()));
        ExecutedBlock {
            state,
            changes,
            receipts,
            transactions,
            gas_used,
            logs_bloom,
            state_root,
            receipts_root,
        }
    }
}
