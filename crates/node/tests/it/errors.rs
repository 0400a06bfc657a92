//! Bad input over JSON-RPC: each gets a clear error, the node keeps running, the mempool and
//! state are untouched.

use crate::support::{account, provider, raw_call, raw_post, wait_for_height, with_devnet};
use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::providers::Provider;
use alloy::signers::SignerSync;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use serde_json::json;

fn signed(
    signer: &alloy_signer_local::PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    max_fee: u128,
    value: U256,
    input: Bytes,
) -> Bytes {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 30_000_000.min(21_000 + 16 * input.len() as u64 + 100_000),
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: max_fee.min(1_000_000_000),
        to: TxKind::Call(Address::repeat_byte(0x11)),
        value,
        input,
        access_list: Default::default(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

async fn send_raw_error(devnet: &lazai_node::Devnet, raw: &Bytes) -> (i64, String) {
    let reply = raw_call(
        devnet,
        json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[raw]}),
    )
    .await;
    let err = reply
        .get("error")
        .unwrap_or_else(|| panic!("expected an error, got {reply}"));
    (
        err["code"].as_i64().unwrap_or_default(),
        err["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn bad_transactions_and_requests_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, poor) = (account(0), alloy_signer_local::PrivateKeySigner::random());
        let p = provider(&devnet, alice.clone());
        wait_for_height(&p, 1).await;
        let gwei = 1_000_000_000u128;
        let cases: Vec<(Bytes, &str)> = vec![
            (
                signed(&alice, 1, 0, 2 * gwei, U256::ZERO, Bytes::new()),
                "invalid chain id",
            ),
            (
                signed(&alice, 133_718, 5, 2 * gwei, U256::ZERO, Bytes::new()),
                "nonce too high",
            ),
            (
                signed(&alice, 133_718, 0, 1, U256::ZERO, Bytes::new()),
                "max fee per gas less than block base fee",
            ),
            (
                signed(&poor, 133_718, 0, 2 * gwei, U256::from(1), Bytes::new()),
                "insufficient funds",
            ),
            (
                signed(
                    &alice,
                    133_718,
                    0,
                    2 * gwei,
                    U256::ZERO,
                    // Covers the calldata's standard cost but not Prague's floor (EIP-7623).
                    Bytes::from(vec![1u8; 10 * 1024]),
                ),
                "intrinsic gas too low",
            ),
            (
                signed(
                    &alice,
                    133_718,
                    0,
                    2 * gwei,
                    U256::ZERO,
                    Bytes::from(vec![1u8; 130 * 1024]),
                ),
                "too large",
            ),
            (
                Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
                "invalid transaction encoding",
            ),
        ];
        for (raw, expect) in &cases {
            let (code, message) = send_raw_error(&devnet, raw).await;
            assert!(
                message.contains(expect),
                "expected {expect:?}, got {code} {message:?}"
            );
        }
        // A pre-EIP-155 legacy transaction (no chain id) is refused.
        let legacy = TxLegacy {
            chain_id: None,
            nonce: 0,
            gas_price: 2 * gwei,
            gas_limit: 21_000,
            to: TxKind::Call(Address::ZERO),
            value: U256::ZERO,
            input: Bytes::new(),
        };
        let sig = alice
            .sign_hash_sync(&legacy.signature_hash())
            .expect("sign");
        let raw: Bytes = TxEnvelope::from(legacy.into_signed(sig))
            .encoded_2718()
            .into();
        assert!(
            send_raw_error(&devnet, &raw)
                .await
                .1
                .contains("replay-protected")
        );

        // Nothing was admitted and nothing changed.
        assert_eq!(
            p.get_transaction_count(alice.address())
                .pending()
                .await
                .expect("nonce"),
            0
        );
        assert_eq!(devnet.nodes[0].chain().mempool().len(), 0);

        // A good transaction, then its replay.
        let raw = signed(&alice, 133_718, 0, 2 * gwei, U256::from(1), Bytes::new());
        let sent = p.send_raw_transaction(&raw).await.expect("send");
        let receipt = sent.get_receipt().await.expect("receipt");
        assert!(receipt.status());
        assert!(
            send_raw_error(&devnet, &raw)
                .await
                .1
                .contains("nonce too low")
        );

        // Refused before running, in geth's words and code, without revert data: an unfunded
        // sender (ethers reads it as INSUFFICIENT_FUNDS) and fees that could not pay.
        let (from, to) = (poor.address().to_string(), alice.address().to_string());
        let rich = alice.address().to_string();
        for (call, words) in [
            (
                json!({"from": from, "to": to, "value": "0x1"}),
                "insufficient funds for gas * price + value",
            ),
            (
                json!({"from": rich, "to": to, "maxFeePerGas": "0x1"}),
                "max fee per gas less than block base fee",
            ),
            (
                json!({"from": rich, "to": to, "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x77359400"}),
                "max priority fee per gas higher than max fee per gas",
            ),
        ] {
            for method in ["eth_estimateGas", "eth_call"] {
                let r = raw_call(
                    &devnet,
                    json!({"jsonrpc":"2.0","id":1,"method":method,"params":[call]}),
                )
                .await;
                assert_eq!(r["error"]["code"], -32000, "{method}: {r}");
                let message = r["error"]["message"].as_str().unwrap_or_default();
                assert!(message.starts_with(words), "{method}: {r}");
                assert!(r["error"].get("data").is_none(), "{method}: {r}");
            }
        }
        // A request whose id is an object is invalid, as in geth.
        let r = raw_call(
            &devnet,
            json!({"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId","params":[]}),
        )
        .await;
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert_eq!(r["id"], serde_json::Value::Null, "{r}");

        // Protocol-level errors.
        let r = raw_call(
            &devnet,
            json!({"jsonrpc":"2.0","id":1,"method":"eth_noSuchMethod","params":[]}),
        )
        .await;
        assert_eq!(r["error"]["code"], -32601, "{r}");
        let r = raw_call(
            &devnet,
            json!({"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["not-an-address"]}),
        )
        .await;
        assert_eq!(r["error"]["code"], -32602, "{r}");
        let big: Vec<_> = (0..1001)
            .map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId","params":[]}))
            .collect();
        let r = raw_call(&devnet, json!(big)).await;
        assert!(r.to_string().contains("error"), "batch over the limit: {r}");
        let small: Vec<_> = (0..3)
            .map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId","params":[]}))
            .collect();
        let r = raw_call(&devnet, json!(small)).await;
        assert_eq!(r.as_array().map(|a| a.len()), Some(3), "{r}");
        // A body over the 5 MiB limit is refused with 413 (or cut off while still being sent).
        let huge = "0x".to_string() + &"00".repeat(3 * 1024 * 1024);
        match raw_post(
            &devnet,
            json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[huge]}),
        )
        .await
        {
            Ok((status, reply)) => assert_eq!(status, 413, "oversized body: {reply}"),
            Err(cut) => assert!(!cut.is_empty()),
        }
        // eth_call with data to an account without code returns nothing, as on Ethereum.
        let r = raw_call(&devnet, json!({"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to": "0x1111111111111111111111111111111111111111", "data": "0x01020304"}, "latest"]})).await;
        assert_eq!(r["result"], "0x", "{r}");
        // Still serving.
        assert_eq!(p.get_chain_id().await.expect("alive"), 133_718);
    });
}
