//! A client of the DAT module: reads and sends at [`DAT_ADDRESS`], its events.

use crate::kit::args::TxArgs;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{Address, U256};
use anyhow::Result;
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use lazai_client::{Client as ModuleClient, resolve_signer};
use std::time::Duration;

/// A client of the DAT module.
pub(super) struct Client(ModuleClient);

impl Client {
    pub(super) fn read(rpc: &str) -> Result<Self> {
        Ok(Self(ModuleClient::read(rpc)?))
    }

    pub(super) fn signing(args: &TxArgs) -> Result<Self> {
        let signer = resolve_signer(args.key.as_deref(), args.key_file.as_deref())?;
        Ok(Self(ModuleClient::signing(
            &args.rpc,
            signer,
            Duration::from_secs(args.timeout),
        )?))
    }

    pub(super) fn from(&self) -> Address {
        self.0.from()
    }

    pub(super) async fn call<C: SolCall>(&self, call: C) -> Result<C::Return> {
        self.0.call(DAT_ADDRESS, call).await
    }

    pub(super) async fn send<C: SolCall>(
        &self,
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt> {
        self.0.send(DAT_ADDRESS, call, value).await
    }

    pub(super) async fn class(&self, id: U256) -> Result<I::DatClass> {
        self.call(I::classInfoCall { classId: id }).await
    }

    pub(super) async fn token(&self, id: U256) -> Result<I::DatToken> {
        self.call(I::tokenInfoCall { tokenId: id }).await
    }

    pub(super) async fn pending(&self, id: U256) -> Result<U256> {
        self.call(I::pendingRevenueCall {
            tokenId: id,
            asset: NATIVE_ASSET,
        })
        .await
    }
}

/// The first event `E` the DAT module emitted in a receipt.
pub(super) fn event<E: SolEvent>(receipt: &TransactionReceipt) -> Result<E> {
    lazai_client::event(receipt, DAT_ADDRESS)
}
