//! The game's terms: an iDAO's parameters, a model's weights commitment, and the registry of
//! challengers with their deposits.

use super::super::tasks::{model_controller, now};
use super::store::*;
use crate::kernel::{Call, ModuleError, revert_with};
use crate::modules::idao::facade as idao_registry;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use lazai_abi::verifier::*;

use IVerifier as X;

pub(crate) fn set_params(
    call: &mut Call<'_>,
    c: X::setOptimisticParamsCall,
) -> Result<Vec<u8>, ModuleError> {
    let owner = idao_registry::idao(call, c.idaoId)?.owner;
    if call.caller != owner {
        return Err(revert_with(X::NotIdaoOwner {
            idaoId: c.idaoId,
            caller: call.caller,
        }));
    }
    let p = &c.params;
    let bad = |reason: &str| {
        Err(revert_with(X::InvalidParams {
            reason: reason.into(),
        }))
    };
    if p.window == 0 || p.window > MAX_WINDOW_BLOCKS {
        return bad("window: 1 to 1000000 blocks");
    }
    if p.moveTime == 0 || p.moveTime > MAX_WINDOW_BLOCKS {
        return bad("moveTime: 1 to 1000000 blocks");
    }
    if p.workerBond.is_zero() || p.challengerBond.is_zero() {
        return bad("bonds must be above zero: a free lie or a free challenge costs nothing");
    }
    call.store_abi(&params_slot(c.idaoId), p)?;
    call.emit(&X::OptimisticParamsSet {
        idaoId: c.idaoId,
        window: p.window,
        moveTime: p.moveTime,
        workerBond: p.workerBond,
        challengerBond: p.challengerBond,
    })?;
    Ok(Vec::new())
}

pub(crate) fn set_weights(
    call: &mut Call<'_>,
    c: X::setModelWeightsCall,
) -> Result<Vec<u8>, ModuleError> {
    let owner = model_controller(call, c.modelId)?;
    let bad = |reason: String| Err(revert_with(X::InvalidWeights { reason }));
    // The worker commits once; only the iDAO's owner replaces a commitment (to correct one a
    // challenger found not to be the model file's), so a worker cannot swap roots between
    // its results.
    if call.caller != owner
        && call
            .load_abi::<X::ModelWeights>(&weights_slot(c.modelId))?
            .is_some()
    {
        return bad("already committed: only the iDAO's owner replaces it".into());
    }
    if c.root.is_zero() {
        return bad("the root is zero".into());
    }
    if c.widths.len() < 2 || c.widths.len() > MAX_OPTIMISTIC_LAYERS + 1 {
        return bad(format!(
            "{} widths: an input and 1 to {MAX_OPTIMISTIC_LAYERS} layers",
            c.widths.len()
        ));
    }
    if let Some(w) = c
        .widths
        .iter()
        .find(|&&w| w == 0 || w > MAX_OPTIMISTIC_WIDTH)
    {
        return bad(format!(
            "a width of {w}: each must be 1 to {MAX_OPTIMISTIC_WIDTH}, so one unit fits a step"
        ));
    }
    let record = X::ModelWeights {
        root: c.root,
        widths: c.widths.clone(),
        setBy: call.caller,
    };
    call.store_abi(&weights_slot(c.modelId), &record)?;
    call.emit(&X::ModelWeightsSet {
        modelId: c.modelId,
        root: c.root,
        layers: (c.widths.len() - 1) as u32,
    })?;
    Ok(Vec::new())
}

pub(crate) fn model_weights(call: &mut Call<'_>, model: U256) -> Result<Vec<u8>, ModuleError> {
    let w = call
        .load_abi::<X::ModelWeights>(&weights_slot(model))?
        .ok_or_else(|| revert_with(X::NoModelWeights { modelId: model }))?;
    Ok(w.abi_encode())
}

pub(crate) fn register_challenger(
    call: &mut Call<'_>,
    c: X::registerChallengerCall,
) -> Result<Vec<u8>, ModuleError> {
    idao_registry::idao(call, c.idaoId)?;
    if c.hpkeKey.is_zero() {
        return Err(revert_with(X::InvalidParams {
            reason: "the challenger's X25519 key is zero".into(),
        }));
    }
    let bond = params(call, c.idaoId)?.challengerBond;
    let who = call.caller;
    let mut record = match load_challenger(call, c.idaoId, who)? {
        Some(r) => r,
        None => {
            let n = call.load_u256(&challengers_n_slot(c.idaoId))?;
            if n >= U256::from(MAX_CHALLENGERS) {
                return Err(revert_with(X::TooManyChallengers { idaoId: c.idaoId }));
            }
            call.store(
                &challenger_at_slot(c.idaoId, n.to::<u64>()),
                who.to_vec().into(),
            )?;
            call.store_u256(&challengers_n_slot(c.idaoId), n + U256::from(1))?;
            X::Challenger {
                account: who,
                hpkeKey: B256::ZERO,
                deposit: U256::ZERO,
                locked: U256::ZERO,
                open: 0,
                registeredAt: now(call),
            }
        }
    };
    record.hpkeKey = c.hpkeKey;
    record.deposit = record.deposit.saturating_add(call.value);
    if record.deposit - record.locked < bond {
        return Err(revert_with(X::DepositTooLow {
            free: record.deposit - record.locked,
            want: bond,
        }));
    }
    call.store_abi(&challenger_slot(c.idaoId, who), &record)?;
    call.emit(&X::ChallengerRegistered {
        idaoId: c.idaoId,
        challenger: who,
        hpkeKey: c.hpkeKey,
        deposit: record.deposit,
    })?;
    Ok(Vec::new())
}

pub(crate) fn withdraw_challenger(
    call: &mut Call<'_>,
    c: X::withdrawChallengerCall,
) -> Result<Vec<u8>, ModuleError> {
    let who = call.caller;
    let mut record = registered_challenger(call, c.idaoId, who)?;
    let free = record.deposit - record.locked;
    if c.amount > free {
        return Err(revert_with(X::DepositTooLow {
            free,
            want: c.amount,
        }));
    }
    record.deposit -= c.amount;
    call.store_abi(&challenger_slot(c.idaoId, who), &record)?;
    call.pay(who, c.amount)?;
    call.emit(&X::ChallengerWithdrawn {
        idaoId: c.idaoId,
        challenger: who,
        amount: c.amount,
    })?;
    Ok(Vec::new())
}

pub(crate) fn challengers(call: &mut Call<'_>, idao: U256) -> Result<Vec<u8>, ModuleError> {
    let n = call.load_u256(&challengers_n_slot(idao))?.to::<u64>();
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let raw = call.load(&challenger_at_slot(idao, i))?;
        if let Some(r) = load_challenger(call, idao, Address::from_slice(&raw))? {
            out.push(r);
        }
    }
    Ok(out.abi_encode())
}

pub(crate) fn get_challenger(
    call: &mut Call<'_>,
    idao: U256,
    who: Address,
) -> Result<Vec<u8>, ModuleError> {
    let r = registered_challenger(call, idao, who)?;
    Ok(r.abi_encode())
}
