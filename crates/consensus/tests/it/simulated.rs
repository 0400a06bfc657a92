//! Deterministic runtime + simulated network: agreement, determinism, a single validator, and a
//! crash-restart of every validator from their storage.

use crate::{
    assert_consistent, configs, init_logging,
    mock::{MockExecutor, runner, start, wait_for},
};
use commonware_runtime::{Runner, deterministic};
use lazai_types::{Address, B256};
use std::{collections::BTreeSet, time::Duration};

const BLOCK_TIME: Duration = Duration::from_millis(200);

/// Runs `n` validators until all finalized `height`; returns their chains and the runtime audit.
fn run(seed: u64, n: usize, height: u64) -> (Vec<Vec<B256>>, String, BTreeSet<Address>) {
    let configs = configs(n, BLOCK_TIME);
    let executors: Vec<_> = (0..n).map(|_| MockExecutor::new()).collect();
    let audit = runner(seed).start(|context| {
        let executors = executors.clone();
        async move {
            let statuses = start(&context, &configs, &executors).await;
            wait_for(&context, &executors, height).await;
            for status in &statuses {
                assert!(status.finalized_height() >= height);
                assert!(status.view() >= height);
            }
            context.auditor().state()
        }
    });
    assert!(assert_consistent(&executors) >= height as usize);
    let proposers = executors[0]
        .blocks()
        .iter()
        .map(|b| b.header.proposer)
        .collect();
    (
        executors.iter().map(MockExecutor::hashes).collect(),
        audit,
        proposers,
    )
}

#[test]
fn four_validators_agree_on_every_block() {
    init_logging();
    let (chains, _, proposers) = run(1, 4, 20);
    for chain in &chains {
        assert!(chain.len() >= 20);
    }
    // Leadership rotates: every validator's fee recipient appears among the proposers.
    assert_eq!(proposers.len(), 4);
}

#[test]
fn same_seed_same_chain() {
    init_logging();
    let (first, audit_first, _) = run(7, 4, 8);
    let (second, audit_second, _) = run(7, 4, 8);
    assert_eq!(first, second);
    assert_eq!(audit_first, audit_second);
}

#[test]
fn single_validator_finalizes() {
    init_logging();
    let (chains, _, _) = run(3, 1, 15);
    assert!(chains[0].len() >= 15);
}

#[test]
fn validators_resume_after_crash() {
    init_logging();
    let n = 4;
    let configs = configs(n, BLOCK_TIME);
    let executors: Vec<_> = (0..n).map(|_| MockExecutor::new()).collect();

    // Run until height 10, then drop every task without shutdown (unsynced writes are lost).
    let ((), checkpoint) = runner(11).start_and_recover(|context| {
        let (configs, executors) = (configs.clone(), executors.clone());
        async move {
            start(&context, &configs, &executors).await;
            wait_for(&context, &executors, 10).await;
        }
    });
    let before: Vec<u64> = executors.iter().map(|e| e.hashes().len() as u64).collect();
    assert_consistent(&executors);

    // One executor lost its newest blocks (restored from an older copy): marshal replays them.
    executors[0].roll_back(3);

    deterministic::Runner::from(checkpoint).start(|context| {
        let (configs, executors) = (configs.clone(), executors.clone());
        async move {
            start(&context, &configs, &executors).await;
            wait_for(&context, &executors, 25).await;
        }
    });
    let common = assert_consistent(&executors);
    assert!(common >= 25);
    for (executor, before) in executors.iter().zip(before) {
        assert!(executor.hashes().len() as u64 >= before.max(25));
        let (_, verifies) = executor.counters();
        assert!(verifies > 0);
    }
}

#[test]
fn leader_cannot_credit_fees_to_another_identity() {
    init_logging();
    let mut configs = configs(4, BLOCK_TIME);
    let expected: std::collections::BTreeMap<_, _> = configs
        .iter()
        .map(|c| (c.public_key(), c.fee_recipient))
        .collect();
    for config in &mut configs {
        config.fee_recipients = expected.clone();
    }
    // Validator 3 writes somebody else's address into its blocks.
    let rogue = Address::repeat_byte(0xee);
    configs[3].fee_recipient = rogue;
    let executors: Vec<_> = (0..4).map(|_| MockExecutor::new()).collect();
    let honest = executors[..3].to_vec();
    runner(11).start(|context| {
        let executors = executors.clone();
        async move {
            start(&context, &configs, &executors).await;
            wait_for(&context, &executors[..3], 12).await;
        }
    });
    assert!(assert_consistent(&honest) >= 12);
    let proposers: BTreeSet<_> = honest[0]
        .blocks()
        .iter()
        .map(|b| b.header.proposer)
        .collect();
    assert!(
        !proposers.contains(&rogue),
        "a block crediting the wrong identity was finalized"
    );
    assert!(proposers.len() >= 2, "honest leaders keep the chain going");
}
