//! Integration tests: validators running the full engine (simplex + marshal + finalizer) on the
//! deterministic runtime with a simulated network, and on tokio over real authenticated p2p.

mod authenticated;
mod byzantine;
mod faults;
mod mock;
mod simulated;

use commonware_cryptography::Signer;
use lazai_consensus::{EngineConfig, keys::key_from_seed};
use lazai_types::Address;
use std::time::Duration;

/// Chain id used by every test.
pub const CHAIN_ID: u64 = 1337;

/// Block size bound used by tests (keeps p2p message limits small).
pub const MAX_BLOCK_BYTES: usize = 1 << 20;

/// Engine configurations of an `n`-validator test network.
pub fn configs(n: usize, block_time: Duration) -> Vec<EngineConfig> {
    let keys: Vec<_> = (0..n as u64).map(|i| key_from_seed(1000 + i)).collect();
    let participants: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let mut config = EngineConfig::new(
                key,
                Address::repeat_byte(i as u8 + 1),
                participants.clone(),
                CHAIN_ID,
            );
            config.partition_prefix = format!("validator-{i}");
            config.block_time = block_time;
            config.max_block_bytes = MAX_BLOCK_BYTES;
            config
        })
        .collect()
}

/// Asserts every executor finalized the same chain up to the shortest one, and no contract
/// breaches; returns the common prefix length.
pub fn assert_consistent(executors: &[mock::MockExecutor]) -> usize {
    let chains: Vec<_> = executors.iter().map(|e| e.hashes()).collect();
    let common = chains.iter().map(Vec::len).min().unwrap_or(0);
    for (i, chain) in chains.iter().enumerate() {
        assert_eq!(
            chain[..common],
            chains[0][..common],
            "validator {i} diverges from validator 0"
        );
        assert!(
            executors[i].violations().is_empty(),
            "validator {i} saw executor contract violations: {:?}",
            executors[i].violations()
        );
    }
    for blocks in executors.iter().map(|e| e.blocks()) {
        for pair in blocks.windows(2) {
            assert_eq!(pair[1].header.parent_hash, pair[0].hash());
            assert!(pair[1].header.timestamp_ms > pair[0].header.timestamp_ms);
        }
    }
    common
}

/// Installs a log subscriber honoring `RUST_LOG` (once per process).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
