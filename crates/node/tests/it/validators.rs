//! Four validators in one process finalize blocks and agree on every block and state root.

use crate::support::*;
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use lazai_rpc::ChainApi;

#[test]
fn four_validators_agree_on_every_state_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 4, |devnet| async move {
        let p = provider(&devnet, account(1));
        for i in 0..5u64 {
            let receipt = transfer(&p, Address::repeat_byte(0x44), U256::from(i + 1)).await;
            assert!(receipt.status());
        }
        wait_for_height(&p, 12).await;
        // Every validator reaches the same height with the same blocks.
        let target = 12;
        for _ in 0..600 {
            if devnet.nodes.iter().all(|n| n.finalized_height() >= target) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        for h in 1..=target {
            let blocks: Vec<_> = devnet
                .nodes
                .iter()
                .map(|n| n.block_by_height(h).expect("finalized everywhere"))
                .collect();
            for b in &blocks[1..] {
                assert_eq!(b.hash(), blocks[0].hash(), "height {h}");
                assert_eq!(
                    b.header.state_root, blocks[0].header.state_root,
                    "height {h}"
                );
            }
        }
        let proposers: std::collections::BTreeSet<_> = (1..=target)
            .map(|h| {
                devnet.nodes[0]
                    .block_by_height(h)
                    .expect("block")
                    .header
                    .proposer
            })
            .collect();
        assert!(proposers.len() > 1, "leadership rotates among validators");
        let balance = p
            .get_balance(Address::repeat_byte(0x44))
            .await
            .expect("balance");
        assert_eq!(balance, U256::from(15));
    });
}
