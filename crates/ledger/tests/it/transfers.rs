//! Value transfers, exact fees, and every way a transaction is refused.

use crate::support::*;
use alloy_primitives::{Bytes, U256};
use lazai_ledger::{TxError, decode_and_recover};

#[test]
fn transfer_charges_exact_fees() {
    let (alice, bob) = (signer(0), signer(1));
    let start = U256::from(10u128.pow(18));
    let mut state = funded(&[&alice], start);
    let env = env();
    let value = U256::from(12345);
    let tx = recover(&Tx::transfer(0, bob.address(), value).eip1559(&alice));
    let receipt = ledger().apply(&mut state, &env, &tx, 0).expect("applies");
    assert!(receipt.success);
    assert_eq!(receipt.gas_used, 21_000);
    // price = min(2 gwei, 1 gwei base + 1 gwei tip) = 2 gwei
    assert_eq!(receipt.effective_gas_price, 2 * GWEI);
    let fee = U256::from(21_000u128 * 2 * GWEI);
    assert_eq!(state.balance(&alice.address()), start - value - fee);
    assert_eq!(state.balance(&bob.address()), value);
    assert_eq!(
        state.balance(&env.proposer),
        U256::from(21_000u128 * GWEI),
        "tip to proposer"
    );
    assert_eq!(
        state.burned(),
        U256::from(21_000u128 * GWEI),
        "base fee burned"
    );
    assert_eq!(state.nonce(&alice.address()), 1);
}

#[test]
fn legacy_and_eip2930_transactions_apply() {
    let (alice, bob) = (signer(0), signer(1));
    let mut state = funded(&[&alice], U256::from(10u128.pow(18)));
    let env = env();
    let legacy =
        recover(&Tx::transfer(0, bob.address(), U256::from(1)).legacy(&alice, Some(CHAIN_ID)));
    assert_eq!(legacy.tx_type(), 0);
    ledger()
        .apply(&mut state, &env, &legacy, 0)
        .expect("legacy applies");
    let t2930 = recover(&Tx::transfer(1, bob.address(), U256::from(1)).eip2930(&alice));
    assert_eq!(t2930.tx_type(), 1);
    ledger()
        .apply(&mut state, &env, &t2930, 21_000)
        .expect("eip2930 applies");
    assert_eq!(state.balance(&bob.address()), U256::from(2));
}

#[test]
fn refusals_have_distinct_errors_and_leave_state_alone() {
    let (alice, bob) = (signer(0), signer(1));
    let state = funded(&[&alice], U256::from(10u128.pow(18)));
    let env = env();
    let l = ledger();
    let root = state.root();
    let check = |raw: Vec<u8>, expect: fn(&TxError) -> bool| {
        let mut s = state.clone();
        let err = match decode_and_recover(&raw, CHAIN_ID) {
            Err(e) => e,
            Ok(tx) => l.apply(&mut s, &env, &tx, 0).expect_err("must be refused"),
        };
        assert!(expect(&err), "unexpected error: {err}");
        assert_eq!(s.root(), root, "state untouched");
    };
    let t = |nonce| Tx::transfer(nonce, bob.address(), U256::from(1));
    check(
        Tx {
            chain_id: 1,
            ..t(0)
        }
        .eip1559(&alice),
        |e| {
            matches!(
                e,
                TxError::WrongChainId {
                    expected: CHAIN_ID,
                    got: 1
                }
            )
        },
    );
    check(t(0).legacy(&alice, None), |e| {
        matches!(e, TxError::MissingChainId)
    });
    check(t(1).eip1559(&alice), |e| {
        matches!(
            e,
            TxError::NonceTooHigh {
                expected: 0,
                got: 1
            }
        )
    });
    check(
        Tx {
            max_fee: 1,
            tip: 1,
            ..t(0)
        }
        .eip1559(&alice),
        |e| matches!(e, TxError::FeeCapTooLow { .. }),
    );
    check(
        Tx {
            max_fee: GWEI,
            tip: 2 * GWEI,
            ..t(0)
        }
        .eip1559(&alice),
        |e| matches!(e, TxError::TipAboveFeeCap),
    );
    check(
        Tx {
            gas: 20_999,
            ..t(0)
        }
        .eip1559(&alice),
        |e| matches!(e, TxError::IntrinsicGas { want: 21_000, .. }),
    );
    check(
        Tx {
            gas: 31_000_000,
            ..t(0)
        }
        .eip1559(&alice),
        |e| matches!(e, TxError::GasLimitExceeded { .. }),
    );
    check(
        Tx::transfer(0, bob.address(), U256::from(10u128.pow(18))).eip1559(&alice),
        |e| matches!(e, TxError::InsufficientFunds { .. }),
    );
    check(Tx::create(0, vec![0; 49_153]).eip1559(&alice), |e| {
        matches!(e, TxError::InitcodeTooLarge { max: 49_152 })
    });
    check(
        Tx {
            gas: 53_000,
            ..Tx::create(0, vec![0x60, 0x00])
        }
        .eip1559(&alice),
        |e| matches!(e, TxError::IntrinsicGas { want: 53_022, .. }),
    );
    check(t(0).eip1559_high_s(&alice), |e| {
        matches!(e, TxError::BadSignature)
    });
    check(t(0).eip1559(&bob), |e| {
        matches!(e, TxError::InsufficientFunds { .. })
    });
    let mut raw = t(0).eip1559(&alice);
    raw.push(0);
    check(raw, |e| matches!(e, TxError::Decode(_)));
    check(vec![0u8; 128 * 1024 + 1], |e| {
        matches!(e, TxError::Oversized { .. })
    });

    // A replayed transaction: applies once, then is too low.
    let mut s = state.clone();
    let tx = recover(&t(0).eip1559(&alice));
    l.apply(&mut s, &env, &tx, 0).expect("first time");
    assert!(matches!(
        l.apply(&mut s, &env, &tx, 21_000),
        Err(TxError::NonceTooLow {
            expected: 1,
            got: 0
        })
    ));
}

#[test]
fn block_with_an_invalid_transaction_is_rejected_whole() {
    let (alice, bob) = (signer(0), signer(1));
    let state = funded(&[&alice], U256::from(10u128.pow(18)));
    let good = std::sync::Arc::new(recover(
        &Tx::transfer(0, bob.address(), U256::from(1)).eip1559(&alice),
    ));
    let gapped = std::sync::Arc::new(recover(
        &Tx::transfer(5, bob.address(), U256::from(1)).eip1559(&alice),
    ));
    let err = ledger()
        .execute_block(&state, &env(), vec![good.clone(), gapped.clone()])
        .expect_err("invalid");
    assert!(err.to_string().contains("transaction 1"), "{err}");
    // The builder skips it instead.
    let (built, skipped) = ledger().build_block(&state, &env(), vec![good, gapped]);
    assert_eq!(built.transactions.len(), 1);
    assert_eq!(skipped.len(), 1);
    let replay = ledger()
        .execute_block(&state, &env(), built.transactions.clone())
        .expect("valid");
    assert_eq!(replay.state_root, built.state_root);
    assert_eq!(replay.receipts_root, built.receipts_root);
}

/// A source that records the prefetch hints it is given, and counts the folds it is told of.
#[derive(Default)]
struct HintSource {
    hints: std::sync::Mutex<Vec<alloy_primitives::B256>>,
    folds: std::sync::atomic::AtomicUsize,
}

impl lazai_ledger::StateSource for HintSource {
    fn entry(&self, _: &alloy_primitives::B256) -> Option<Bytes> {
        None
    }
    fn node(&self, _: &alloy_primitives::B256) -> Option<Bytes> {
        None
    }
    fn prefetch(&self, key: &alloy_primitives::B256, _old: Option<&Bytes>) {
        self.hints.lock().expect("test lock").push(*key);
    }
    fn folding(&self) {
        self.folds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A state on a [`HintSource`] where `funded` holds `balance`, folded and with its changes taken.
fn hinted_state(
    funded: &alloy_signer_local::PrivateKeySigner,
    balance: U256,
) -> (std::sync::Arc<HintSource>, lazai_ledger::State) {
    let source = std::sync::Arc::new(HintSource::default());
    let mut state = lazai_ledger::State::at(source.clone(), lazai_ledger::EMPTY_ROOT);
    let mut account = state.account(&funded.address());
    account.balance = balance;
    state.set_account(&funded.address(), account);
    state.commit_root();
    let _ = state.take_changes();
    (source, state)
}

/// Executing or building a block hints the source with every key the block writes, once per
/// key, and tells it when the block's root fold starts; writes outside a block (a simulated
/// call, a test's setup) and tracing give no hints and no fold notice.
#[test]
fn a_block_hints_its_source_with_the_keys_it_writes() {
    use lazai_ledger::account_key;
    let (alice, bob) = (signer(0), signer(1));
    let (source, state) = hinted_state(&alice, U256::from(10u128.pow(18)));
    assert!(source.hints.lock().expect("test lock").is_empty());

    let txs: Vec<_> = (0..3)
        .map(|n| {
            std::sync::Arc::new(recover(
                &Tx::transfer(n, bob.address(), U256::from(1)).eip1559(&alice),
            ))
        })
        .collect();
    let executed = ledger()
        .execute_block(&state, &env(), txs.clone())
        .expect("valid");
    let folds = || source.folds.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(folds(), 1, "the block's fold");
    let hints = std::mem::take(&mut *source.hints.lock().expect("test lock"));
    let written: std::collections::BTreeSet<_> = executed.changes.entries.keys().copied().collect();
    let hinted: std::collections::BTreeSet<_> = hints.iter().copied().collect();
    assert_eq!(hints.len(), hinted.len(), "one hint per key: {hints:?}");
    assert_eq!(hinted, written);
    assert!(hinted.contains(&account_key(&alice.address())));
    assert!(hinted.contains(&account_key(&bob.address())));

    let (built, _) = ledger().build_block(&state, &env(), txs.clone());
    let hinted: std::collections::BTreeSet<_> =
        std::mem::take(&mut *source.hints.lock().expect("test lock"))
            .into_iter()
            .collect();
    assert_eq!(hinted, built.changes.entries.keys().copied().collect());
    assert_eq!(folds(), 2, "the built block's fold");

    // The executed post-state and the tracer's pre-states hint nothing.
    let mut after = executed.state.clone();
    after.set(account_key(&bob.address()), Bytes::from_static(b"x"));
    after.commit_root();
    let (mut before, _) = ledger()
        .state_before(&state, &env(), &txs, 2)
        .expect("valid");
    before.commit_root();
    assert!(source.hints.lock().expect("test lock").is_empty());
    assert_eq!(folds(), 2, "no fold notice outside a block");
}

/// A block that writes more keys than `FOLD_AHEAD_KEYS` folds part of its root on another
/// thread while it executes; executed and built, it gives the root computed from nothing over
/// its entries and the same changes.
#[test]
fn a_large_block_folds_ahead_to_the_same_root_and_changes() {
    use lazai_ledger::{FOLD_AHEAD_KEYS, State};
    let (alice, recipients) = (signer(0), FOLD_AHEAD_KEYS + 200);
    let (source, state) = hinted_state(&alice, U256::from(10u128.pow(24)));
    let txs: Vec<_> = (0..recipients as u64)
        .map(|n| {
            let to = alloy_primitives::Address::with_last_byte(0).create(n);
            std::sync::Arc::new(recover(&Tx::transfer(n, to, U256::from(1)).eip1559(&alice)))
        })
        .collect();
    let executed = ledger()
        .execute_block(&state, &env(), txs.clone())
        .expect("valid");
    let folds = source.folds.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        folds >= 2,
        "a fold ran ahead of the block's last one: {folds}"
    );
    assert!(executed.changes.entries.len() > FOLD_AHEAD_KEYS);
    let scratch = State::from_entries(
        executed
            .state
            .writes()
            .filter_map(|(k, v)| v.map(|v| (*k, v.clone()))),
    );
    assert_eq!(executed.state_root, scratch.root());
    let (built, skipped) = ledger().build_block(&state, &env(), txs);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(built.state_root, executed.state_root);
    assert_eq!(built.changes, executed.changes);
}
