//! `eth_*`, `net_*`, `web3_*` and `lazai_*` answers over HTTP.

use crate::client::{error, result};
use crate::mock::{ACCOUNT_NONCE, BASE_FEE, OOG_INPUT, REVERT_INPUT, TIP, event_log};
use crate::{start, start_with};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rpc_types_eth::{Block, FeeHistory, Log, Transaction, TransactionReceipt};
use alloy_sol_types::{Revert, SolError};
use serde_json::json;

#[tokio::test]
async fn identity_and_head() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    assert_eq!(result(addr, "eth_chainId", json!([])).await, "0x20a56");
    assert_eq!(result(addr, "net_version", json!([])).await, "133718");
    assert_eq!(result(addr, "net_listening", json!([])).await, true);
    assert_eq!(result(addr, "net_peerCount", json!([])).await, "0x3");
    assert_eq!(
        result(addr, "web3_clientVersion", json!([])).await,
        "lazai/test"
    );
    assert_eq!(
        result(addr, "lazai_clientVersion", json!([])).await,
        "lazai/test"
    );
    assert_eq!(
        result(addr, "web3_sha3", json!(["0x68656c6c6f"])).await,
        format!("{}", keccak256(b"hello"))
    );
    assert_eq!(result(addr, "eth_syncing", json!([])).await, false);
    assert_eq!(result(addr, "eth_accounts", json!([])).await, json!([]));
    assert_eq!(result(addr, "eth_blockNumber", json!([])).await, "0x1");
    let status = result(addr, "lazai_status", json!([])).await;
    assert_eq!(status["chainId"], 133_718);
    assert_eq!(status["finalizedHeight"], 1);
}

#[tokio::test]
async fn blocks_deserialize_into_alloy_types() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let json = result(addr, "eth_getBlockByNumber", json!(["0x1", true])).await;
    let block: Block = serde_json::from_value(json.clone()).expect("alloy block");
    assert_eq!(block.header.hash, mock.blocks[1].hash());
    assert_eq!(block.header.number, 1);
    assert_eq!(block.header.timestamp, 1_700_000_001);
    assert_eq!(block.header.beneficiary, Address::repeat_byte(0x99));
    assert_eq!(block.header.base_fee_per_gas, Some(BASE_FEE));
    assert_eq!(block.header.parent_hash, mock.blocks[0].hash());
    let txs = block
        .transactions
        .as_transactions()
        .expect("full transactions");
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].inner.signer(), mock.tx.sender);
    assert_eq!(txs[0].block_hash, Some(mock.blocks[1].hash()));
    assert_eq!(json["extraData"], "0x");
    assert_eq!(json["mixHash"], format!("{}", B256::ZERO));
    assert_eq!(json["uncles"], json!([]));

    let json = result(addr, "eth_getBlockByNumber", json!(["latest", false])).await;
    let block: Block = serde_json::from_value(json).expect("alloy block");
    assert_eq!(
        block.transactions.hashes().collect::<Vec<_>>(),
        vec![mock.tx.hash]
    );

    let hash = format!("{}", mock.blocks[0].hash());
    let json = result(addr, "eth_getBlockByHash", json!([hash, false])).await;
    assert_eq!(json["number"], "0x0");
    let earliest = result(addr, "eth_getBlockByNumber", json!(["earliest", false])).await;
    assert_eq!(earliest["hash"], hash);
    assert!(
        result(addr, "eth_getBlockByNumber", json!(["0x9", false]))
            .await
            .is_null()
    );
    assert_eq!(
        result(addr, "eth_getBlockTransactionCountByNumber", json!(["0x1"])).await,
        "0x1"
    );
    let by_index = result(
        addr,
        "eth_getTransactionByBlockNumberAndIndex",
        json!(["0x1", "0x0"]),
    )
    .await;
    assert_eq!(by_index["hash"], format!("{}", mock.tx.hash));
}

#[tokio::test]
async fn transaction_and_receipt_deserialize_into_alloy_types() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let hash = format!("{}", mock.tx.hash);
    let tx: Transaction =
        serde_json::from_value(result(addr, "eth_getTransactionByHash", json!([hash])).await)
            .expect("alloy transaction");
    assert_eq!(tx.inner.signer(), mock.tx.sender);
    assert_eq!(tx.block_number, Some(1));
    assert_eq!(tx.effective_gas_price, Some(u128::from(BASE_FEE) + TIP));

    let json = result(addr, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(json["status"], "0x1");
    assert_eq!(json["type"], "0x2");
    assert!(json["contractAddress"].is_null());
    let receipt: TransactionReceipt = serde_json::from_value(json).expect("alloy receipt");
    assert_eq!(receipt.transaction_hash, mock.tx.hash);
    assert_eq!(receipt.from, mock.tx.sender);
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.inner.logs()[0].log_index, Some(0));
    assert!(
        result(addr, "eth_getTransactionReceipt", json!([B256::ZERO]))
            .await
            .is_null()
    );
}

#[tokio::test]
async fn state_queries_outside_the_history_window_fail_clearly() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let who = format!("{}", Address::repeat_byte(1));
    assert_eq!(
        result(addr, "eth_getBalance", json!([who, "latest"])).await,
        "0xf4240"
    );
    let nonce = result(addr, "eth_getTransactionCount", json!([who, "latest"])).await;
    assert_eq!(nonce, format!("{ACCOUNT_NONCE:#x}"));
    let pending = result(addr, "eth_getTransactionCount", json!([who, "pending"])).await;
    assert_eq!(pending, format!("{:#x}", ACCOUNT_NONCE + 2));
    assert_eq!(
        result(addr, "eth_getTransactionCount", json!([who, "0x1"])).await,
        nonce
    );
    let head_hash = format!("{}", mock.blocks[1].hash());
    let by_hash = json!([who, {"blockHash": head_hash}]);
    assert_eq!(
        result(addr, "eth_getTransactionCount", by_hash).await,
        nonce
    );
    let old = error(addr, "eth_getTransactionCount", json!([who, "0x0"])).await;
    assert_eq!(old["code"], -32000);
    assert!(
        old["message"]
            .as_str()
            .is_some_and(|m| m.contains("historical state is not available")
                && m.contains("older than the last 1 blocks")),
        "{old}"
    );
    assert_eq!(
        error(addr, "eth_getBalance", json!([who, "0x7"])).await["code"],
        -32000
    );
    let slot = result(addr, "eth_getStorageAt", json!([who, "0x0", "latest"])).await;
    assert_eq!(slot, format!("{}", B256::ZERO));
    assert_eq!(result(addr, "eth_getCode", json!([who])).await, "0x");
}

#[tokio::test]
async fn calls_report_reverts_with_code_three_and_data() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    let to = format!("{}", Address::repeat_byte(0x22));
    let ok = json!([{"to": to, "input": "0x0102"}, "latest"]);
    assert_eq!(result(addr, "eth_call", ok.clone()).await, "0x0102");
    assert_eq!(
        result(addr, "eth_estimateGas", ok).await,
        format!("{:#x}", 21_002)
    );

    let revert = json!([{"to": to, "data": Bytes::from(REVERT_INPUT.to_vec())}]);
    let expected_data = format!("{}", Bytes::from(Revert::from("nope").abi_encode()));
    for method in ["eth_call", "eth_estimateGas"] {
        let err = error(addr, method, revert.clone()).await;
        assert_eq!(err["code"], 3, "{err}");
        assert_eq!(err["message"], "execution reverted: nope");
        assert_eq!(err["data"], expected_data);
    }
    let oog = json!([{"to": to, "data": Bytes::from(OOG_INPUT.to_vec()), "gas": "0x5208"}]);
    assert_eq!(
        error(addr, "eth_call", oog.clone()).await["message"],
        "out of gas"
    );
    let err = error(addr, "eth_estimateGas", oog).await;
    assert_eq!(err["message"], "gas required exceeds allowance (21000)");
    let conflicting = json!([{"to": to, "input": "0x01", "data": "0x02"}]);
    assert_eq!(error(addr, "eth_call", conflicting).await["code"], -32602);

    // A malformed state override set is refused, not silently ignored; an empty set or null
    // is no override.
    let overrides = json!({ to.clone(): { "balance": "0x1", "codeHash": "0x00" } });
    for method in ["eth_call", "eth_estimateGas"] {
        let err = error(
            addr,
            method,
            json!([{"to": to, "input": "0x0102"}, "latest", overrides]),
        )
        .await;
        assert_eq!(err["code"], -32602, "{method}: {err}");
        assert!(err.to_string().contains("codeHash"), "{err}");
        for none in [json!({}), json!(null)] {
            let params = json!([{"to": to, "input": "0x0102"}, "latest", none]);
            assert!(result(addr, method, params).await.is_string(), "{method}");
        }
    }
}

#[tokio::test]
async fn a_sender_that_cannot_pay_gets_insufficient_funds() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    let to = format!("{}", Address::repeat_byte(0x22));
    let from = format!("{}", Address::repeat_byte(0x23));
    // Every mock account holds 1_000_000 wei.
    let too_much = json!([{"from": from, "to": to, "value": "0xf4241"}]);
    // 2 gwei per gas: above the mock's base fee (so that check passes), far above the balance.
    let fee_too_high = json!([{"from": from, "to": to, "value": "0x1", "gas": "0x5208", "maxFeePerGas": "0x77359400"}]);
    for params in [too_much, fee_too_high] {
        for method in ["eth_call", "eth_estimateGas"] {
            let err = error(addr, method, params.clone()).await;
            assert_eq!(err["code"], -32000, "{method}: {err}");
            let message = err["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with("insufficient funds for gas * price + value"),
                "{method}: {err}"
            );
            assert!(err.get("data").is_none(), "{method}: {err}");
        }
    }
    let affordable = json!([{"from": from, "to": to, "value": "0xf4240"}]);
    assert_eq!(result(addr, "eth_estimateGas", affordable).await, "0x5208");
}

#[tokio::test]
async fn send_raw_transaction_reports_geth_messages() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let stale = crate::mock::signed_transfer(0);
    let err = error(addr, "eth_sendRawTransaction", json!([stale])).await;
    assert_eq!(err["code"], -32000);
    assert_eq!(err["message"], "nonce too low: next nonce 5, tx nonce 0");
    let err = error(addr, "eth_sendRawTransaction", json!(["0x"])).await;
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid transaction encoding"))
    );
    let fresh = crate::mock::signed_transfer(ACCOUNT_NONCE);
    let hash = result(addr, "eth_sendRawTransaction", json!([fresh.clone()])).await;
    assert_eq!(hash, format!("{}", keccak256(&fresh)));
    assert!(mock.submit_calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn fees_follow_the_next_base_fee() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    let price = result(addr, "eth_gasPrice", json!([])).await;
    assert_eq!(price, format!("{:#x}", u128::from(BASE_FEE + 1) + TIP));
    assert_eq!(
        result(addr, "eth_maxPriorityFeePerGas", json!([])).await,
        format!("{TIP:#x}")
    );
    let json = result(
        addr,
        "eth_feeHistory",
        json!(["0x5", "latest", [10.0, 90.0]]),
    )
    .await;
    let history: FeeHistory = serde_json::from_value(json).expect("alloy fee history");
    assert_eq!(history.oldest_block, 0);
    assert_eq!(
        history.base_fee_per_gas,
        vec![
            u128::from(BASE_FEE),
            u128::from(BASE_FEE),
            u128::from(BASE_FEE + 1)
        ]
    );
    assert_eq!(history.gas_used_ratio, vec![0.0, 21_000.0 / 30_000_000.0]);
    assert_eq!(history.reward, Some(vec![vec![TIP, TIP], vec![TIP, TIP]]));
    let err = error(
        addr,
        "eth_feeHistory",
        json!(["0x1", "latest", [90.0, 10.0]]),
    )
    .await;
    assert_eq!(err["code"], -32602);
}

#[tokio::test]
async fn logs_are_filtered_and_ranges_capped() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let log = event_log();
    let matching = json!([{
        "fromBlock": "earliest",
        "toBlock": "latest",
        "address": [format!("{}", log.address), format!("{}", Address::ZERO)],
        "topics": [format!("{}", log.topics()[0]), null],
    }]);
    let logs: Vec<Log> =
        serde_json::from_value(result(addr, "eth_getLogs", matching).await).expect("alloy logs");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].inner, log);
    assert_eq!(logs[0].transaction_hash, Some(mock.tx.hash));
    assert_eq!(logs[0].block_hash, Some(mock.blocks[1].hash()));

    let other_topic = json!([{"fromBlock": "0x0", "topics": [null, format!("{}", B256::ZERO)]}]);
    assert_eq!(result(addr, "eth_getLogs", other_topic).await, json!([]));
    let by_hash = json!([{"blockHash": format!("{}", mock.blocks[1].hash())}]);
    let found = result(addr, "eth_getLogs", by_hash).await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let too_wide = json!([{"fromBlock": "0x0", "toBlock": "0x1000"}]);
    let err = error(addr, "eth_getLogs", too_wide).await;
    assert_eq!(err["code"], -32005);
    assert_eq!(err["message"], "query exceeds max block range 100");
    let backwards = json!([{"fromBlock": "0x1", "toBlock": "0x0"}]);
    assert_eq!(error(addr, "eth_getLogs", backwards).await["code"], -32602);
}

#[tokio::test]
async fn log_results_are_capped() {
    let (handle, _) = start_with(|config| config.max_logs_per_query = 0).await;
    let err = error(
        handle.local_addr(),
        "eth_getLogs",
        json!([{"fromBlock": "0x0"}]),
    )
    .await;
    assert_eq!(err["code"], -32005);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("query returned more than 0"))
    );
}

#[tokio::test]
async fn get_proof_answers_in_its_documented_shape_and_bounds_its_input() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    let who = format!("{}", Address::repeat_byte(1));
    let proof = result(addr, "lazai_getProof", json!([who, ["0x01"], "latest"])).await;
    for field in [
        "blockNumber",
        "stateRoot",
        "address",
        "accountKey",
        "accountProof",
        "nonce",
        "balance",
        "storageProof",
    ] {
        assert!(proof.get(field).is_some(), "{field} missing: {proof}");
    }
    assert_eq!(proof["storageProof"][0]["slot"], "0x01");
    assert!(proof["storageProof"][0]["value"].is_null());
    let many: Vec<String> = (0..65).map(|i| format!("0x{i:02x}")).collect();
    let err = error(addr, "lazai_getProof", json!([who, many])).await;
    assert_eq!(err["code"], -32602, "{err}");
    let long = format!("0x{}", "ab".repeat(1025));
    let err = error(addr, "lazai_getProof", json!([who, [long]])).await;
    assert_eq!(err["code"], -32602, "{err}");
    let err = error(addr, "lazai_getProof", json!([who, [], "0x0"])).await;
    assert_eq!(err["code"], -32000, "outside the window: {err}");
    let err = error(addr, "lazai_getProof", json!(["0x12", []])).await;
    assert_eq!(err["code"], -32602, "a malformed address: {err}");
}

#[tokio::test]
async fn the_txpool_namespace_shows_the_pool_as_geth_does() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let status = result(addr, "txpool_status", json!([])).await;
    assert_eq!(status, json!({"pending": "0x1", "queued": "0x0"}));
    let sender = format!("{}", mock.tx.sender);
    let content = result(addr, "txpool_content", json!([])).await;
    let pooled = &content["pending"][&sender]["1"];
    assert_eq!(pooled["nonce"], "0x1", "{content}");
    assert!(
        pooled["blockHash"].is_null(),
        "a pooled transaction is in no block"
    );
    assert_eq!(content["queued"], json!({}));
    let from = result(addr, "txpool_contentFrom", json!([sender])).await;
    assert_eq!(from["pending"]["1"]["nonce"], "0x1");
    let nobody = result(
        addr,
        "txpool_contentFrom",
        json!([format!("{}", Address::repeat_byte(1))]),
    )
    .await;
    assert_eq!(nobody, json!({"pending": {}, "queued": {}}));
    let inspect = result(addr, "txpool_inspect", json!([])).await;
    let line = inspect["pending"][&sender]["1"]
        .as_str()
        .unwrap_or_default();
    assert!(line.contains(" wei + 21000 gas × "), "{line}");
}
