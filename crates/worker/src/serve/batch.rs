//! Usage reaches the chain in batches: taking the waiting calls, recording them with one
//! `recordUsage`, reconciling a failed batch with the chain, and restoring what a previous run
//! left in the store.

use super::state::{Meter, Shared, TokenState, now_secs};
use super::store::{self, Store};
use crate::train::ModelWorker;
use alloy_primitives::{B256, U256};
use anyhow::{Context as _, Result};
use lazai_abi::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, MAX_USAGE_BATCH,
    MODEL_REGISTRY_ADDRESS, calls_metric, merkle_root,
};
use tracing::{info, warn};

/// A batch of waiting calls: token ids, amounts and the root of their receipts, in token id
/// order, and what the store keeps of it while it is recorded.
struct Batch {
    tokens: Vec<U256>,
    amounts: Vec<U256>,
    root: B256,
    in_flight: Vec<(U256, store::InFlight)>,
}

/// Takes the waiting calls for a batch.
fn take_batch(m: &mut Meter) -> Option<Batch> {
    let mut b = Batch {
        tokens: Vec::new(),
        amounts: Vec::new(),
        root: B256::ZERO,
        in_flight: Vec::new(),
    };
    let mut receipts = Vec::new();
    let mut taken = 0u64;
    for (id, t) in m.tokens.iter_mut() {
        if !t.receipts.is_empty() && t.in_flight.is_empty() && b.tokens.len() < MAX_USAGE_BATCH {
            t.in_flight = std::mem::take(&mut t.receipts);
            receipts.extend(t.in_flight.iter().map(|r| r.1));
            b.tokens.push(*id);
            b.amounts.push(U256::from(t.in_flight.len()));
            b.in_flight.push((
                *id,
                store::InFlight {
                    recorded_before: t.recorded,
                    counters: t.in_flight.iter().map(|r| r.0).collect(),
                },
            ));
            taken += t.in_flight.len() as u64;
        }
    }
    if b.tokens.is_empty() {
        return None;
    }
    m.waiting = m.waiting.saturating_sub(taken);
    b.root = merkle_root(&receipts);
    Some(b)
}

/// Puts the first `keep` calls of a token's batch back in front of its waiting calls; returns
/// the counters of the others.
fn requeue(m: &mut Meter, id: U256, keep: usize) -> Vec<u64> {
    let Some(t) = m.tokens.get_mut(&id) else {
        return Vec::new();
    };
    let mut all = std::mem::take(&mut t.in_flight);
    let dropped: Vec<u64> = all.drain(keep.min(all.len())..).map(|r| r.0).collect();
    m.waiting += all.len() as u64;
    all.append(&mut t.receipts);
    t.receipts = all;
    dropped
}

/// Records one batch; false when there was nothing to record or the batch failed (the caller
/// then waits before trying again).
pub(super) async fn flush_once(worker: &ModelWorker, shared: &Shared) -> bool {
    let Some(batch) = take_batch(&mut shared.meter.lock().expect("meter")) else {
        return false;
    };
    // Noted before it is sent, so that a restart can tell whether it reached the chain.
    if let Err(e) = shared.store.batch_sent(batch.in_flight.clone()).await {
        warn!(error = %format!("{e:#}"), "cannot note the usage batch in the store; not sending it");
        let mut m = shared.meter.lock().expect("meter");
        for id in &batch.tokens {
            requeue(&mut m, *id, usize::MAX);
        }
        return false;
    }
    let calls: u64 = batch.amounts.iter().map(|a| a.to::<u64>()).sum();
    let tokens = batch.tokens;
    let sent = worker
        .client()
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::recordUsageCall {
                modelId: shared.record.id,
                tokenIds: tokens.clone(),
                amounts: batch.amounts,
                receiptsRoot: batch.root,
            },
            U256::ZERO,
        )
        .await;
    let done = match sent {
        Ok(receipt) => {
            let mut done = Vec::with_capacity(tokens.len());
            let mut m = shared.meter.lock().expect("meter");
            m.generation += 1;
            for id in &tokens {
                if let Some(t) = m.tokens.get_mut(id) {
                    let n = t.in_flight.len() as u64;
                    t.chain_value = t.chain_value.saturating_sub(U256::from(n));
                    t.recorded = t.recorded.saturating_add(n);
                    done.push((*id, t.in_flight.drain(..).map(|r| r.0).collect()));
                }
            }
            drop(m);
            let mut st = shared.stats.lock().expect("stats");
            st.batches += 1;
            st.calls_recorded += calls;
            st.batch_gas += receipt.gas_used;
            info!(
                calls,
                tokens = tokens.len(),
                gas = receipt.gas_used,
                "usage recorded on chain"
            );
            Ok(done)
        }
        Err(e) => {
            warn!(error = %format!("{e:#}"), calls, "recording usage failed; reconciling with the chain");
            shared.stats.lock().expect("stats").failed_batches += 1;
            let mut done = Vec::with_capacity(tokens.len());
            for id in &tokens {
                done.push((*id, reconcile(shared, *id).await));
            }
            Err(done)
        }
    };
    let (ok, done) = match done {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    if let Err(e) = shared.store.batch_settled(done).await {
        // The batch stays noted as in flight: a restart reads the chain to settle it.
        warn!(error = %format!("{e:#}"), "cannot clear the settled usage batch from the store");
    }
    ok
}

/// After a failed batch: reads the token from the chain. If the chain did record the batch
/// (its receipt was only late), it counts as recorded; otherwise the calls wait for the next
/// batch, except those that no longer fit (the token expired): those were served unpaid and
/// are dropped with a warning. Returns the counters of the calls no longer pending.
async fn reconcile(shared: &Shared, id: U256) -> Vec<u64> {
    let info = shared
        .reader
        .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
        .await
        .ok();
    let used = shared
        .reader
        .call(
            DAT_ADDRESS,
            D::usageOfCall {
                tokenId: id,
                metricType: calls_metric(),
            },
        )
        .await
        .ok()
        .map(|u| u64::try_from(u).unwrap_or(u64::MAX));
    let mut m = shared.meter.lock().expect("meter");
    let Some(t) = m.tokens.get_mut(&id) else {
        return Vec::new();
    };
    let owed = t.in_flight.len() as u64;
    if let Some(used) = used
        && used >= t.recorded.saturating_add(owed)
    {
        t.recorded = used;
        if let Some(info) = &info {
            t.chain_value = info.value;
        }
        let done = t.in_flight.drain(..).map(|r| r.0).collect();
        shared.stats.lock().expect("stats").calls_recorded += owed;
        return done;
    }
    let Some(info) = info else {
        // The chain cannot be read: try the same calls again later.
        return requeue(&mut m, id, usize::MAX);
    };
    t.chain_value = info.value;
    t.owner = info.owner;
    t.expire_at = info.expireAt;
    let expired = info.expireAt != 0 && now_secs() >= info.expireAt;
    let fits = if expired {
        0
    } else {
        u64::try_from(t.chain_value)
            .unwrap_or(u64::MAX)
            .saturating_sub(t.receipts.len() as u64 + t.signing)
    };
    let kept = owed.min(fits);
    if kept < owed {
        warn!(token = %id, unpaid = owed - kept, expired, "calls served that the token can no longer pay for");
    }
    requeue(&mut m, id, kept as usize)
}

/// Rebuilds the meter from what a previous run left in the store: the callers' nonces and the
/// calls it served and did not record. A batch it was recording counts as recorded when the
/// chain's `usageOf` shows it.
pub(super) async fn restore(
    reader: &lazai_client::Client,
    store: &Store,
    restored: store::Restored,
) -> Result<Meter> {
    let mut m = Meter {
        nonces: restored.nonces,
        ..Meter::default()
    };
    let mut done: Vec<(U256, Vec<u64>)> = Vec::new();
    for (id, mut calls) in restored.pending {
        let info = reader
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await
            .with_context(|| format!("read usage token {id} to restore its served calls"))?;
        let used = reader
            .call(
                DAT_ADDRESS,
                D::usageOfCall {
                    tokenId: id,
                    metricType: calls_metric(),
                },
            )
            .await
            .with_context(|| format!("read the usage of token {id}"))?;
        let used = u64::try_from(used).unwrap_or(u64::MAX);
        let mut gone = Vec::new();
        if let Some(f) = restored.in_flight.get(&id)
            && used >= f.recorded_before.saturating_add(f.counters.len() as u64)
        {
            let recorded: std::collections::HashSet<u64> = f.counters.iter().copied().collect();
            calls.retain(|(c, _)| {
                let was = recorded.contains(c);
                if was {
                    gone.push(*c);
                }
                !was
            });
        }
        done.push((id, gone));
        if calls.is_empty() {
            continue;
        }
        let n = calls.len() as u64;
        let last = calls.iter().map(|c| c.0).max().unwrap_or_default();
        info!(token = %id, calls = n, "calls served before a restart wait for a batch");
        m.waiting += n;
        m.tokens.insert(
            id,
            TokenState {
                owner: info.owner,
                class: info.classId,
                expire_at: info.expireAt,
                chain_value: info.value,
                signing: 0,
                receipts: calls,
                in_flight: Vec::new(),
                used: used.saturating_add(n).max(last),
                recorded: used,
                fetched: std::time::Instant::now(),
            },
        );
    }
    for id in restored.in_flight.keys() {
        if !done.iter().any(|(d, _)| d == id) {
            done.push((*id, Vec::new()));
        }
    }
    if !done.is_empty() {
        store.batch_settled(done).await?;
    }
    Ok(m)
}
