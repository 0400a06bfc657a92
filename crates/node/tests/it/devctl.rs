//! The devnet controls Hardhat and Foundry suites call: blocks on demand (`--block-time 0`),
//! `evm_mine` / `hardhat_mine`, a movable clock, balances set by transfers, and the refusals of
//! what BFT finality rules out.

use crate::support::*;
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use serde_json::{Value, json};
use std::time::Duration;

async fn rpc(devnet: &lazai_node::Devnet, method: &str, params: Value) -> Value {
    raw_call(
        devnet,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .await
}

fn on_demand(settings: &mut lazai_node::NodeSettings) {
    settings.block_time = Duration::ZERO;
    settings.dev = Some(lazai_types::DevControls::new(true));
}

async fn timestamp(p: &alloy::providers::DynProvider, height: u64) -> u64 {
    p.get_block_by_number(height.into())
        .await
        .expect("getBlockByNumber")
        .expect("block")
        .header
        .timestamp
}

#[test]
fn an_on_demand_devnet_makes_blocks_when_asked_and_moves_its_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet_settings(
        dir.path(),
        1,
        |_| {},
        on_demand,
        |devnet| async move {
            let p = provider(&devnet, account(0));
            // Idle: no blocks.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let idle = p.get_block_number().await.expect("blockNumber");
            tokio::time::sleep(Duration::from_millis(600)).await;
            assert_eq!(p.get_block_number().await.expect("blockNumber"), idle);

            // evm_mine makes one block and returns once it is final.
            let r = rpc(&devnet, "evm_mine", json!([])).await;
            assert_eq!(r["result"], "0x0", "{r}");
            assert_eq!(p.get_block_number().await.expect("blockNumber"), idle + 1);

            // A transaction makes its own block.
            let receipt = transfer(&p, account(1).address(), U256::from(7)).await;
            assert!(receipt.status());
            let after_tx = p.get_block_number().await.expect("blockNumber");
            assert!(after_tx > idle + 1);

            // The clock: an hour later, then an exact timestamp, then blocks an interval apart.
            let before = timestamp(&p, after_tx).await;
            let r = rpc(&devnet, "evm_increaseTime", json!([3600])).await;
            assert!(r["result"].as_i64().unwrap_or(0) >= 3600, "{r}");
            rpc(&devnet, "evm_mine", json!([])).await;
            let height = p.get_block_number().await.expect("blockNumber");
            assert!(timestamp(&p, height).await >= before + 3600);

            let exact = timestamp(&p, height).await + 1_000;
            let r = rpc(&devnet, "evm_setNextBlockTimestamp", json!([exact])).await;
            assert!(r.get("error").is_none(), "{r}");
            rpc(&devnet, "evm_mine", json!([])).await;
            let height = p.get_block_number().await.expect("blockNumber");
            assert_eq!(timestamp(&p, height).await, exact);
            let r = rpc(&devnet, "evm_setNextBlockTimestamp", json!([exact])).await;
            assert_eq!(r["error"]["code"], -32602, "{r}");
            assert!(
                r["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("lower than or equal")
            );

            let r = rpc(&devnet, "hardhat_mine", json!(["0x3", "0x3c"])).await;
            assert_eq!(r["result"], true, "{r}");
            let last = p.get_block_number().await.expect("blockNumber");
            assert!(last >= height + 3);
            assert!(timestamp(&p, last).await >= exact + 120);
            let r = rpc(&devnet, "anvil_mine", json!([2000])).await;
            assert_eq!(r["error"]["code"], -32602, "{r}");

            // Balances, by transfers from and to the dev accounts.
            let stranger = Address::repeat_byte(0x42);
            let five = U256::from(5u128 * 10u128.pow(18));
            let r = rpc(&devnet, "hardhat_setBalance", json!([stranger, five])).await;
            assert_eq!(r["result"], true, "{r}");
            assert_eq!(p.get_balance(stranger).await.expect("balance"), five);
            let one = U256::from(10u128.pow(18));
            let dev = account(3).address();
            let r = rpc(&devnet, "anvil_setBalance", json!([dev, one])).await;
            assert!(r.get("error").is_none(), "{r}");
            assert_eq!(p.get_balance(dev).await.expect("balance"), one);
            let r = rpc(&devnet, "hardhat_setBalance", json!([stranger, one])).await;
            assert!(
                r["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("cannot lower"),
                "{r}"
            );
            assert_eq!(p.get_balance(stranger).await.expect("balance"), five);

            // What would rewrite history or act without a key is refused, with the reason.
            for (method, params) in [
                ("evm_snapshot", json!([])),
                ("evm_revert", json!(["0x1"])),
                ("hardhat_reset", json!([])),
                ("anvil_impersonateAccount", json!([stranger])),
                ("hardhat_setCode", json!([stranger, "0x00"])),
                ("hardhat_setStorageAt", json!([stranger, "0x0", "0x1"])),
            ] {
                let r = rpc(&devnet, method, params).await;
                assert_eq!(r["error"]["code"], -32004, "{method}: {r}");
                assert!(
                    r["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("not available on LazChain"),
                    "{method}: {r}"
                );
            }
        },
    );
}

#[test]
fn a_timed_devnet_mines_by_waiting_and_a_node_has_no_controls() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let p = provider(&devnet, account(0));
        wait_for_height(&p, 1).await;
        let before = p.get_block_number().await.expect("blockNumber");
        let r = rpc(&devnet, "evm_mine", json!([])).await;
        assert_eq!(r["result"], "0x0", "{r}");
        assert!(p.get_block_number().await.expect("blockNumber") > before);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet_settings(
        dir.path(),
        1,
        |_| {},
        |s| s.dev = None,
        |devnet| async move {
            let r = rpc(&devnet, "evm_mine", json!([])).await;
            assert_eq!(r["error"]["code"], -32602, "{r}");
            assert!(
                r["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("only served by"),
                "{r}"
            );
            // Refusals say why on any node.
            let r = rpc(&devnet, "evm_snapshot", json!([])).await;
            assert_eq!(r["error"]["code"], -32004, "{r}");
        },
    );
}
