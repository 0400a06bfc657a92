//! The devnet controls Hardhat and Foundry test suites call, where they can be honest on a chain
//! with BFT finality:
//!
//! - `evm_mine` / `hardhat_mine` / `anvil_mine` make blocks (on a devnet started with
//!   `--block-time 0`, which makes blocks only on demand) or wait for the next ones, and return
//!   once they are final.
//! - `evm_increaseTime` and `evm_setNextBlockTimestamp` move the devnet's clock, which every
//!   in-process validator reads, so the next block carries the moved time.
//! - `hardhat_setBalance` / `anvil_setBalance` change a balance the only way LazChain changes
//!   one, with a signed transfer: a raise comes from the richest other dev account, a lowering
//!   (dev accounts only) goes to another dev account; they return once the transfer is final.
//! - What would rewrite history or act without a key (`evm_snapshot`, `evm_revert`, resets,
//!   impersonation, writing code, storage or nonces) is refused with the reason and the nearest
//!   honest alternative.
//!
//! A node without [`crate::RpcConfig::dev_controls`] (every `lazai node`) answers each of these
//! that it is a devnet-only method.

use crate::api::{ChainApi, StateAt};
use crate::dev::DevSigner;
use crate::error::EthError;
use alloy_consensus::TxLegacy;
use alloy_primitives::{Address, B256, TxKind, U256};
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use lazai_types::DevControls;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Most blocks one `hardhat_mine` / `anvil_mine` call makes.
pub const MAX_MINE: u64 = 1024;
/// How long a control waits for its block or transfer to be final.
const FINAL_WAIT: Duration = Duration::from_secs(60);
/// How often an on-demand request is repeated while its block has not come (a request taken by
/// a proposal that was then skipped is lost).
const REQUEST_AGAIN: Duration = Duration::from_secs(2);
/// Gas of the transfer a balance setter sends.
const TRANSFER_GAS: u64 = 21_000;

/// Devnet controls (no namespace: the methods are named as Hardhat and anvil name them).
#[rpc(server)]
pub trait DevControlApi {
    /// Makes one block (an exact timestamp in seconds may be given) and returns once it is
    /// final; `"0x0"` as Hardhat answers.
    #[method(name = "evm_mine")]
    async fn evm_mine(&self, timestamp: Option<Value>) -> RpcResult<String>;
    /// Makes `count` blocks (default 1, at most 1,024), moving the clock `interval` seconds
    /// between them.
    #[method(name = "hardhat_mine")]
    async fn hardhat_mine(&self, count: Option<Value>, interval: Option<Value>) -> RpcResult<bool>;
    #[method(name = "anvil_mine")]
    async fn anvil_mine(&self, count: Option<Value>, interval: Option<Value>) -> RpcResult<()>;
    /// Moves the devnet's clock forward; returns the whole offset in seconds.
    #[method(name = "evm_increaseTime")]
    fn evm_increase_time(&self, seconds: Value) -> RpcResult<i64>;
    /// Makes the next block's timestamp exactly `timestamp` (seconds, after the latest block's).
    #[method(name = "evm_setNextBlockTimestamp")]
    fn evm_set_next_block_timestamp(&self, timestamp: Value) -> RpcResult<()>;
    /// Sets a balance with a transfer from or to the dev accounts; true once it is final.
    #[method(name = "hardhat_setBalance")]
    async fn hardhat_set_balance(&self, address: Address, balance: U256) -> RpcResult<bool>;
    #[method(name = "anvil_setBalance")]
    async fn anvil_set_balance(&self, address: Address, balance: U256) -> RpcResult<()>;
    #[method(name = "evm_snapshot")]
    fn evm_snapshot(&self) -> RpcResult<()>;
    #[method(name = "evm_revert")]
    fn evm_revert(&self, id: Option<Value>) -> RpcResult<()>;
    #[method(name = "hardhat_reset", aliases = ["anvil_reset"])]
    fn reset(&self, options: Option<Value>) -> RpcResult<()>;
    #[method(name = "hardhat_impersonateAccount", aliases = ["anvil_impersonateAccount"])]
    fn impersonate(&self, address: Address) -> RpcResult<()>;
    #[method(
        name = "hardhat_setCode",
        aliases = ["anvil_setCode", "hardhat_setStorageAt", "anvil_setStorageAt", "hardhat_setNonce", "anvil_setNonce"]
    )]
    fn set_state(&self, address: Address, a: Option<Value>, b: Option<Value>) -> RpcResult<()>;
}

/// The devnet-control handler.
pub struct DevControl<A> {
    api: Arc<A>,
    controls: Option<DevControls>,
    signer: DevSigner<A>,
}

impl<A: ChainApi> DevControl<A> {
    pub fn new(api: Arc<A>, controls: Option<DevControls>, signer: DevSigner<A>) -> Self {
        Self {
            api,
            controls,
            signer,
        }
    }

    fn controls(&self) -> Result<&DevControls, EthError> {
        self.controls.as_ref().ok_or_else(|| {
            EthError::InvalidParams(
                "devnet controls are only served by `lazai devnet` (started in one process)".into(),
            )
        })
    }

    /// Makes (on demand) or waits for one more final block.
    async fn mine_one(&self) -> Result<(), EthError> {
        let controls = self.controls()?.clone();
        let target = self.api.finalized_height() + 1;
        let start = tokio::time::Instant::now();
        loop {
            if controls.on_demand() {
                controls.request_block();
            }
            let deadline = tokio::time::Instant::now() + REQUEST_AGAIN;
            while tokio::time::Instant::now() < deadline {
                if self.api.finalized_height() >= target {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if start.elapsed() > FINAL_WAIT {
                return Err(EthError::Internal(format!(
                    "no block was finalized within {}s",
                    FINAL_WAIT.as_secs()
                )));
            }
        }
    }

    async fn mine(&self, count: Option<Value>, interval: Option<Value>) -> Result<(), EthError> {
        let controls = self.controls()?.clone();
        let count = count.as_ref().map(quantity).transpose()?.unwrap_or(1);
        let interval = interval.as_ref().map(quantity).transpose()?.unwrap_or(0);
        if count > MAX_MINE {
            return Err(EthError::InvalidParams(format!(
                "at most {MAX_MINE} blocks per call, asked for {count}"
            )));
        }
        for i in 0..count {
            if i > 0 && interval > 0 {
                controls.increase_time(interval);
            }
            self.mine_one().await?;
        }
        Ok(())
    }

    /// The latest final block's timestamp, in milliseconds.
    fn latest_timestamp_ms(&self) -> u64 {
        self.api
            .header_by_height(self.api.finalized_height())
            .map(|h| h.timestamp_ms)
            .unwrap_or_default()
    }

    fn set_next_timestamp(&self, seconds: u64) -> Result<(), EthError> {
        let controls = self.controls()?;
        let latest = self.latest_timestamp_ms();
        let ms = seconds.saturating_mul(1000);
        if ms <= latest {
            return Err(EthError::InvalidParams(format!(
                "timestamp {seconds} is lower than or equal to the latest block's ({})",
                latest / 1000
            )));
        }
        controls.set_next_timestamp(ms);
        Ok(())
    }

    async fn set_balance(&self, address: Address, want: U256) -> Result<(), EthError> {
        self.controls()?;
        let accounts = self.signer.accounts();
        let balance = |a: &Address| -> Result<U256, EthError> {
            Ok(self.api.account(a, StateAt::Head, false)?.balance)
        };
        let have = balance(&address)?;
        if have == want {
            return Ok(());
        }
        // A legacy transaction's price is what it pays per gas whatever the base fee, so the
        // fee is known exactly when the transfer is signed.
        let price = u128::from(self.api.next_base_fee())
            .saturating_mul(2)
            .max(1_000_000_000);
        let fee = U256::from(TRANSFER_GAS) * U256::from(price);
        let (from, to, value) = if want > have {
            let need = want - have;
            let mut richest: Option<(Address, U256)> = None;
            for signer in accounts.iter().filter(|s| s.address() != address) {
                let b = balance(&signer.address())?;
                if richest.is_none_or(|(_, r)| b > r) {
                    richest = Some((signer.address(), b));
                }
            }
            match richest {
                Some((source, b)) if b >= need.saturating_add(fee) => (source, address, need),
                _ => {
                    return Err(EthError::InvalidParams(format!(
                        "no dev account holds the {need} wei (plus the transfer's fee) to raise {address}'s balance"
                    )));
                }
            }
        } else {
            if !accounts.iter().any(|s| s.address() == address) {
                return Err(EthError::InvalidParams(format!(
                    "cannot lower the balance of {address}: on LazChain every balance change is a signed transaction, and this devnet holds keys only for its dev accounts"
                )));
            }
            let drop = have - want;
            if drop < fee {
                return Err(EthError::InvalidParams(format!(
                    "cannot lower {address}'s balance by {drop} wei: the transfer that lowers it costs {fee} wei in fees"
                )));
            }
            let sink = accounts
                .iter()
                .map(|s| s.address())
                .find(|a| *a != address)
                .ok_or_else(|| EthError::InvalidParams("no other dev account to send to".into()))?;
            (address, sink, drop - fee)
        };
        let nonce = self.api.account(&from, StateAt::Head, true)?.nonce;
        let tx = TxLegacy {
            chain_id: Some(self.api.chain_id()),
            nonce,
            gas_price: price,
            gas_limit: TRANSFER_GAS,
            to: TxKind::Call(to),
            value,
            input: Default::default(),
        };
        let hash = self.signer.sign_and_submit(from, tx).await?;
        self.wait_final(hash).await
    }

    /// Waits until `hash` is in a final block (asking for blocks on an on-demand devnet) and
    /// fails with its revert reason if it failed.
    async fn wait_final(&self, hash: B256) -> Result<(), EthError> {
        let start = tokio::time::Instant::now();
        loop {
            if let Some(location) = self.api.transaction(&hash).and_then(|t| t.location) {
                let receipts = self.api.receipts(location.height).unwrap_or_default();
                return match receipts.get(location.index as usize) {
                    Some(r) if r.success => Ok(()),
                    Some(r) => Err(EthError::Reverted(r.output.clone())),
                    None => Err(EthError::Internal(format!("no receipt for {hash}"))),
                };
            }
            if start.elapsed() > FINAL_WAIT {
                return Err(EthError::Internal(format!(
                    "transfer {hash} was not final within {}s",
                    FINAL_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A quantity as a JSON number or a hex or decimal string.
fn quantity(v: &Value) -> Result<u64, EthError> {
    let bad = || EthError::InvalidParams(format!("not a quantity: {v}"));
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad()),
            None => s.parse().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

fn refused(method: &str, why: &str) -> RpcResult<()> {
    Err(EthError::Unsupported(format!("{method} is not available on LazChain: {why}")).into())
}

const FINAL: &str = "blocks are final once the validators commit them (BFT finality), so the chain cannot be rolled back";

#[async_trait]
impl<A: ChainApi> DevControlApiServer for DevControl<A> {
    async fn evm_mine(&self, timestamp: Option<Value>) -> RpcResult<String> {
        if let Some(ts) = timestamp.as_ref().filter(|v| !v.is_null()) {
            self.set_next_timestamp(quantity(ts)?)?;
        }
        self.mine_one().await?;
        Ok("0x0".into())
    }

    async fn hardhat_mine(&self, count: Option<Value>, interval: Option<Value>) -> RpcResult<bool> {
        self.mine(count, interval).await?;
        Ok(true)
    }

    async fn anvil_mine(&self, count: Option<Value>, interval: Option<Value>) -> RpcResult<()> {
        Ok(self.mine(count, interval).await?)
    }

    fn evm_increase_time(&self, seconds: Value) -> RpcResult<i64> {
        let seconds = quantity(&seconds)?;
        Ok(self.controls()?.increase_time(seconds))
    }

    fn evm_set_next_block_timestamp(&self, timestamp: Value) -> RpcResult<()> {
        Ok(self.set_next_timestamp(quantity(&timestamp)?)?)
    }

    async fn hardhat_set_balance(&self, address: Address, balance: U256) -> RpcResult<bool> {
        self.set_balance(address, balance).await?;
        Ok(true)
    }

    async fn anvil_set_balance(&self, address: Address, balance: U256) -> RpcResult<()> {
        Ok(self.set_balance(address, balance).await?)
    }

    fn evm_snapshot(&self) -> RpcResult<()> {
        refused(
            "evm_snapshot",
            &format!(
                "{FINAL}. Start a fresh `lazai devnet` (a new --data-dir) per test run, or try changes without committing them with eth_call and state overrides"
            ),
        )
    }

    fn evm_revert(&self, _id: Option<Value>) -> RpcResult<()> {
        refused(
            "evm_revert",
            &format!("{FINAL}. Start a fresh `lazai devnet` (a new --data-dir) instead"),
        )
    }

    fn reset(&self, _options: Option<Value>) -> RpcResult<()> {
        refused(
            "resetting the chain",
            &format!(
                "{FINAL}, and forking another chain is not supported. Start a fresh `lazai devnet` instead"
            ),
        )
    }

    fn impersonate(&self, address: Address) -> RpcResult<()> {
        refused(
            "impersonating an account",
            &format!(
                "every transaction is signed and {address}'s key is not here. The ten dev accounts sign through eth_sendTransaction"
            ),
        )
    }

    fn set_state(&self, _address: Address, _a: Option<Value>, _b: Option<Value>) -> RpcResult<()> {
        refused(
            "writing an account's code, storage or nonce",
            "state changes only through transactions. Deploy the code, or try it without deploying with eth_call and state overrides (`code`, `stateDiff`, `nonce`)",
        )
    }
}
