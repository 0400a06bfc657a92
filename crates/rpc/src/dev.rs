//! Signing with a devnet's dev accounts: `eth_accounts`, `eth_sendTransaction`, `eth_sign`,
//! `personal_sign` and `eth_signTypedData_v4`, as Hardhat, Foundry and browser tests expect of a
//! local chain.
//!
//! Only a node given keys in [`crate::RpcConfig::dev_accounts`] signs: `lazai devnet` passes
//! its ten public test-mnemonic accounts, `lazai node` never passes any, and then every signing
//! method answers that the node holds no keys.

use crate::api::{ChainApi, StateAt};
use crate::error::{EthError, join_error};
use crate::eth::estimate;
use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEnvelope, TxLegacy};
use alloy_dyn_abi::TypedData;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use std::sync::Arc;

/// Keys a devnet signs with; compared and printed by address only.
#[derive(Clone, Default)]
pub struct DevAccounts(pub Vec<PrivateKeySigner>);

impl DevAccounts {
    pub fn addresses(&self) -> Vec<Address> {
        self.0.iter().map(|s| s.address()).collect()
    }
}

impl PartialEq for DevAccounts {
    fn eq(&self, other: &Self) -> bool {
        self.addresses() == other.addresses()
    }
}

impl Eq for DevAccounts {}

impl std::fmt::Debug for DevAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.addresses()).finish()
    }
}

/// `eth_*` methods that sign with a dev account.
#[rpc(server, namespace = "eth")]
pub trait DevEthApi {
    /// Fills in what is missing (nonce counting the mempool, gas by estimate, fees from the next
    /// base fee), signs with the dev account `from` and submits; returns the hash.
    #[method(name = "sendTransaction")]
    async fn send_transaction(&self, request: TransactionRequest) -> RpcResult<B256>;
    /// An EIP-191 signature of `data` by the dev account `address` (65 bytes, v = 27 or 28).
    #[method(name = "sign")]
    fn sign(&self, address: Address, data: Bytes) -> RpcResult<Bytes>;
    /// An EIP-712 signature of typed data by the dev account `address`.
    #[method(name = "signTypedData_v4")]
    fn sign_typed_data_v4(&self, address: Address, data: serde_json::Value) -> RpcResult<Bytes>;
}

/// `personal_sign`: `eth_sign` with the arguments the other way round.
#[rpc(server, namespace = "personal")]
pub trait PersonalApi {
    #[method(name = "sign")]
    fn sign(&self, data: Bytes, address: Address) -> RpcResult<Bytes>;
}

/// The dev-account handler.
pub struct DevSigner<A> {
    api: Arc<A>,
    accounts: Arc<Vec<PrivateKeySigner>>,
}

impl<A: ChainApi> DevSigner<A> {
    pub fn new(api: Arc<A>, accounts: Arc<Vec<PrivateKeySigner>>) -> Self {
        Self { api, accounts }
    }

    fn signer(&self, address: &Address) -> Result<&PrivateKeySigner, EthError> {
        if self.accounts.is_empty() {
            return Err(EthError::InvalidParams(
                "this node holds no keys: sign locally and send with eth_sendRawTransaction".into(),
            ));
        }
        self.accounts
            .iter()
            .find(|s| s.address() == *address)
            .ok_or_else(|| EthError::InvalidParams(format!("unknown account {address}")))
    }

    /// The dev accounts' keys.
    pub(crate) fn accounts(&self) -> &[PrivateKeySigner] {
        &self.accounts
    }

    /// Signs `tx` with the dev account `from` and submits it; returns its hash.
    pub(crate) async fn sign_and_submit<T>(&self, from: Address, tx: T) -> Result<B256, EthError>
    where
        T: SignableTransaction<Signature>,
        TxEnvelope: From<Signed<T>>,
    {
        let signature = self
            .signer(&from)?
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| EthError::Internal(e.to_string()))?;
        let raw: Bytes = TxEnvelope::from(tx.into_signed(signature))
            .encoded_2718()
            .into();
        let api = self.api.clone();
        tokio::task::spawn_blocking(move || api.submit(raw))
            .await
            .map_err(join_error)?
            .map_err(EthError::from)
    }

    fn sign_message(&self, address: Address, data: &[u8]) -> RpcResult<Bytes> {
        let signature = self
            .signer(&address)?
            .sign_message_sync(data)
            .map_err(|e| EthError::Internal(e.to_string()))?;
        Ok(signature.as_bytes().to_vec().into())
    }
}

#[async_trait]
impl<A: ChainApi> DevEthApiServer for DevSigner<A> {
    async fn send_transaction(&self, request: TransactionRequest) -> RpcResult<B256> {
        let from = request
            .from
            .ok_or_else(|| EthError::InvalidParams("eth_sendTransaction needs a from".into()))?;
        self.signer(&from)?;
        let nonce = match request.nonce {
            Some(nonce) => nonce,
            None => self.api.account(&from, StateAt::Head, true)?.nonce,
        };
        let gas = match request.gas {
            Some(gas) => gas,
            None => estimate(&self.api, request.clone(), None, None).await?,
        };
        let to = request.to.unwrap_or(TxKind::Create);
        let input = request.input.input().cloned().unwrap_or_default();
        let value = request.value.unwrap_or_default();
        let chain_id = self.api.chain_id();
        if let Some(gas_price) = request.gas_price {
            let tx = TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit: gas,
                to,
                value,
                input,
            };
            return Ok(self.sign_and_submit(from, tx).await?);
        }
        let tip = request
            .max_priority_fee_per_gas
            .unwrap_or_else(|| self.api.suggested_priority_fee());
        let max_fee = request.max_fee_per_gas.unwrap_or_else(|| {
            u128::from(self.api.next_base_fee())
                .saturating_mul(2)
                .saturating_add(tip)
        });
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to,
            value,
            input,
            access_list: request.access_list.clone().unwrap_or_default(),
        };
        Ok(self.sign_and_submit(from, tx).await?)
    }

    fn sign(&self, address: Address, data: Bytes) -> RpcResult<Bytes> {
        self.sign_message(address, &data)
    }

    fn sign_typed_data_v4(&self, address: Address, data: serde_json::Value) -> RpcResult<Bytes> {
        // Wallets send the typed data as a JSON string or as an object.
        let data = match data {
            serde_json::Value::String(text) => serde_json::from_str(&text),
            other => serde_json::from_value(other),
        };
        let typed: TypedData =
            data.map_err(|e| EthError::InvalidParams(format!("invalid typed data: {e}")))?;
        let hash = typed
            .eip712_signing_hash()
            .map_err(|e| EthError::InvalidParams(format!("invalid typed data: {e}")))?;
        let signature = self
            .signer(&address)?
            .sign_hash_sync(&hash)
            .map_err(|e| EthError::Internal(e.to_string()))?;
        Ok(signature.as_bytes().to_vec().into())
    }
}

impl<A: ChainApi> PersonalApiServer for DevSigner<A> {
    fn sign(&self, data: Bytes, address: Address) -> RpcResult<Bytes> {
        self.sign_message(address, &data)
    }
}
