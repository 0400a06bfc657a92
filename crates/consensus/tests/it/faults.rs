//! Fault scenarios for four validators on the deterministic runtime and simulated network: a 2|2
//! partition and its healing, lossy and jittery links, one validator crashing and catching up
//! while the others continue, and seed-determinism of all three. Time is simulated throughout.

use crate::{
    assert_consistent, configs, init_logging,
    mock::{MockExecutor, default_link, link, runner, spawn_validator, unlinked_network},
};
use commonware_p2p::simulated::{Link, Oracle};
use commonware_runtime::{Clock, Metrics, Runner, deterministic::Context};
use lazai_consensus::{EngineConfig, Executor, keys::PublicKey};
use lazai_types::{Address, B256};
use std::{collections::BTreeMap, time::Duration};

const VALIDATORS: usize = 4;
const BLOCK_TIME: Duration = Duration::from_millis(200);
/// The validator the crash scenario takes down.
const CRASHED: usize = VALIDATORS - 1;
/// Simulated time allowed for any expected progress before a test fails.
const PROGRESS_LIMIT: Duration = Duration::from_secs(90);

/// What a scenario left behind: every validator's finalized chain and the runtime audit digest.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    chains: Vec<Vec<B256>>,
    audit: String,
}

fn participants(configs: &[EngineConfig]) -> Vec<PublicKey> {
    configs[0].participants.clone()
}

fn executors() -> Vec<MockExecutor> {
    (0..VALIDATORS).map(|_| MockExecutor::new()).collect()
}

fn heights(executors: &[MockExecutor]) -> Vec<u64> {
    executors
        .iter()
        .map(MockExecutor::last_finalized_height)
        .collect()
}

fn max_height(executors: &[MockExecutor]) -> u64 {
    heights(executors).into_iter().max().unwrap_or(0)
}

/// Removes the links in both directions between every member of `a` and every member of `b`.
async fn unlink(oracle: &Oracle<PublicKey, Context>, a: &[PublicKey], b: &[PublicKey]) {
    for x in a {
        for y in b {
            oracle
                .remove_link(x.clone(), y.clone())
                .await
                .expect("remove link");
            oracle
                .remove_link(y.clone(), x.clone())
                .await
                .expect("remove link");
        }
    }
}

/// Waits until every executor finalized `height`; fails if that takes more than
/// [`PROGRESS_LIMIT`] of simulated time.
async fn reach(context: &Context, executors: &[MockExecutor], height: u64) {
    let deadline = context.current() + PROGRESS_LIMIT;
    while executors.iter().any(|e| e.last_finalized_height() < height) {
        assert!(
            context.current() < deadline,
            "not every validator finalized height {height} within {PROGRESS_LIMIT:?}: {:?}",
            heights(executors)
        );
        context.sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts that validators finalized the same block (same hash, hence same state root) at every
/// height any two of them finalized, with no executor contract breach; returns the finalized
/// hashes of every validator.
fn assert_agree(executors: &[MockExecutor]) -> Vec<Vec<B256>> {
    let mut by_height: BTreeMap<u64, (usize, B256, B256)> = BTreeMap::new();
    for (i, executor) in executors.iter().enumerate() {
        for (index, block) in executor.blocks().iter().enumerate() {
            let height = block.header.height;
            assert_eq!(height, index as u64 + 1, "validator {i} skipped a height");
            let (hash, root) = (block.hash(), block.header.state_root);
            let (first, first_hash, first_root) =
                *by_height.entry(height).or_insert((i, hash, root));
            assert_eq!(
                (hash, root),
                (first_hash, first_root),
                "validators {first} and {i} finalized different blocks at height {height}"
            );
        }
    }
    assert_consistent(executors);
    executors.iter().map(MockExecutor::hashes).collect()
}

/// Finalizes to height 5, cuts every link between {0, 1} and {2, 3} for five skip timeouts,
/// then heals the links and finalizes 10 more blocks.
fn partition(seed: u64) -> Outcome {
    let configs = configs(VALIDATORS, BLOCK_TIME);
    let executors = executors();
    let timeouts = configs[0].timeouts();
    let audit = runner(seed).start(|context| {
        let executors = executors.clone();
        async move {
            let keys = participants(&configs);
            let oracle = unlinked_network(&context, &keys).await;
            link(&oracle, &keys, &keys, &default_link()).await;
            let statuses: Vec<_> = configs
                .iter()
                .zip(&executors)
                .enumerate()
                .map(|(i, (config, executor))| {
                    spawn_validator(&context, &oracle, i, config, executor).0
                })
                .collect();
            reach(&context, &executors, 5).await;

            let (left, right) = keys.split_at(VALIDATORS / 2);
            unlink(&oracle, left, right).await;
            // Messages already on the wire land well within a leader timeout.
            context.sleep(timeouts.leader).await;
            let halted = heights(&executors);
            let halted_views: Vec<u64> = statuses.iter().map(|s| s.view()).collect();
            assert_agree(&executors);

            // Each side holds 2 of 4 votes, short of the quorum of 3: no view can be notarized,
            // nullified or finalized however many timeouts fire.
            context.sleep(timeouts.skip * 5).await;
            assert_eq!(
                heights(&executors),
                halted,
                "finality advanced without a quorum"
            );
            assert_eq!(
                statuses.iter().map(|s| s.view()).collect::<Vec<_>>(),
                halted_views,
                "a view was certified without a quorum"
            );
            assert_agree(&executors);

            link(&oracle, left, right, &default_link()).await;
            reach(&context, &executors, halted.iter().max().unwrap_or(&0) + 10).await;
            context.auditor().state()
        }
    });
    Outcome {
        chains: assert_agree(&executors),
        audit,
    }
}

/// ~10% of messages dropped, latency 125 ms ± 75 ms (normal), on every link.
fn lossy_link() -> Link {
    Link {
        latency: Duration::from_millis(125),
        jitter: Duration::from_millis(75),
        success_rate: commonware_utils::probability!(9, 10),
    }
}

/// Sums a counter family of the simulated network over every label set.
fn network_counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Finalizes to `height` with every link lossy and jittery. Returns the executors, the runtime
/// audit digest and the fraction of sent messages the network delivered.
fn lossy(seed: u64, height: u64) -> (Vec<MockExecutor>, String, f64) {
    let configs = configs(VALIDATORS, BLOCK_TIME);
    let executors = executors();
    let (audit, delivered) = runner(seed).start(|context| {
        let executors = executors.clone();
        async move {
            let keys = participants(&configs);
            let oracle = unlinked_network(&context, &keys).await;
            link(&oracle, &keys, &keys, &lossy_link()).await;
            for (i, (config, executor)) in configs.iter().zip(&executors).enumerate() {
                spawn_validator(&context, &oracle, i, config, executor);
            }
            reach(&context, &executors, height).await;
            let metrics = context.encode();
            let sent = network_counter(&metrics, "network_messages_sent_total");
            let received = network_counter(&metrics, "network_messages_received_total");
            assert!(sent > 0, "no network traffic recorded:\n{metrics}");
            (context.auditor().state(), received as f64 / sent as f64)
        }
    });
    (executors, audit, delivered)
}

/// Finalizes to height 5, crashes validator 3, lets the other three finalize 10 more blocks,
/// then restarts validator 3 over its storage and executor and finalizes 8 blocks past the tip
/// it rejoined at. Returns the outcome, the tip at restart, the height validator 3 crashed at and
/// the proposers of the blocks after that tip.
fn crash_one(seed: u64) -> (Outcome, u64, u64, Vec<Address>) {
    let configs = configs(VALIDATORS, BLOCK_TIME);
    let executors = executors();
    let timeouts = configs[0].timeouts();
    let (audit, tip, crashed_at) = runner(seed).start(|context| {
        let executors = executors.clone();
        async move {
            let keys = participants(&configs);
            let oracle = unlinked_network(&context, &keys).await;
            link(&oracle, &keys, &keys, &default_link()).await;
            let mut handles = Vec::new();
            for (i, (config, executor)) in configs.iter().zip(&executors).enumerate() {
                handles.push(spawn_validator(&context, &oracle, i, config, executor).1);
            }
            reach(&context, &executors, 5).await;

            handles[CRASHED].abort();
            context.sleep(timeouts.leader).await;
            let crashed_at = executors[CRASHED].last_finalized_height();
            let live = &executors[..CRASHED];
            let target = max_height(live) + 10;
            reach(&context, live, target).await;
            assert_eq!(
                executors[CRASHED].last_finalized_height(),
                crashed_at,
                "the crashed validator kept finalizing"
            );
            assert_agree(&executors);

            let tip = max_height(live);
            let (status, _handle) = spawn_validator(
                &context,
                &oracle,
                CRASHED,
                &configs[CRASHED],
                &executors[CRASHED],
            );
            reach(&context, &executors[CRASHED..], tip).await;
            reach(&context, &executors, tip + 8).await;
            // The restarted engine reports its progress (its status may trail the executor by
            // the block being acknowledged).
            assert!(status.finalized_height() >= tip);
            (context.auditor().state(), tip, crashed_at)
        }
    });
    let outcome = Outcome {
        chains: assert_agree(&executors),
        audit,
    };
    let proposers = executors[CRASHED]
        .blocks()
        .iter()
        .filter(|b| b.header.height > tip)
        .map(|b| b.header.proposer)
        .collect();
    (outcome, tip, crashed_at, proposers)
}

#[test]
fn partition_halts_finality_until_healed() {
    init_logging();
    let outcome = partition(21);
    for (i, chain) in outcome.chains.iter().enumerate() {
        assert!(chain.len() >= 15, "validator {i} finalized {}", chain.len());
    }
}

#[test]
fn lossy_jittery_links_keep_finalizing() {
    init_logging();
    let target = 15;
    let (executors, _, delivered) = lossy(1, target);
    for (i, chain) in assert_agree(&executors).iter().enumerate() {
        assert!(
            chain.len() as u64 >= target,
            "validator {i} finalized {}",
            chain.len()
        );
    }
    // The links really dropped about one message in ten.
    assert!(
        (0.8..0.95).contains(&delivered),
        "delivered fraction {delivered}"
    );
}

#[test]
fn crashed_validator_catches_up_while_others_continue() {
    init_logging();
    let (outcome, tip, crashed_at, proposers_after_tip) = crash_one(41);
    assert!(
        tip >= crashed_at + 10,
        "the others finalized only up to {tip} after the crash at {crashed_at}"
    );
    let chains = &outcome.chains;
    for (i, chain) in chains.iter().enumerate() {
        assert!(
            chain.len() as u64 >= tip + 8,
            "validator {i} finalized {}",
            chain.len()
        );
    }
    // Back in the rotation: the restarted validator leads blocks again.
    assert!(
        proposers_after_tip.contains(&configs(VALIDATORS, BLOCK_TIME)[CRASHED].fee_recipient),
        "validator {CRASHED} proposed none of the blocks after rejoining: {proposers_after_tip:?}"
    );
}

#[test]
fn same_seed_same_outcome() {
    init_logging();
    let first = partition(5);
    let second = partition(5);
    assert_eq!(first.chains[0].last(), second.chains[0].last());
    assert_eq!(first, second, "partition scenario is not reproducible");

    let lossy_outcome = |seed| {
        let (executors, audit, _) = lossy(seed, 8);
        Outcome {
            chains: assert_agree(&executors),
            audit,
        }
    };
    let (first, second) = (lossy_outcome(6), lossy_outcome(6));
    assert_eq!(first.chains[0].last(), second.chains[0].last());
    assert_eq!(first, second, "lossy scenario is not reproducible");
    // The seed drives the drops and delays, so the equality above is not vacuous.
    assert_ne!(first.audit, lossy_outcome(8).audit);

    let (first, ..) = crash_one(7);
    let (second, ..) = crash_one(7);
    assert_eq!(first.chains[0].last(), second.chains[0].last());
    assert_eq!(first, second, "crash scenario is not reproducible");
}

#[test]
#[should_panic(expected = "validators 0 and 1 finalized different blocks at height 1")]
fn agreement_check_catches_divergent_blocks() {
    let executors = [MockExecutor::new(), MockExecutor::new()];
    let genesis = executors[0].genesis();
    for (i, executor) in executors.iter().enumerate() {
        let block = executor
            .propose(&genesis, 1, Address::repeat_byte(i as u8 + 1), Vec::new())
            .expect("mock always proposes");
        executor.finalized(&block);
    }
    assert_agree(&executors);
}

/// Under message loss a validator can be asked to verify a child of a block that was its last
/// finalized block when the application checked it, but no longer is by the time the executor
/// would run. The application's finality gate makes the check and the executor call atomic
/// with respect to `Executor::finalized`, so the executor is never handed a superseded parent.
#[test]
fn lossy_links_never_breach_the_executor_contract() {
    init_logging();
    let mut breaches = Vec::new();
    for seed in 1..=16 {
        let (executors, ..) = lossy(seed, 15);
        for (i, executor) in executors.iter().enumerate() {
            for violation in executor.violations() {
                breaches.push(format!("seed {seed}, validator {i}: {violation}"));
            }
        }
    }
    assert!(breaches.is_empty(), "{breaches:#?}");
}
