//! The transaction pool: signed transactions waiting for a block, per sender in nonce order.
//!
//! Admission recovers the sender once (in parallel for batches) and keeps the recovered
//! transaction, so block building and verification never recover a signature twice. A sender's
//! transactions must be gap-free: the next admissible nonce is the account's finalized nonce
//! plus the number of its pooled transactions; a transaction with the same nonce as a pooled
//! one replaces it only with fee caps at least 10% higher.

use lazai_ledger::{BlockEnv, Ledger, RecoveredTx, State, TxError};
use lazai_rpc::SubmitError;
use lazai_types::{Address, B256, U256};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Mempool limits.
#[derive(Clone, Debug)]
pub struct MempoolConfig {
    /// Most transactions held at once.
    pub max_txs: usize,
    /// Most transactions held for one sender.
    pub max_per_sender: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 500_000,
            max_per_sender: 16_384,
        }
    }
}

#[derive(Default)]
struct Inner {
    by_hash: HashMap<B256, Arc<RecoveredTx>>,
    by_sender: HashMap<Address, BTreeMap<u64, Arc<RecoveredTx>>>,
}

/// The pool. Shared between the RPC (admission) and the chain (building, eviction).
pub struct Mempool {
    config: MempoolConfig,
    inner: Mutex<Inner>,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, hash: &B256) -> Option<Arc<RecoveredTx>> {
        self.inner.lock().by_hash.get(hash).cloned()
    }

    pub fn contains(&self, hash: &B256) -> bool {
        self.inner.lock().by_hash.contains_key(hash)
    }

    /// The next nonce for `sender` given its finalized nonce: one past its last pooled
    /// transaction that continues the finalized nonce without a gap.
    pub fn pending_nonce(&self, sender: &Address, finalized_nonce: u64) -> u64 {
        let inner = self.inner.lock();
        let mut next = finalized_nonce;
        if let Some(queue) = inner.by_sender.get(sender) {
            for nonce in queue.range(finalized_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Admits a recovered transaction, checked against the finalized `state` and the next
    /// block's `env` (`state` must be the finalized state the pool was last pruned against).
    pub fn admit(
        &self,
        ledger: &Ledger,
        state: &State,
        env: &BlockEnv,
        tx: Arc<RecoveredTx>,
    ) -> Result<B256, SubmitError> {
        ledger.validate_stateless(env, &tx, env.gas_limit)?;
        let account = state.account(&tx.sender);
        if tx.nonce() < account.nonce {
            return Err(TxError::NonceTooLow {
                expected: account.nonce,
                got: tx.nonce(),
            }
            .into());
        }
        let mut inner = self.inner.lock();
        if inner.by_hash.contains_key(&tx.hash) {
            return Err(SubmitError::AlreadyKnown);
        }
        let total = inner.by_hash.len();
        let queue = inner.by_sender.entry(tx.sender).or_default();
        // Drop what finalization already consumed, so the gap check sees the true queue.
        queue.retain(|n, _| *n >= account.nonce);
        let mut next = account.nonce;
        let mut committed = U256::ZERO;
        for (nonce, pooled) in queue.iter() {
            if *nonce != next {
                break;
            }
            if *nonce != tx.nonce() {
                committed = committed.saturating_add(Ledger::max_cost(pooled));
            }
            next += 1;
        }
        let replacing = queue.get(&tx.nonce()).cloned();
        if replacing.is_none() && tx.nonce() > next {
            return Err(TxError::NonceTooHigh {
                expected: next,
                got: tx.nonce(),
            }
            .into());
        }
        if let Some(old) = &replacing {
            let bump = |old: u128| old.saturating_add(old / 10);
            if tx.max_fee_per_gas() < bump(old.max_fee_per_gas())
                || tx.max_priority_fee_per_gas() < bump(old.max_priority_fee_per_gas())
            {
                return Err(SubmitError::ReplacementUnderpriced);
            }
        } else {
            if total >= self.config.max_txs {
                return Err(SubmitError::PoolFull);
            }
            if queue.len() >= self.config.max_per_sender {
                return Err(SubmitError::SenderLimit(tx.sender));
            }
        }
        let cost = committed.saturating_add(Ledger::max_cost(&tx));
        if account.balance < cost {
            return Err(TxError::InsufficientFunds {
                balance: account.balance,
                cost,
            }
            .into());
        }
        let hash = tx.hash;
        queue.insert(tx.nonce(), tx.clone());
        if let Some(old) = replacing {
            inner.by_hash.remove(&old.hash);
        }
        inner.by_hash.insert(hash, tx);
        Ok(hash)
    }

    /// Candidates for a block built on a parent whose post-state gives `nonce_of`: each
    /// sender's gap-free run starting at its nonce there, senders ordered by their first
    /// transaction's tip (highest first), at most `max` in all.
    pub fn candidates(
        &self,
        nonce_of: impl Fn(&Address) -> u64,
        max: usize,
    ) -> Vec<Arc<RecoveredTx>> {
        let inner = self.inner.lock();
        let mut runs: Vec<(u128, Vec<Arc<RecoveredTx>>)> = Vec::new();
        for (sender, queue) in inner.by_sender.iter() {
            let start = nonce_of(sender);
            let run: Vec<_> = (start..)
                .zip(queue.range(start..))
                .take_while(|(expected, (nonce, _))| *expected == **nonce)
                .map(|(_, (_, tx))| tx.clone())
                .collect();
            if let Some(first) = run.first() {
                runs.push((first.max_priority_fee_per_gas(), run));
            }
        }
        runs.sort_by_key(|run| std::cmp::Reverse(run.0));
        runs.into_iter()
            .flat_map(|(_, run)| run)
            .take(max)
            .collect()
    }

    /// Removes transactions a finalized block included, and every pooled transaction of their
    /// senders whose nonce is now used.
    pub fn remove_finalized(&self, txs: &[Arc<RecoveredTx>], state: &State) {
        let mut inner = self.inner.lock();
        let mut senders = Vec::new();
        for tx in txs {
            inner.by_hash.remove(&tx.hash);
            senders.push(tx.sender);
        }
        senders.sort_unstable();
        senders.dedup();
        for sender in senders {
            let nonce = state.nonce(&sender);
            let Some(queue) = inner.by_sender.get_mut(&sender) else {
                continue;
            };
            let stale: Vec<u64> = queue.range(..nonce).map(|(n, _)| *n).collect();
            let mut dropped = Vec::new();
            for n in stale {
                if let Some(tx) = queue.remove(&n) {
                    dropped.push(tx.hash);
                }
            }
            if queue.is_empty() {
                inner.by_sender.remove(&sender);
            }
            for h in dropped {
                inner.by_hash.remove(&h);
            }
        }
    }
}
