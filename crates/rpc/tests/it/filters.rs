//! Polling filters over HTTP: ids, changes since the last poll, uninstalling, limits.

use crate::client::{call, error, result};
use crate::mock::event_log;
use crate::{start, start_with};
use alloy_primitives::B256;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn assert_hex_id(id: &Value) -> String {
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("filter id is a string: {id}"));
    assert!(id.starts_with("0x") && id.len() > 2, "{id}");
    assert!(id[2..].bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
    id.to_owned()
}

async fn changes(addr: SocketAddr, id: &str) -> Vec<Value> {
    let changes = result(addr, "eth_getFilterChanges", json!([id])).await;
    changes
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("an array: {changes}"))
}

#[tokio::test]
async fn block_and_log_filters_report_what_is_new_since_the_last_poll() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    mock.head.store(0, Ordering::SeqCst);
    let blocks = assert_hex_id(&result(addr, "eth_newBlockFilter", json!([])).await);
    let filter = json!({"address": format!("{}", event_log().address)});
    let logs = assert_hex_id(&result(addr, "eth_newFilter", json!([filter])).await);
    let other = json!({"address": "0x0000000000000000000000000000000000000001"});
    let unmatched = assert_hex_id(&result(addr, "eth_newFilter", json!([other])).await);
    assert!(changes(addr, &blocks).await.is_empty(), "nothing new yet");
    assert!(changes(addr, &logs).await.is_empty());

    // Block 1 is finalized.
    mock.head.store(1, Ordering::SeqCst);
    let hashes = changes(addr, &blocks).await;
    assert_eq!(hashes, vec![json!(format!("{}", mock.blocks[1].hash()))]);
    assert!(changes(addr, &blocks).await.is_empty(), "reported once");
    let found = changes(addr, &logs).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let log: alloy_rpc_types_eth::Log = serde_json::from_value(found[0].clone()).expect("a log");
    assert_eq!(log.inner, event_log());
    assert_eq!(log.block_number, Some(1));
    assert!(changes(addr, &logs).await.is_empty(), "reported once");
    assert!(changes(addr, &unmatched).await.is_empty());

    // getFilterLogs runs the filter's whole range, however often.
    let filter = json!({"address": format!("{}", event_log().address), "fromBlock": "0x0"});
    let ranged = assert_hex_id(&result(addr, "eth_newFilter", json!([filter])).await);
    for _ in 0..2 {
        let all = result(addr, "eth_getFilterLogs", json!([ranged])).await;
        assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    }
    // A block filter has no logs.
    let err = error(addr, "eth_getFilterLogs", json!([blocks])).await;
    assert_eq!(err["message"], "filter not found", "{err}");

    // Ids come back from clients in other spellings (alloy sends them as numbers).
    let upper = format!("0x{}", blocks[2..].to_ascii_uppercase());
    assert!(changes(addr, &upper).await.is_empty());

    assert_eq!(
        result(addr, "eth_uninstallFilter", json!([blocks])).await,
        true
    );
    assert_eq!(
        result(addr, "eth_uninstallFilter", json!([blocks])).await,
        false
    );
    let err = error(addr, "eth_getFilterChanges", json!([blocks])).await;
    assert_eq!(err["code"], -32000, "{err}");
    assert_eq!(err["message"], "filter not found");
    let err = error(addr, "eth_getFilterChanges", json!(["0x1234"])).await;
    assert_eq!(err["message"], "filter not found");
}

#[tokio::test]
async fn pending_transaction_filters_report_admitted_hashes() {
    let (handle, mock) = start().await;
    let addr = handle.local_addr();
    let id = assert_hex_id(&result(addr, "eth_newPendingTransactionFilter", json!([])).await);
    let full = assert_hex_id(&result(addr, "eth_newPendingTransactionFilter", json!([true])).await);
    let sent = [mock.tx.hash, B256::repeat_byte(7)];
    for hash in sent {
        mock.pending.send(hash).expect("the server listens");
    }
    let mut seen: Vec<Value> = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while seen.len() < 2 {
            seen.extend(changes(addr, &id).await);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("hashes reported");
    let expected: Vec<Value> = sent.iter().map(|h| json!(format!("{h}"))).collect();
    assert_eq!(seen, expected);
    assert!(changes(addr, &id).await.is_empty(), "reported once");
    // Whole transactions; the unknown hash is left out.
    let txs = changes(addr, &full).await;
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!(txs[0]["hash"], json!(format!("{}", mock.tx.hash)));
}

#[tokio::test]
async fn filters_per_client_are_capped_with_a_clear_error() {
    let (handle, _) = start_with(|config| config.filters.max_filters_per_client = 2).await;
    let addr = handle.local_addr();
    let first = result(addr, "eth_newBlockFilter", json!([])).await;
    result(addr, "eth_newPendingTransactionFilter", json!([])).await;
    let refused = call(addr, "eth_newFilter", json!([{}])).await;
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("too many filters") && message.contains("limit"),
        "{message}"
    );
    assert_eq!(
        result(addr, "eth_uninstallFilter", json!([first])).await,
        true
    );
    result(addr, "eth_newFilter", json!([{}])).await;
}

#[tokio::test]
async fn a_filter_cannot_name_a_block_hash() {
    let (handle, mock) = start().await;
    let filter = json!({"blockHash": format!("{}", mock.blocks[1].hash())});
    let err = error(handle.local_addr(), "eth_newFilter", json!([filter])).await;
    assert_eq!(err["code"], -32602, "{err}");
}
