//! The transaction pool: signed transactions waiting for a block, per sender in nonce order.
//!
//! Admission recovers the sender once (in parallel for batches) and keeps the recovered
//! transaction, so block building and verification never recover a signature twice. A sender's
//! transactions must be gap-free: the next admissible nonce is the account's finalized nonce
//! plus the number of its pooled transactions; a transaction with the same nonce as a pooled
//! one replaces it only with fee caps at least 10% higher.
//!
//! Every admission is announced, in admission order, to [`Mempool::subscribe_admitted`]
//! (RPC's `newPendingTransactions` and pending-transaction filters).

use lazai_ledger::{BlockEnv, Ledger, RecoveredTx, State, TxError};
use lazai_types::{Address, B256, Bytes, U256};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Admissions buffered for a slow listener of [`Mempool::subscribe_admitted`]; past that it
/// skips the oldest.
const ADMITTED_BUFFER: usize = 16_384;

/// Why the pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The transaction is invalid against the finalized state or the next block's rules.
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("already known")]
    AlreadyKnown,
    /// A transaction with the same sender and nonce is pooled and this one does not pay
    /// at least 10% more.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    #[error("txpool is full")]
    PoolFull,
    #[error("too many pending transactions for sender {0}")]
    SenderLimit(Address),
}

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
    admitted: broadcast::Sender<B256>,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
            admitted: broadcast::channel(ADMITTED_BUFFER).0,
        }
    }

    /// Hashes of transactions admitted from now on, in admission order.
    pub fn subscribe_admitted(&self) -> broadcast::Receiver<B256> {
        self.admitted.subscribe()
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

    /// Admits a recovered transaction. `current` yields the finalized state and the next
    /// block's environment; it is read while the pool is locked, so admission can never
    /// interleave with a finalization (which swaps the head under the same lock).
    pub fn admit(
        &self,
        ledger: &Ledger,
        tx: Arc<RecoveredTx>,
        current: impl FnOnce() -> (State, BlockEnv),
    ) -> Result<B256, AdmitError> {
        self.admit_and_announce(ledger, tx, current, None)
    }

    /// [`Self::admit`], and on success hands the raw transaction to `announce` while still
    /// holding the pool's lock, so transactions are announced exactly in admission order (a
    /// sender's nonces in order, which is what its peers' pools need to accept them).
    pub fn admit_and_announce(
        &self,
        ledger: &Ledger,
        tx: Arc<RecoveredTx>,
        current: impl FnOnce() -> (State, BlockEnv),
        announce: Option<&futures::channel::mpsc::UnboundedSender<Bytes>>,
    ) -> Result<B256, AdmitError> {
        let mut inner = self.inner.lock();
        let (state, env) = current();
        ledger.validate_stateless(&env, &tx, env.gas_limit)?;
        let account = state.account(&tx.sender);
        if tx.nonce() < account.nonce {
            return Err(TxError::NonceTooLow {
                expected: account.nonce,
                got: tx.nonce(),
            }
            .into());
        }
        if inner.by_hash.contains_key(&tx.hash) {
            return Err(AdmitError::AlreadyKnown);
        }
        let total = inner.by_hash.len();
        let empty = BTreeMap::new();
        let queue = inner.by_sender.get(&tx.sender).unwrap_or(&empty);
        // Entries below the finalized nonce are stale (eviction catches them at the sender's
        // next finalized transaction); they do not count here.
        let mut next = account.nonce;
        let mut committed = U256::ZERO;
        for (nonce, pooled) in queue.range(account.nonce..) {
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
                return Err(AdmitError::ReplacementUnderpriced);
            }
        } else {
            if total >= self.config.max_txs {
                return Err(AdmitError::PoolFull);
            }
            if queue.len() >= self.config.max_per_sender {
                return Err(AdmitError::SenderLimit(tx.sender));
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
        // Every check passed: only now does the sender get a queue.
        let hash = tx.hash;
        inner
            .by_sender
            .entry(tx.sender)
            .or_default()
            .insert(tx.nonce(), tx.clone());
        if let Some(old) = replacing {
            inner.by_hash.remove(&old.hash);
        }
        if let Some(announce) = announce {
            let _ = announce.unbounded_send(tx.raw.clone());
        }
        inner.by_hash.insert(hash, tx);
        // No listener is not an error.
        let _ = self.admitted.send(hash);
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

    /// The pool as `txpool_*` reports it (see [`lazai_rpc::PoolView`]); `nonce_of` gives each
    /// sender's finalized nonce.
    pub fn view(
        &self,
        nonce_of: impl Fn(&Address) -> u64,
        from: Option<Address>,
        max: usize,
    ) -> lazai_rpc::PoolView {
        let inner = self.inner.lock();
        let mut view = lazai_rpc::PoolView::default();
        let mut queued = Vec::new();
        let senders: Vec<_> = match from {
            Some(from) => inner.by_sender.get_key_value(&from).into_iter().collect(),
            None => inner.by_sender.iter().collect(),
        };
        for (sender, queue) in senders {
            let mut next = nonce_of(sender);
            for (nonce, tx) in queue.range(next..) {
                if *nonce == next {
                    next += 1;
                    view.pending += 1;
                    if view.listed_pending.len() < max {
                        view.listed_pending.push(tx.clone());
                    }
                } else {
                    view.queued += 1;
                    if queued.len() < max {
                        queued.push(tx.clone());
                    }
                }
            }
        }
        queued.truncate(max - view.listed_pending.len());
        view.listed_queued = queued;
        view
    }

    /// Runs `swap` (which installs the new finalized head) and then removes the transactions
    /// the block included and every pooled transaction of their senders whose nonce is now
    /// used, all under the pool's lock.
    pub fn finalize(&self, txs: &[Arc<RecoveredTx>], state: &State, swap: impl FnOnce()) {
        let mut inner = self.inner.lock();
        swap();
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
            let keep = queue.split_off(&nonce);
            let stale = std::mem::replace(queue, keep);
            if queue.is_empty() {
                inner.by_sender.remove(&sender);
            }
            for tx in stale.values() {
                inner.by_hash.remove(&tx.hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_primitives::TxKind;
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;
    use lazai_ledger::{Account, decode_and_recover};

    const CHAIN: u64 = 133_718;

    fn tx(signer: &PrivateKeySigner, nonce: u64) -> Arc<RecoveredTx> {
        let tx = TxEip1559 {
            chain_id: CHAIN,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(1),
            input: Bytes::new(),
            access_list: Default::default(),
        };
        let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
        let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&TxEnvelope::from(
            tx.into_signed(sig),
        ));
        Arc::new(decode_and_recover(&raw, CHAIN).expect("valid"))
    }

    fn env() -> BlockEnv {
        BlockEnv {
            chain_id: CHAIN,
            height: 1,
            parent_hash: Default::default(),
            timestamp_ms: 1,
            proposer: Address::ZERO,
            base_fee: 1_000_000_000,
            gas_limit: 30_000_000,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn the_pool_view_counts_exactly_and_lists_at_most_what_is_asked() {
        let (alice, bob) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let mut state = State::default();
        for s in [&alice, &bob] {
            state.set_account(
                &s.address(),
                Account {
                    nonce: 0,
                    balance: U256::from(10u128.pow(18)),
                },
            );
        }
        let ledger = Ledger::new(CHAIN);
        let pool = Mempool::new(MempoolConfig::default());
        let current = || (state.clone(), env());
        for n in 0..3 {
            pool.admit(&ledger, tx(&alice, n), current).expect("alice");
        }
        pool.admit(&ledger, tx(&bob, 0), current).expect("bob");
        let all = pool.view(|_| 0, None, 10);
        assert_eq!((all.pending, all.queued), (4, 0));
        assert_eq!(all.listed_pending.len(), 4);
        let capped = pool.view(|_| 0, None, 2);
        assert_eq!(capped.pending, 4, "counts stay exact");
        assert_eq!(capped.listed_pending.len(), 2);
        let bobs = pool.view(|_| 0, Some(bob.address()), 10);
        assert_eq!(bobs.pending, 1);
        assert_eq!(bobs.listed_pending[0].sender, bob.address());
        // Against a head where alice's nonce 0 is used, her run starts at 1.
        let later = pool.view(
            |a| u64::from(*a == alice.address()),
            Some(alice.address()),
            10,
        );
        assert_eq!(later.pending, 2);
        assert_eq!(later.listed_pending[0].nonce(), 1);
    }

    #[test]
    fn rejected_senders_leave_nothing_and_finalization_prunes_both_indexes() {
        let (alice, poor) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let mut state = State::default();
        state.set_account(
            &alice.address(),
            Account {
                nonce: 0,
                balance: U256::from(10u128.pow(18)),
            },
        );
        let ledger = Ledger::new(CHAIN);
        let pool = Mempool::new(MempoolConfig::default());
        let mut admitted = pool.subscribe_admitted();
        let current = || (state.clone(), env());

        assert!(pool.admit(&ledger, tx(&poor, 0), current).is_err());
        assert!(pool.admit(&ledger, tx(&alice, 5), current).is_err(), "gap");
        assert!(
            pool.inner.lock().by_sender.is_empty(),
            "refusals create no queue"
        );

        let (t0, t1) = (tx(&alice, 0), tx(&alice, 1));
        pool.admit(&ledger, t0.clone(), current).expect("nonce 0");
        pool.admit(&ledger, t1.clone(), current).expect("nonce 1");
        assert_eq!(
            pool.admit(&ledger, t1.clone(), current),
            Err(AdmitError::AlreadyKnown)
        );
        assert_eq!(pool.pending_nonce(&alice.address(), 0), 2);
        assert_eq!(
            admitted.try_recv(),
            Ok(t0.hash),
            "admissions are announced in order"
        );
        assert_eq!(admitted.try_recv(), Ok(t1.hash));
        assert!(admitted.try_recv().is_err(), "refusals are not announced");
        assert_eq!(pool.candidates(|_| 0, 10).len(), 2);
        assert_eq!(
            pool.candidates(|_| 1, 10).len(),
            1,
            "a parent that used nonce 0"
        );

        // A block included nonce 0 and another path used nonce 1: both leave both indexes.
        let mut after = state.clone();
        after.set_account(
            &alice.address(),
            Account {
                nonce: 2,
                balance: U256::from(10u128.pow(17)),
            },
        );
        let mut swapped = false;
        pool.finalize(&[t0], &after, || swapped = true);
        assert!(swapped);
        assert!(pool.is_empty());
        assert!(pool.inner.lock().by_sender.is_empty());
        assert!(pool.get(&t1.hash).is_none());
    }
}
