//! Subscriptions over WebSocket on the HTTP port.

use crate::mock::event_log;
use crate::start;
use futures::{SinkExt, StreamExt};
use lazai_rpc::FinalizedBlock;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("message in time")
            .expect("socket open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("json message");
        }
    }
}

async fn subscribe(socket: &mut Socket, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": params});
    socket
        .send(Message::text(request.to_string()))
        .await
        .expect("sends");
    let answer = next_json(socket).await;
    // A hex string, as geth sends: viem and web3.py do not accept a number.
    let id = answer["result"]
        .as_str()
        .unwrap_or_else(|| panic!("a string id: {answer}"));
    assert!(id.starts_with("0x") && id.len() > 2, "{answer}");
    assert!(id[2..].bytes().all(|c| c.is_ascii_hexdigit()), "{answer}");
    answer["result"].clone()
}

#[tokio::test]
async fn new_heads_and_logs_are_pushed_on_finalization() {
    let (handle, mock) = start().await;
    let url = format!("ws://{}", handle.local_addr());
    let (mut heads, _) = connect_async(url.as_str()).await.expect("ws connects");
    let (mut logs, _) = connect_async(url.as_str()).await.expect("ws connects");
    let heads_id = subscribe(&mut heads, json!(["newHeads"])).await;
    let filter = json!({"address": format!("{}", event_log().address), "topics": [null, [format!("{}", event_log().topics()[1])]]});
    let logs_id = subscribe(&mut logs, json!(["logs", filter])).await;

    let block = mock.blocks[1].clone();
    let finalized = FinalizedBlock {
        hash: block.hash(),
        block,
        receipts: mock.receipts[1].clone(),
    };
    mock.finalized
        .send(finalized.clone())
        .expect("subscribers listen");

    let note = next_json(&mut heads).await;
    assert_eq!(note["method"], "eth_subscription");
    assert_eq!(note["params"]["subscription"], heads_id);
    let header = &note["params"]["result"];
    assert_eq!(header["number"], "0x1");
    assert_eq!(header["hash"], format!("{}", finalized.hash));
    serde_json::from_value::<alloy_rpc_types_eth::Header>(header.clone()).expect("alloy header");

    let note = next_json(&mut logs).await;
    assert_eq!(note["params"]["subscription"], logs_id);
    let log: alloy_rpc_types_eth::Log =
        serde_json::from_value(note["params"]["result"].clone()).expect("alloy log");
    assert_eq!(log.inner, event_log());
    assert_eq!(log.log_index, Some(0));
    assert_eq!(log.block_number, Some(1));

    let request =
        json!({"jsonrpc": "2.0", "id": 2, "method": "eth_unsubscribe", "params": [heads_id]});
    heads
        .send(Message::text(request.to_string()))
        .await
        .expect("sends");
    assert_eq!(next_json(&mut heads).await["result"], true);
}

#[tokio::test]
async fn unsupported_subscription_is_refused() {
    let (handle, _) = start().await;
    let url = format!("ws://{}", handle.local_addr());
    let (mut socket, _) = connect_async(url.as_str()).await.expect("ws connects");
    let request =
        json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["syncing"]});
    socket
        .send(Message::text(request.to_string()))
        .await
        .expect("sends");
    let answer = next_json(&mut socket).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
}

#[tokio::test]
async fn pending_transactions_are_pushed_as_hashes_or_whole() {
    let (handle, mock) = start().await;
    let url = format!("ws://{}", handle.local_addr());
    let (mut hashes, _) = connect_async(url.as_str()).await.expect("ws connects");
    let (mut whole, _) = connect_async(url.as_str()).await.expect("ws connects");
    let hashes_id = subscribe(&mut hashes, json!(["newPendingTransactions"])).await;
    let whole_id = subscribe(&mut whole, json!(["newPendingTransactions", true])).await;
    assert_ne!(hashes_id, whole_id);
    mock.pending.send(mock.tx.hash).expect("subscribers listen");

    let note = next_json(&mut hashes).await;
    assert_eq!(note["params"]["subscription"], hashes_id);
    assert_eq!(note["params"]["result"], format!("{}", mock.tx.hash));
    let note = next_json(&mut whole).await;
    assert_eq!(note["params"]["subscription"], whole_id);
    assert_eq!(
        note["params"]["result"]["hash"],
        format!("{}", mock.tx.hash)
    );
    assert_eq!(note["params"]["result"]["nonce"], "0x0");
}
