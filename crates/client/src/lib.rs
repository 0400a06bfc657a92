//! A JSON-RPC client of LazChain's native modules, shared by the `lazai` commands and the
//! verifier worker: `eth_call`s decoded with the modules' `sol!` interfaces, transactions that
//! are estimated first (a revert is reported and nothing is sent), sent, and followed to their
//! receipt, and revert data named as the module's custom error.
//!
//! # Signers
//!
//! [`resolve_signer`] takes, in this order of precedence, a hex key (`--key`), a key file
//! (`--key-file`: the hex private key, `0x` optional, surrounding whitespace ignored) or the
//! environment variable [`KEY_ENV`].

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::transport::TransportError;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Log, TransactionReceipt, TransactionRequest};
use alloy::sol_types::{Revert, SolCall, SolError, SolEvent, SolInterface, decode_revert_reason};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_abi::{IDataAnchoringToken, IDataRegistry, IIdaoRegistry, IVerifiedComputing, IVsc};
pub mod proof;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default JSON-RPC URL.
pub const DEFAULT_RPC: &str = "http://127.0.0.1:8545";
/// The environment variable holding a signer's private key.
pub const KEY_ENV: &str = "LAZAI_PRIVATE_KEY";

/// A hex secp256k1 private key (`0x` optional, surrounding whitespace ignored).
pub fn parse_key(text: &str) -> Result<PrivateKeySigner> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let bytes: B256 = t.parse().map_err(|_| anyhow!("expected 32 bytes of hex"))?;
    PrivateKeySigner::from_bytes(&bytes).map_err(|_| anyhow!("not a valid secp256k1 key"))
}

/// The signer named by `--key`, else `--key-file`, else [`KEY_ENV`]; an error naming all
/// three when none is given.
pub fn resolve_signer(key: Option<&str>, key_file: Option<&Path>) -> Result<PrivateKeySigner> {
    let (text, source) = if let Some(k) = key {
        (k.to_string(), "--key".to_string())
    } else if let Some(path) = key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read key file {}", path.display()))?;
        (text, format!("key file {}", path.display()))
    } else {
        match std::env::var(KEY_ENV) {
            Ok(k) if !k.trim().is_empty() => (k, KEY_ENV.to_string()),
            _ => bail!(
                "no signer: this command sends a transaction; pass --key HEX, --key-file FILE \
                 or set {KEY_ENV}"
            ),
        }
    };
    parse_key(&text).with_context(|| format!("invalid private key in {source}"))
}

/// Names a `sol!` custom error with its arguments: `QuotaExceeded(tokenId: 1, remaining: 5,
/// requested: 6)`, `ZeroAmount()`.
pub fn describe_error<E: std::fmt::Debug>(e: &E) -> String {
    // The sol!-generated Debug is `Variant(Variant { a: 1, b: 2 })` or `Variant(Variant)`.
    let debug = format!("{e:?}");
    let inner = debug
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(&debug);
    match inner.split_once(" {") {
        Some((name, rest)) => {
            let args = rest.trim_end_matches('}').trim();
            format!("{name}({args})")
        }
        None => format!("{}()", inner.trim()),
    }
}

/// Describes revert data: a custom error of any LazChain module (the DAT, the DataRegistry,
/// VerifiedComputing, the VSC, the iDAO registry), else `Error(string)` (and `Panic`), else
/// hex.
pub fn describe_revert(data: &[u8]) -> String {
    if let Ok(e) = IDataAnchoringToken::IDataAnchoringTokenErrors::abi_decode(data) {
        return describe_error(&e);
    }
    if let Ok(e) = IVsc::IVscErrors::abi_decode(data) {
        return describe_error(&e);
    }
    if let Ok(e) = IDataRegistry::IDataRegistryErrors::abi_decode(data) {
        return describe_error(&e);
    }
    if let Ok(e) = IVerifiedComputing::IVerifiedComputingErrors::abi_decode(data) {
        return describe_error(&e);
    }
    if let Ok(e) = IIdaoRegistry::IIdaoRegistryErrors::abi_decode(data) {
        return describe_error(&e);
    }
    if let Ok(e) = lazai_abi::ITeeRegistry::ITeeRegistryErrors::abi_decode(data) {
        return match e {
            lazai_abi::ITeeRegistry::ITeeRegistryErrors::AttestationRefused(r) => {
                format!("AttestationRefused: {}", r.reason)
            }
            other => describe_error(&other),
        };
    }
    if let Ok(r) = Revert::abi_decode(data) {
        return format!("Error({:?})", r.reason);
    }
    if data.is_empty() {
        return "no revert data".to_string();
    }
    if data.len() >= 4
        && let Some(reason) = decode_revert_reason(data)
    {
        return reason;
    }
    format!("unknown revert data {}", Bytes::copy_from_slice(data))
}

/// The name of a call's function (`mint` of `mint(uint256,…)`).
pub fn function_name<C: SolCall>() -> &'static str {
    C::SIGNATURE.split('(').next().unwrap_or(C::SIGNATURE)
}

/// The revert data of a failed `eth_call` / `eth_estimateGas`, if it reverted.
pub fn revert_data(e: &TransportError) -> Option<Bytes> {
    e.as_error_resp()?.as_revert_data()
}

/// Turns an RPC failure into an error naming the revert when there is one.
pub fn rpc_failure(e: TransportError, what: &str, rpc: &str) -> anyhow::Error {
    if let Some(data) = revert_data(&e) {
        return anyhow!("{what} reverted: {}", describe_revert(&data));
    }
    anyhow!(e).context(format!("{what} (via {rpc})"))
}

/// A connection to one node's JSON-RPC, reading or signing.
#[derive(Clone)]
pub struct Client {
    provider: DynProvider,
    rpc: String,
    from: Option<Address>,
    timeout: Duration,
    /// Held while a transaction is given its nonce and submitted, so that clones of one
    /// signing client used from several tasks never take the same nonce (the node's pending
    /// nonce counts a transaction once it is in the mempool).
    send_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Client {
    /// A client that only reads (`eth_call`s come from the zero address).
    pub fn read(rpc: &str) -> Result<Self> {
        let url = rpc
            .parse()
            .with_context(|| format!("bad RPC URL {rpc:?}"))?;
        Ok(Self {
            provider: ProviderBuilder::new().connect_http(url).erased(),
            rpc: rpc.to_string(),
            from: None,
            timeout: Duration::ZERO,
            send_lock: Arc::default(),
        })
    }

    /// A client that signs transactions with `signer` and waits up to `timeout` for each
    /// receipt.
    pub fn signing(rpc: &str, signer: PrivateKeySigner, timeout: Duration) -> Result<Self> {
        let from = signer.address();
        let url = rpc
            .parse()
            .with_context(|| format!("bad RPC URL {rpc:?}"))?;
        Ok(Self {
            provider: ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer))
                .connect_http(url)
                .erased(),
            rpc: rpc.to_string(),
            from: Some(from),
            timeout,
            send_lock: Arc::default(),
        })
    }

    /// The signer's address (zero for a reading client).
    pub fn from(&self) -> Address {
        self.from.unwrap_or_default()
    }

    /// The RPC URL.
    pub fn rpc(&self) -> &str {
        &self.rpc
    }

    /// The underlying provider, for plain Ethereum calls.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn request<C: SolCall>(&self, to: Address, call: &C) -> TransactionRequest {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(call.abi_encode());
        match self.from {
            Some(from) => tx.with_from(from),
            None => tx,
        }
    }

    /// An `eth_call` of module `to`.
    pub async fn call<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return> {
        let name = function_name::<C>();
        let out = self
            .provider
            .call(self.request(to, &call))
            .await
            .map_err(|e| rpc_failure(e, name, &self.rpc))?;
        C::abi_decode_returns(&out).with_context(|| format!("decode the answer of {name}"))
    }

    /// Sends a transaction calling module `to` with `value` wei and waits for its successful
    /// receipt; a revert (at estimation, or in the block) is an error naming it.
    pub async fn send<C: SolCall>(
        &self,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt> {
        self.send_with_headroom(to, call, value, 0).await
    }

    /// [`send`](Self::send) with `extra` gas on top of the estimate and its 20% margin: for
    /// a call that may do more work in its block than when it was estimated (the post that
    /// completes a quorum anchors the flow and mints its DATs). Unused gas is not charged.
    pub async fn send_with_headroom<C: SolCall>(
        &self,
        to: Address,
        call: C,
        value: U256,
        extra: u64,
    ) -> Result<TransactionReceipt> {
        let name = function_name::<C>();
        let mut tx = self.request(to, &call);
        if !value.is_zero() {
            tx = tx.with_value(value);
        }
        let gas = self
            .provider
            .estimate_gas(tx.clone())
            .await
            .map_err(|e| rpc_failure(e, name, &self.rpc))?;
        let gas_limit = gas.saturating_add(gas / 5).saturating_add(extra);
        let sent = tx.clone().with_gas_limit(gas_limit);
        let pending = {
            let _nonce = self.send_lock.lock().await;
            self.provider
                .send_transaction(sent)
                .await
                .map_err(|e| rpc_failure(e, name, &self.rpc))?
        };
        let hash = *pending.tx_hash();
        let receipt = self.wait_receipt(hash).await?;
        if receipt.status() {
            return Ok(receipt);
        }
        let mut reason = self.failure_reason(tx, receipt.gas_used, gas_limit).await;
        if receipt.gas_used >= gas_limit {
            reason.push_str("; the state changed since the estimate, retry");
        }
        bail!(
            "{name}: transaction {hash} reverted in block {}: {reason}",
            receipt.block_number.unwrap_or_default()
        )
    }

    /// Why a mined transaction `tx` failed: out of gas, or the revert its replay on the state
    /// after it names (a receipt carries no revert data).
    async fn failure_reason(
        &self,
        tx: TransactionRequest,
        gas_used: u64,
        gas_limit: u64,
    ) -> String {
        if gas_used >= gas_limit {
            return format!("out of gas (limit {gas_limit})");
        }
        match self.provider.call(tx).await {
            Err(e) => match revert_data(&e) {
                Some(data) => describe_revert(&data),
                None => e.to_string(),
            },
            Ok(_) => "reason unknown (the call no longer reverts when replayed)".to_string(),
        }
    }

    /// Estimates and prices a transaction calling module `to` with `value` wei without sending
    /// it: the gas limit is the estimate plus 20%, the fees are the node's current EIP-1559
    /// suggestion. A revert at estimation is an error naming it.
    pub async fn prepare<C: SolCall>(&self, to: Address, call: C, value: U256) -> Result<Prepared> {
        let name = function_name::<C>();
        let mut tx = self.request(to, &call);
        if !value.is_zero() {
            tx = tx.with_value(value);
        }
        let (gas, fees) = tokio::try_join!(
            async {
                self.provider
                    .estimate_gas(tx.clone())
                    .await
                    .map_err(|e| rpc_failure(e, name, &self.rpc))
            },
            async {
                self.provider
                    .estimate_eip1559_fees()
                    .await
                    .map_err(|e| rpc_failure(e, "fee estimation", &self.rpc))
            },
        )?;
        let gas_limit = gas.saturating_add(gas / 5);
        let tx = tx
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        Ok(Prepared {
            name,
            tx,
            gas_limit,
            max_cost: U256::from(gas_limit)
                .saturating_mul(U256::from(fees.max_fee_per_gas))
                .saturating_add(value),
        })
    }

    /// Sends a [`Prepared`] transaction and waits for its successful receipt, saying on
    /// failure whether anything may have reached the chain.
    pub async fn send_prepared(
        &self,
        prepared: Prepared,
    ) -> std::result::Result<TransactionReceipt, SendFailure> {
        let Prepared {
            name,
            tx,
            gas_limit,
            ..
        } = prepared;
        let pending = {
            let _nonce = self.send_lock.lock().await;
            self.provider
                .send_transaction(tx.clone())
                .await
                .map_err(|e| SendFailure::NotSent(rpc_failure(e, name, &self.rpc)))?
        };
        let hash = *pending.tx_hash();
        let receipt = self
            .wait_receipt(hash)
            .await
            .map_err(SendFailure::Unknown)?;
        if receipt.status() {
            return Ok(receipt);
        }
        let reason = self.failure_reason(tx, receipt.gas_used, gas_limit).await;
        Err(SendFailure::Reverted(anyhow!(
            "{name}: transaction {hash} reverted in block {}: {reason}",
            receipt.block_number.unwrap_or_default()
        )))
    }

    /// Polls for a transaction's receipt until the client's timeout.
    /// Polls often for the first second, when most receipts of a node with sub-second blocks
    /// arrive, then every 100 ms.
    pub async fn wait_receipt(&self, hash: B256) -> Result<TransactionReceipt> {
        let sent = Instant::now();
        let deadline = sent + self.timeout;
        let mut last_error = None;
        loop {
            match self.provider.get_transaction_receipt(hash).await {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => last_error = Some(e),
            }
            if Instant::now() >= deadline {
                let why = last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default();
                bail!(
                    "transaction {hash} sent, but no receipt within {} s{why}; it may still be \
                     included",
                    self.timeout.as_secs()
                );
            }
            let pause = if sent.elapsed() < Duration::from_secs(1) {
                Duration::from_millis(25)
            } else {
                Duration::from_millis(100)
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// A transaction estimated and priced by [`Client::prepare`], not sent yet.
#[derive(Clone, Debug)]
pub struct Prepared {
    name: &'static str,
    tx: TransactionRequest,
    /// Its gas limit: the estimate plus 20%.
    pub gas_limit: u64,
    /// The most it may cost its sender: `gas_limit × maxFeePerGas + value`. The node refuses
    /// it from an account holding less.
    pub max_cost: U256,
}

impl Prepared {
    /// The same transaction (gas limit, fees, value, module) with another call of `C`: for a
    /// call whose arguments are known only later, priced from one of the same size that does
    /// the same work.
    pub fn with_call<C: SolCall>(mut self, call: C) -> Self {
        self.tx = self.tx.with_input(call.abi_encode());
        self
    }
}

/// Why [`Client::send_prepared`] gave no successful receipt.
#[derive(Debug)]
pub enum SendFailure {
    /// The node did not take the transaction: nothing reached the chain.
    NotSent(anyhow::Error),
    /// It was included and reverted: it changed nothing but the sender's nonce and fee.
    Reverted(anyhow::Error),
    /// It was sent, but no receipt came within the timeout: it may still be included.
    Unknown(anyhow::Error),
}

impl SendFailure {
    /// Whether the transaction certainly changed no module state.
    pub fn changed_nothing(&self) -> bool {
        !matches!(self, SendFailure::Unknown(_))
    }
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::NotSent(e) | SendFailure::Reverted(e) | SendFailure::Unknown(e) => {
                write!(f, "{e:#}")
            }
        }
    }
}

impl std::error::Error for SendFailure {}

/// Every event `E` that module `module` emitted in a receipt, in order.
pub fn events<E: SolEvent>(receipt: &TransactionReceipt, module: Address) -> Vec<E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.address() == module)
        .filter_map(|l| l.log_decode::<E>().ok())
        .map(|l| l.inner.data)
        .collect()
}

/// The first event `E` that module `module` emitted in a receipt.
pub fn event<E: SolEvent>(receipt: &TransactionReceipt, module: Address) -> Result<E> {
    events::<E>(receipt, module)
        .into_iter()
        .next()
        .ok_or_else(|| {
            anyhow!(
                "the receipt of {} has no {} event",
                receipt.transaction_hash,
                E::SIGNATURE
            )
        })
}

/// Decodes a log as event `E` if it is one.
pub fn decode_log<E: SolEvent>(log: &Log) -> Option<E> {
    log.log_decode::<E>().ok().map(|l| l.inner.data)
}
