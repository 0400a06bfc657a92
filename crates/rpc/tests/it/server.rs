//! Protocol behaviour: batches, limits, error codes, CORS, stopping.

use crate::client::{call, error, http, post, result};
use crate::mock::signed_transfer;
use crate::start;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

fn batch_of(calls: usize) -> String {
    let calls: Vec<Value> = (0..calls)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []}))
        .collect();
    Value::Array(calls).to_string()
}

#[tokio::test]
async fn port_zero_binds_a_real_port_and_stops() {
    let (handle, _) = start().await;
    assert_ne!(handle.local_addr().port(), 0);
    handle.stop().expect("stops once");
    handle.clone().stopped().await;
    assert!(handle.is_stopped());
    assert!(handle.stop().is_err());
}

#[tokio::test]
async fn batch_within_the_limit_answers_every_call_in_order() {
    let (handle, _) = start().await;
    let response = post(handle.local_addr(), &batch_of(10)).await;
    assert_eq!(response.status, 200);
    let answers = response.json();
    let answers = answers.as_array().expect("array of responses");
    assert_eq!(answers.len(), 10);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["id"], i);
        assert_eq!(answer["result"], "0x20a56");
    }
}

#[tokio::test]
async fn batch_over_the_limit_is_refused() {
    let (handle, _) = start().await;
    let response = post(handle.local_addr(), &batch_of(11)).await;
    let body = response.json();
    assert_eq!(body["error"]["code"], -32010, "{body}");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let (handle, _) = start().await;
    let padding = "0".repeat(70 * 1024);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": [format!("0x{padding}")]});
    let response = post(handle.local_addr(), &body.to_string()).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"]["code"], -32007);
}

#[tokio::test]
async fn unknown_method_and_invalid_params_use_standard_codes() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    assert_eq!(error(addr, "eth_mine", json!([])).await["code"], -32601);
    assert_eq!(
        error(addr, "eth_getBalance", json!(["not-an-address"])).await["code"],
        -32602
    );
    assert_eq!(
        error(addr, "eth_sendRawTransaction", json!([42])).await["code"],
        -32602
    );
    // Garbage that is not JSON at all.
    let response = post(addr, "{not json").await;
    assert_eq!(response.json()["error"]["code"], -32700);
}

#[tokio::test]
async fn batched_submissions_are_pooled_and_keep_their_order() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let mut calls = Vec::new();
    // Three submissions, a read, then two more submissions (one of them refused).
    for nonce in [5u64, 6, 7] {
        calls.push(json!({"jsonrpc": "2.0", "id": nonce, "method": "eth_sendRawTransaction", "params": [signed_transfer(nonce)]}));
    }
    calls.push(json!({"jsonrpc": "2.0", "id": "read", "method": "eth_blockNumber", "params": []}));
    calls.push(json!({"jsonrpc": "2.0", "id": 8, "method": "eth_sendRawTransaction", "params": [signed_transfer(8)]}));
    calls.push(json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [signed_transfer(1)]}));
    calls.push(json!({"jsonrpc": "2.0", "id": "bad", "method": "eth_sendRawTransaction", "params": ["0xzz"]}));
    let response = post(addr, &Value::Array(calls).to_string()).await.json();
    let answers = response.as_array().expect("array");
    let ids: Vec<Value> = answers.iter().map(|a| a["id"].clone()).collect();
    assert_eq!(
        ids,
        vec![
            json!(5),
            json!(6),
            json!(7),
            json!("read"),
            json!(8),
            json!(1),
            json!("bad")
        ]
    );
    for answer in &answers[..3] {
        assert!(
            answer["result"].as_str().is_some_and(|h| h.len() == 66),
            "{answer}"
        );
    }
    assert_eq!(answers[3]["result"], "0x1");
    assert!(answers[4]["result"].is_string());
    assert_eq!(answers[5]["error"]["code"], -32000);
    assert_eq!(
        answers[5]["error"]["message"],
        "nonce too low: next nonce 5, tx nonce 1"
    );
    assert_eq!(answers[6]["error"]["code"], -32602);
    // Two runs of submissions: two pooled calls, no single submits.
    assert_eq!(mock.submit_many_calls.load(Ordering::SeqCst), 2);
    assert_eq!(mock.submit_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn bulk_submission_reports_each_transaction() {
    let (handle, mock) = start().await;
    let raws = json!([[signed_transfer(5), signed_transfer(0), "0x01"]]);
    let results = result(handle.local_addr(), "lazai_sendRawTransactions", raws).await;
    let results = results.as_array().expect("array");
    assert_eq!(results.len(), 3);
    assert!(results[0]["hash"].is_string() && results[0].get("error").is_none());
    assert_eq!(results[1]["error"]["code"], -32000);
    assert!(
        results[1]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("nonce too low"))
    );
    assert!(
        results[2]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid transaction encoding"))
    );
    assert_eq!(mock.submit_many_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cors_preflight_allows_any_origin() {
    let (handle, _) = start().await;
    let headers = [
        ("Origin", "https://dapp.example"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type"),
    ];
    let response = http(handle.local_addr(), "OPTIONS", &headers, "").await;
    assert!(response.status < 300, "status {}", response.status);
    assert_eq!(
        response.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let response = call(handle.local_addr(), "net_version", json!([])).await;
    assert_eq!(response["result"], "133718");
}

#[tokio::test]
async fn object_and_array_ids_are_invalid_requests() {
    let (handle, _) = start().await;
    let addr = handle.local_addr();
    for id in [json!({"a": 1}), json!([1])] {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId", "params": []});
        let response = post(addr, &body.to_string()).await;
        let answer = response.json();
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert_eq!(answer["id"], Value::Null, "{answer}");
    }
    // In a batch, only that entry is refused.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": {}, "method": "eth_chainId", "params": []},
    ]);
    let answers = post(addr, &batch.to_string()).await.json();
    assert_eq!(answers[0]["result"], "0x20a56", "{answers}");
    assert_eq!(answers[1]["error"]["code"], -32600, "{answers}");
    // A notification (no id) is still not an error.
    let note = json!({"jsonrpc": "2.0", "method": "eth_chainId", "params": []});
    let response = post(addr, &note.to_string()).await;
    assert_eq!(response.status, 200);
    assert!(!response.body.contains("error"), "{}", response.body);
}
