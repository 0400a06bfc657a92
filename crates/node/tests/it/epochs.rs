//! Epochs on a running network: the validator set is re-elected from stake at every boundary
//! and consensus moves to it without a fork.

use crate::support::*;
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use lazai_rpc::ChainApi;

/// Waits until every node has finalized `height`.
async fn all_reach(devnet: &lazai_node::Devnet, height: u64) {
    for _ in 0..1200 {
        if devnet.nodes.iter().all(|n| n.finalized_height() >= height) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not every node reached height {height}");
}

fn assert_same_chain(devnet: &lazai_node::Devnet, through: u64) {
    for h in 1..=through {
        let hashes: Vec<_> = devnet
            .nodes
            .iter()
            .map(|n| n.block_by_height(h).expect("finalized everywhere").hash())
            .collect();
        assert!(hashes.iter().all(|x| *x == hashes[0]), "height {h}: {hashes:?}");
    }
}

#[test]
fn consensus_crosses_epoch_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet_genesis(
        dir.path(),
        4,
        |g| {
            g.staking.epoch_length = 4;
            g.staking.unbonding_delay = 8;
        },
        |devnet| async move {
            let p = provider(&devnet, account(1));
            let receipt = transfer(&p, Address::repeat_byte(0x55), U256::from(7)).await;
            assert!(receipt.status());
            // Heights 0..=3 are epoch 0; 17 is in epoch 4.
            all_reach(&devnet, 17).await;
            assert_same_chain(&devnet, 17);
            let status = devnet.nodes[0].status();
            assert!(status.epoch >= 4, "epoch {}", status.epoch);
            assert_eq!(status.validators.len(), 4);
            assert!(status.validators.iter().all(|v| v.stake > U256::ZERO));
            // A transaction after several transitions still finalizes.
            let receipt = transfer(&p, Address::repeat_byte(0x55), U256::from(8)).await;
            assert!(receipt.status());
            let balance = p.get_balance(Address::repeat_byte(0x55)).await.expect("balance");
            assert_eq!(balance, U256::from(15));
        },
    );
}
