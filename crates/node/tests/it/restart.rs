//! A node dropped without shutdown restarts from its data dir at the same height, state root
//! and balances, and keeps finalizing.

use crate::support::*;
use alloy::providers::Provider;
use alloy::rpc::types::BlockNumberOrTag;
use alloy_primitives::{Address, U256};

#[test]
fn restart_resumes_at_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recipient = Address::repeat_byte(0x33);
    let (height, root, balance) = with_devnet(dir.path(), 1, move |devnet| async move {
        let p = provider(&devnet, account(0));
        let mut last = None;
        for i in 1..=3u64 {
            last = Some(transfer(&p, recipient, U256::from(i)).await);
        }
        let receipt = last.expect("sent");
        let chain = devnet.nodes[0].chain();
        let height = chain.finalized_height();
        let block = p
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .await
            .expect("rpc")
            .expect("block");
        assert!(height >= receipt.block_number.expect("mined"));
        (
            height,
            block.header.state_root,
            p.get_balance(recipient).await.expect("balance"),
        )
    });
    assert_eq!(balance, U256::from(6));
    with_devnet(dir.path(), 1, move |devnet| async move {
        let chain = devnet.nodes[0].chain();
        assert!(
            chain.finalized_height() >= height,
            "restarted below the finalized height"
        );
        let p = provider(&devnet, account(0));
        let block = p
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .await
            .expect("rpc")
            .expect("block survives");
        assert_eq!(block.header.state_root, root);
        assert_eq!(p.get_balance(recipient).await.expect("balance"), balance);
        assert_eq!(
            p.get_transaction_count(account(0).address())
                .await
                .expect("nonce"),
            3
        );
        // And the chain goes on from there.
        wait_for_height(&p, height + 3).await;
        assert!(transfer(&p, recipient, U256::from(1)).await.status());
    });
}
