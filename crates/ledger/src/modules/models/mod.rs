//! The model registry: trained models as DAT assets with lineage, usage sold as DATs, and the
//! revenue of a model split back to the data it was trained on.
//!
//! - **Registering** (`registerModel`): a worker attested now for the iDAO trained a model on
//!   the iDAO's verified data and signed a *training report* — EIP-191 over
//!   [`report_message`] = `keccak256(abi.encode(keccak256("LAZAI_TRAINING_REPORT_V1"), chainId,
//!   registry, idaoId, modelHash, reportHash, lineage))`. The worker itself or the iDAO's
//!   owner sends it. The registry creates the model's DAT class (creator: the registry;
//!   `integrityHash` = the model hash; metadata names the model hash, the report hash and the
//!   lineage), mints the *ownership* token (value 0, share 1, never expiring) to the iDAO's
//!   owner, and remembers the worker as the model's server. **Lineage** is a list of dataset
//!   DAT classes with weights (at most [`MAX_LINEAGE`], weights ≥ 1, no class twice, none the
//!   model's own).
//! - **Buying usage** (`buyUsage(modelId, calls, expireAt)`, payable exactly `calls ×
//!   pricePerCall`): mints a *usage* token in the model's class — value = calls (the quota),
//!   share 0 — to the buyer, and settles the payment as the model's revenue (below). The
//!   model's class has *locked value* (see the DAT module docs): a usage token's value can be
//!   neither moved to another token (`transferValue` reverts with `ValueLocked`) nor consumed
//!   by anyone but the registry, so every call the worker served from it stays payable until
//!   it is recorded. Whoever holds the token (it may be transferred whole) pays the calls
//!   served from it.
//! - **Recording usage** (`recordUsage(modelId, tokenIds, amounts, receiptsRoot)`): only the
//!   model's worker, attested now; one transaction records a batch of calls over many tokens
//!   (each decrements the token's value; `QuotaExceeded` reverts the whole batch), with the
//!   Merkle root of the receipts it signed for them.
//! - **Revenue to data** (`buyUsage`, `settleRevenue(modelId)` payable): of an amount `A`,
//!   `toModel = A · modelShareBps / 10000` (rounded down) goes to the model's class; the rest
//!   `R` is split over the lineage, dataset `i` getting `R · wᵢ / Σw` (rounded down), settled
//!   to its class, where its contributors claim with their dataset DATs. The rounding
//!   remainder of the split, and the part of a dataset class with no unexpired share, go to the
//!   model's class. So every wei of `A` is settled to some class; what a class then keeps as
//!   dust is the DAT's (see the DAT module docs). LAZAI settled to a model class directly on
//!   the DAT (`settleRevenueETH`) is not split.

use super::dat::facade;
use super::idao::facade as idao_registry;
use crate::kernel::{Call, Module, ModuleError, decode_call, revert_msg, revert_with, slot};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::models::*;
use lazai_abi::{DAT_ADDRESS, MODEL_REGISTRY_ADDRESS, parse_signature};

use IModelRegistry as M;

const MODELS_N: &[u8] = b"models-n";

fn model_slot(id: U256) -> Vec<u8> {
    slot(b"model/", &[&id.to_be_bytes::<32>()])
}
fn class_model_slot(class: U256) -> Vec<u8> {
    slot(b"class-model/", &[&class.to_be_bytes::<32>()])
}
fn hash_slot(hash: B256) -> Vec<u8> {
    slot(b"hash/", &[hash.as_slice()])
}

fn load_model(call: &mut Call<'_>, id: U256) -> Result<M::Model, ModuleError> {
    call.load_abi::<M::Model>(&model_slot(id))?
        .ok_or_else(|| revert_with(M::ModelNotFound { modelId: id }))
}

/// Model `id` as the registry records it, for another module (reverts `ModelNotFound`).
pub(crate) fn model(call: &mut Call<'_>, id: U256) -> Result<M::Model, ModuleError> {
    call.enter(MODEL_REGISTRY_ADDRESS, |c| load_model(c, id))
}

/// The model registry module.
#[derive(Clone, Debug, Default)]
pub struct ModelRegistry;

impl ModelRegistry {
    fn check_lineage(call: &mut Call<'_>, lineage: &[M::Lineage]) -> Result<(), ModuleError> {
        let bad = |r: &str| revert_with(M::BadLineage { reason: r.into() });
        if lineage.is_empty() {
            return Err(bad("a model names at least one dataset class"));
        }
        if lineage.len() > MAX_LINEAGE {
            return Err(bad("too many dataset classes"));
        }
        for (i, l) in lineage.iter().enumerate() {
            if l.weight.is_zero() || l.weight > U256::from(u64::MAX) {
                return Err(bad("weights are between 1 and 2^64-1"));
            }
            if lineage[..i].iter().any(|o| o.classId == l.classId) {
                return Err(bad("a dataset class appears twice"));
            }
            // The class must exist.
            call.enter(DAT_ADDRESS, |c| facade::live_share(c, l.classId))?;
            if !call.load_u256(&class_model_slot(l.classId))?.is_zero() {
                return Err(bad("a lineage entry is a model class, not a dataset"));
            }
        }
        Ok(())
    }

    fn register(call: &mut Call<'_>, c: M::registerModelCall) -> Result<Vec<u8>, ModuleError> {
        if c.uri.len() > MAX_MODEL_URI_BYTES {
            return Err(revert_with(M::StringTooLong {
                length: U256::from(c.uri.len()),
                max: U256::from(MAX_MODEL_URI_BYTES),
            }));
        }
        if c.modelShareBps > BPS {
            return Err(revert_with(M::BadShare {
                modelShareBps: c.modelShareBps,
            }));
        }
        let record = idao_registry::idao(call, c.idaoId)?;
        let message = report_message(
            call.block.chain_id,
            c.idaoId,
            c.modelHash,
            c.reportHash,
            &c.lineage,
        );
        let worker = parse_signature(&c.reportSignature)
            .and_then(|s| s.recover_address_from_msg(message.as_slice()).ok())
            .ok_or_else(|| {
                revert_with(M::BadReportSignature {
                    signer: Address::ZERO,
                })
            })?;
        if call.caller != worker && call.caller != record.owner {
            return Err(revert_with(M::NotIdaoOwnerOrWorker {
                idaoId: c.idaoId,
                caller: call.caller,
            }));
        }
        if idao_registry::attested_key(call, c.idaoId, worker)?.is_none() {
            return Err(revert_with(M::WorkerNotAttested {
                idaoId: c.idaoId,
                worker,
            }));
        }
        if call.load_flag(&hash_slot(c.modelHash))? {
            return Err(revert_with(M::AlreadyRegistered {
                modelHash: c.modelHash,
            }));
        }
        Self::check_lineage(call, &c.lineage)?;
        let metadata = class_metadata(c.idaoId, c.modelHash, c.reportHash, &c.uri, &c.lineage);
        let owner = record.owner;
        let class_id = call.enter(DAT_ADDRESS, |x| {
            let id = facade::create_class(x, metadata, c.modelHash, String::new())?;
            facade::set_service(x, id, MODEL_REGISTRY_ADDRESS, true)?;
            facade::lock_value(x, id)?;
            Ok(id)
        })?;
        let id = call.load_u256(MODELS_N)? + U256::from(1);
        call.store_u256(MODELS_N, id)?;
        call.store_u256(&class_model_slot(class_id), id)?;
        call.store_flag(&hash_slot(c.modelHash), true)?;
        let model = M::Model {
            id,
            idaoId: c.idaoId,
            classId: class_id,
            modelHash: c.modelHash,
            reportHash: c.reportHash,
            uri: c.uri,
            worker,
            pricePerCall: c.pricePerCall,
            modelShareBps: c.modelShareBps,
            registeredAt: call.block.timestamp_ms / 1000,
            lineage: c.lineage,
            revenue: U256::ZERO,
            toData: U256::ZERO,
            callsSold: U256::ZERO,
            callsRecorded: U256::ZERO,
        };
        call.store_abi(&model_slot(id), &model)?;
        call.emit(&M::ModelRegistered {
            modelId: id,
            idaoId: model.idaoId,
            classId: class_id,
            modelHash: model.modelHash,
            reportHash: model.reportHash,
            worker,
        })?;
        // Last, once the model is recorded: the owner may be a contract, whose receiver hook
        // runs here and may call back in.
        call.enter(DAT_ADDRESS, |x| {
            facade::mint(x, class_id, owner, U256::ZERO, U256::from(1), 0)
        })?;
        Ok((id, class_id).abi_encode_params())
    }

    /// Splits `amount` (held by the registry) by the model's lineage and settles every part on
    /// the DAT (see the module docs).
    fn split(call: &mut Call<'_>, model: &mut M::Model, amount: U256) -> Result<(), ModuleError> {
        if amount.is_zero() {
            return Ok(());
        }
        let to_model_share = amount * U256::from(model.modelShareBps) / U256::from(BPS);
        let rest = amount - to_model_share;
        let total_weight: U256 = model.lineage.iter().map(|l| l.weight).sum();
        let mut to_data = U256::ZERO;
        let mut parts = Vec::with_capacity(model.lineage.len());
        for l in &model.lineage {
            let part = rest * l.weight / total_weight;
            if part.is_zero() {
                continue;
            }
            let live = call.enter(DAT_ADDRESS, |c| facade::live_share(c, l.classId))?;
            if live.is_zero() {
                continue;
            }
            parts.push((l.classId, part));
            to_data += part;
        }
        let to_model = amount - to_data;
        call.pay(DAT_ADDRESS, amount)?;
        let class = model.classId;
        call.enter(DAT_ADDRESS, |c| {
            if !to_model.is_zero() {
                facade::settle(c, class, to_model)?;
            }
            for (class, part) in parts {
                facade::settle(c, class, part)?;
            }
            Ok(())
        })?;
        model.revenue += amount;
        model.toData += to_data;
        call.emit(&M::RevenueSplit {
            modelId: model.id,
            amount,
            toModel: to_model,
            toData: to_data,
        })
    }

    fn buy(call: &mut Call<'_>, c: M::buyUsageCall) -> Result<Vec<u8>, ModuleError> {
        let mut model = load_model(call, c.modelId)?;
        if c.calls.is_zero() {
            return Err(revert_with(M::ZeroCalls {}));
        }
        let expected = c
            .calls
            .checked_mul(model.pricePerCall)
            .ok_or_else(|| revert_msg("price overflow"))?;
        if call.value != expected {
            return Err(revert_with(M::WrongPayment {
                expected,
                sent: call.value,
            }));
        }
        let (buyer, class) = (call.caller, model.classId);
        model.callsSold += c.calls;
        Self::split(call, &mut model, expected)?;
        call.store_abi(&model_slot(c.modelId), &model)?;
        // The usage token carries no share, so the split above is the same before or after it
        // exists; minting last lets a buying contract's receiver hook call back in safely.
        let token = call.enter(DAT_ADDRESS, |x| {
            facade::mint(x, class, buyer, c.calls, U256::ZERO, c.expireAt)
        })?;
        call.emit(&M::UsageBought {
            modelId: c.modelId,
            tokenId: token,
            buyer,
            calls: c.calls,
            paid: expected,
        })?;
        Ok(token.abi_encode())
    }

    fn record(call: &mut Call<'_>, c: M::recordUsageCall) -> Result<Vec<u8>, ModuleError> {
        let mut model = load_model(call, c.modelId)?;
        if call.caller != model.worker {
            return Err(revert_with(M::NotModelWorker {
                modelId: c.modelId,
                caller: call.caller,
            }));
        }
        if idao_registry::attested_key(call, model.idaoId, model.worker)?.is_none() {
            return Err(revert_with(M::WorkerNotAttested {
                idaoId: model.idaoId,
                worker: model.worker,
            }));
        }
        if c.tokenIds.len() != c.amounts.len() || c.tokenIds.is_empty() {
            return Err(revert_with(M::BatchMismatch {}));
        }
        if c.tokenIds.len() > MAX_USAGE_BATCH {
            return Err(revert_with(M::BatchTooLarge {
                max: U256::from(MAX_USAGE_BATCH),
            }));
        }
        let metric = calls_metric();
        let class = model.classId;
        let mut calls = U256::ZERO;
        for (&token, &amount) in c.tokenIds.iter().zip(&c.amounts) {
            call.enter(DAT_ADDRESS, |x| {
                let (token_class, ..) = facade::token(x, token)?;
                if token_class != class {
                    return Err(revert_with(M::NotModelToken {
                        tokenId: token,
                        modelId: c.modelId,
                    }));
                }
                facade::record_usage(x, token, metric, amount)
            })?;
            calls += amount;
        }
        model.callsRecorded += calls;
        call.store_abi(&model_slot(c.modelId), &model)?;
        call.emit(&M::UsageBatchRecorded {
            modelId: c.modelId,
            worker: call.caller,
            calls,
            tokens: U256::from(c.tokenIds.len()),
            receiptsRoot: c.receiptsRoot,
        })?;
        Ok(Vec::new())
    }
}

impl Module for ModelRegistry {
    fn name(&self) -> &'static str {
        "ModelRegistry"
    }

    fn address(&self) -> Address {
        MODEL_REGISTRY_ADDRESS
    }

    /// Only `buyUsage` and `settleRevenue` are payable.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        use M::IModelRegistryCalls as C;
        let payable = [M::buyUsageCall::SELECTOR, M::settleRevenueCall::SELECTOR];
        if !payable.iter().any(|s| input.get(..4) == Some(&s[..])) {
            call.non_payable()?;
        }
        match decode_call::<C>(self.name(), input)? {
            C::registerModel(c) => Self::register(call, c),
            C::reportMessage(c) => Ok(report_message(
                call.block.chain_id,
                c.idaoId,
                c.modelHash,
                c.reportHash,
                &c.lineage,
            )
            .abi_encode()),
            C::buyUsage(c) => Self::buy(call, c),
            C::settleRevenue(c) => {
                let mut model = load_model(call, c.modelId)?;
                let amount = call.value;
                if amount.is_zero() {
                    return Err(revert_with(M::WrongPayment {
                        expected: U256::from(1),
                        sent: amount,
                    }));
                }
                Self::split(call, &mut model, amount)?;
                call.store_abi(&model_slot(c.modelId), &model)?;
                Ok(Vec::new())
            }
            C::recordUsage(c) => Self::record(call, c),
            C::setPrice(c) => {
                let mut model = load_model(call, c.modelId)?;
                let record = idao_registry::idao(call, model.idaoId)?;
                if record.owner != call.caller {
                    return Err(revert_with(M::NotIdaoOwner {
                        idaoId: model.idaoId,
                        caller: call.caller,
                    }));
                }
                model.pricePerCall = c.pricePerCall;
                call.store_abi(&model_slot(c.modelId), &model)?;
                call.emit(&M::PriceSet {
                    modelId: c.modelId,
                    pricePerCall: c.pricePerCall,
                })?;
                Ok(Vec::new())
            }
            C::getModel(c) => Ok(load_model(call, c.modelId)?.abi_encode()),
            C::modelCount(_) => Ok(call.load_u256(MODELS_N)?.abi_encode()),
            C::modelOfClass(c) => Ok(call.load_u256(&class_model_slot(c.classId))?.abi_encode()),
        }
    }
}
