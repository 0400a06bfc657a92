//! Contracts through the whole node: compiled Solidity (`contracts/`) deployed and called with
//! alloy's provider over JSON-RPC, as an app developer would.

use crate::support::*;
use alloy::network::TransactionBuilder;
use alloy::providers::Provider;
use alloy::rpc::types::{BlockId, TransactionRequest};
use alloy::sol;
use alloy::sol_types::SolCall;
use alloy_primitives::{Address, B256, Bytes, U256, hex};

sol! {
    #[sol(rpc)]
    #[derive(Debug, PartialEq)]
    interface Token {
        function balanceOf(address who) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        event Transfer(address indexed from, address indexed to, uint256 value);
        error InsufficientBalance(uint256 have, uint256 want);
        error InsufficientAllowance(uint256 have, uint256 want);
    }
    #[sol(rpc)]
    interface Probe {
        function value() external view returns (uint256);
        function churn(uint256 n) external;
    }
}

pub(crate) fn artifact(json: &str) -> (Vec<u8>, Bytes) {
    let v: serde_json::Value = serde_json::from_str(json).expect("artifact JSON");
    let field = |k: &str| hex::decode(v[k].as_str().expect("hex field")).expect("hex");
    (field("bytecode"), field("deployedBytecode").into())
}

pub(crate) async fn deploy(p: &alloy::providers::DynProvider, initcode: Vec<u8>) -> Address {
    let receipt = p
        .send_transaction(TransactionRequest::default().with_deploy_code(initcode))
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "deployment reverted: {receipt:?}");
    assert_eq!(receipt.to, None, "a creation has no recipient");
    receipt.contract_address.expect("contractAddress")
}

/// Deploys `contracts/src/Token.sol` ("Data", "DATA", `supply` to the sender).
pub(crate) async fn deploy_token(p: &alloy::providers::DynProvider, supply: u64) -> Address {
    let (mut initcode, _) = artifact(include_str!("../../../../contracts/out/Token.json"));
    initcode.extend_from_slice(&alloy::sol_types::SolValue::abi_encode_params(&(
        "Data".to_string(),
        "DATA".to_string(),
        U256::from(supply),
    )));
    deploy(p, initcode).await
}

#[test]
fn an_erc20_deploys_and_runs_through_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob) = (account(0), account(1));
        let p = provider(&devnet, alice.clone());
        let (mut initcode, runtime) =
            artifact(include_str!("../../../../contracts/out/Token.json"));
        initcode.extend_from_slice(&alloy::sol_types::SolValue::abi_encode_params(&(
            "Data".to_string(),
            "DATA".to_string(),
            U256::from(1_000_000),
        )));
        let before = p.get_block_number().await.expect("blockNumber");
        let address = deploy(&p, initcode).await;
        assert_eq!(address, alice.address().create(0));
        assert_eq!(p.get_code_at(address).await.expect("getCode"), runtime);
        assert!(
            p.get_code_at(address)
                .block_id(BlockId::number(before))
                .await
                .expect("getCode at an earlier block")
                .is_empty(),
            "no code before the deployment"
        );
        // Slot 2 is `totalSupply` (after `name` and `symbol`).
        assert_eq!(
            p.get_storage_at(address, U256::from(2))
                .await
                .expect("getStorageAt"),
            U256::from(1_000_000)
        );

        let token = Token::new(address, p.clone());
        let receipt = token
            .transfer(bob.address(), U256::from(250))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status());
        let transfer = receipt
            .decoded_log::<Token::Transfer>()
            .expect("Transfer event");
        assert_eq!(
            (transfer.from, transfer.to, transfer.value),
            (alice.address(), bob.address(), U256::from(250))
        );
        assert_eq!(
            token.balanceOf(bob.address()).call().await.expect("call"),
            U256::from(250)
        );
        let err = reverts_with::<Token::InsufficientBalance, Token::TokenErrors, _, _>(
            &token.transfer(bob.address(), U256::from(2_000_000)),
        )
        .await;
        assert_eq!(err.want, U256::from(2_000_000));
        // Logs of contracts are found by eth_getLogs like those of modules.
        let logs = p
            .get_logs(
                &alloy::rpc::types::Filter::new()
                    .address(address)
                    .from_block(0),
            )
            .await
            .expect("getLogs");
        assert_eq!(logs.len(), 2, "mint and transfer");
    });
}

#[test]
fn estimated_gas_is_enough_when_refunds_lower_the_gas_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let p = provider(&devnet, account(0));
        let (mut initcode, _) = artifact(include_str!("../../../../contracts/out/Probe.json"));
        initcode.extend_from_slice(&B256::ZERO.0);
        let address = deploy(&p, initcode).await;
        let probe = Probe::new(address, p.clone());
        let call = probe.churn(U256::from(30));
        let estimate = call.estimate_gas().await.expect("estimateGas");
        let receipt = call
            .gas(estimate)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status(), "the estimate must be enough: {receipt:?}");
        assert!(
            receipt.gas_used < estimate,
            "storage refunds are paid after the fact: used {} of {estimate}",
            receipt.gas_used
        );
    });
}

#[test]
fn a_devnet_signs_for_its_dev_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob) = (account(0), account(1));
        // No wallet: the node signs.
        let url = format!("http://{}", devnet.rpc_addr())
            .parse()
            .expect("url");
        let p = alloy::providers::ProviderBuilder::new()
            .connect_http(url)
            .erased();
        let accounts = p.get_accounts().await.expect("eth_accounts");
        assert_eq!(accounts.len(), 10);
        assert_eq!(accounts[0], alice.address());

        let before = p.get_balance(bob.address()).await.expect("balance");
        let receipt = p
            .send_transaction(
                TransactionRequest::default()
                    .with_from(alice.address())
                    .with_to(bob.address())
                    .with_value(U256::from(12_345)),
            )
            .await
            .expect("eth_sendTransaction")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status());
        assert_eq!(receipt.from, alice.address());
        assert_eq!(
            p.get_balance(bob.address()).await.expect("balance"),
            before + U256::from(12_345)
        );
        // A deployment through eth_sendTransaction (gas estimated by the node).
        let (initcode, runtime) = artifact(include_str!("../../../../contracts/out/Probe.json"));
        let mut initcode = initcode;
        initcode.extend_from_slice(&B256::ZERO.0);
        let receipt = p
            .send_transaction(
                TransactionRequest::default()
                    .with_from(alice.address())
                    .with_deploy_code(initcode),
            )
            .await
            .expect("eth_sendTransaction")
            .get_receipt()
            .await
            .expect("receipt");
        let probe = receipt.contract_address.expect("deployed");
        assert_eq!(p.get_code_at(probe).await.expect("code"), runtime);

        // eth_sign / personal_sign: EIP-191; eth_signTypedData_v4: EIP-712.
        let message = b"hello LazChain".to_vec();
        let raw = raw_call(
            &devnet,
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sign",
                "params": [alice.address(), Bytes::from(message.clone())]}),
        )
        .await;
        let sig: Bytes = serde_json::from_value(raw["result"].clone()).expect("signature");
        let sig = alloy_primitives::Signature::try_from(sig.as_ref()).expect("65 bytes");
        assert_eq!(
            sig.recover_address_from_msg(&message).expect("recover"),
            alice.address()
        );
        let raw = raw_call(
            &devnet,
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "personal_sign",
                "params": [Bytes::from(message.clone()), bob.address()]}),
        )
        .await;
        let sig: Bytes = serde_json::from_value(raw["result"].clone()).expect("signature");
        let sig = alloy_primitives::Signature::try_from(sig.as_ref()).expect("65 bytes");
        assert_eq!(
            sig.recover_address_from_msg(&message).expect("recover"),
            bob.address()
        );
        let typed = serde_json::json!({
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
                "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}]
            },
            "primaryType": "Mail",
            "domain": {"name": "LazAI", "chainId": 133718},
            "message": {"to": bob.address(), "contents": "hi"}
        });
        let raw = raw_call(
            &devnet,
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_signTypedData_v4",
                "params": [alice.address(), typed.to_string()]}),
        )
        .await;
        let sig: Bytes = serde_json::from_value(raw["result"].clone()).expect("signature");
        let sig = alloy_primitives::Signature::try_from(sig.as_ref()).expect("65 bytes");
        let data: alloy_dyn_abi::TypedData = serde_json::from_value(typed).expect("typed data");
        let hash = data.eip712_signing_hash().expect("hash");
        assert_eq!(
            sig.recover_address_from_prehash(&hash).expect("recover"),
            alice.address()
        );
        // An account the node has no key for.
        let raw = raw_call(
            &devnet,
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sign",
                "params": [Address::repeat_byte(7), "0x00"]}),
        )
        .await;
        assert!(
            raw["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("unknown account"),
            "{raw}"
        );
    });
}

#[test]
fn transactions_and_calls_are_traced_as_geth_traces_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob) = (account(0), account(1));
        let p = provider(&devnet, alice.clone());
        let address = deploy_token(&p, 1_000).await;
        let token = Token::new(address, p.clone());
        let receipt = token
            .transfer(bob.address(), U256::from(5))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        let trace = |method: &'static str, params: serde_json::Value| {
            let devnet = &devnet;
            async move {
                raw_call(
                    devnet,
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
                )
                .await
            }
        };
        let hash = receipt.transaction_hash;
        let calls = trace(
            "debug_traceTransaction",
            serde_json::json!([hash, {"tracer": "callTracer", "tracerConfig": {"withLog": true}}]),
        )
        .await;
        let frame = &calls["result"];
        assert_eq!(frame["type"], "CALL", "{calls}");
        assert_eq!(frame["from"], alice.address().to_string().to_lowercase());
        assert_eq!(frame["to"], address.to_string().to_lowercase());
        assert_eq!(
            u64::from_str_radix(
                frame["gasUsed"]
                    .as_str()
                    .unwrap_or("0x0")
                    .trim_start_matches("0x"),
                16
            )
            .expect("hex"),
            receipt.gas_used
        );
        assert_eq!(frame["logs"].as_array().map(Vec::len), Some(1), "{frame}");

        let steps = trace("debug_traceTransaction", serde_json::json!([hash])).await;
        let result = &steps["result"];
        assert_eq!(result["failed"], false, "{steps}");
        assert_eq!(result["gas"], receipt.gas_used);
        let logs = result["structLogs"].as_array().expect("structLogs");
        assert!(
            logs.len() > 50,
            "an ERC-20 transfer runs many opcodes: {}",
            logs.len()
        );
        assert!(logs.iter().any(|l| l["op"] == "SSTORE"));

        // A call traced on the head's state, and one that reverts.
        let input = Token::balanceOfCall { who: bob.address() }.abi_encode();
        let call = trace("debug_traceCall", serde_json::json!([{"to": address, "input": Bytes::from(input)}, "latest", {"tracer": "callTracer"}])).await;
        assert_eq!(call["result"]["output"], format!("0x{:064x}", 5), "{call}");
        let input = Token::transferCall {
            to: alice.address(),
            value: U256::from(1),
        }
        .abi_encode();
        let failing = trace("debug_traceCall", serde_json::json!([{"from": bob.address(), "to": address, "input": Bytes::from(input.clone())}, "latest", {"tracer": "callTracer"}])).await;
        assert!(
            failing["result"]["error"].is_null(),
            "bob holds 5 tokens: {failing}"
        );
        let poor = Address::repeat_byte(0x42);
        let failing = trace("debug_traceCall", serde_json::json!([{"from": poor, "to": address, "input": Bytes::from(input)}, "latest", {"tracer": "callTracer"}])).await;
        assert_eq!(
            failing["result"]["error"], "execution reverted",
            "{failing}"
        );

        // A plain transfer is one frame without steps.
        let plain = transfer(&p, bob.address(), U256::from(1)).await;
        let one = trace(
            "debug_traceTransaction",
            serde_json::json!([plain.transaction_hash, {"tracer": "callTracer"}]),
        )
        .await;
        assert_eq!(one["result"]["type"], "CALL");
        assert_eq!(one["result"]["value"], "0x1");
        let none = trace(
            "debug_traceTransaction",
            serde_json::json!([plain.transaction_hash]),
        )
        .await;
        assert_eq!(none["result"]["structLogs"], serde_json::json!([]));

        // Refusals: an unknown transaction, an unsupported tracer, block overrides.
        let unknown = trace(
            "debug_traceTransaction",
            serde_json::json!([B256::repeat_byte(9)]),
        )
        .await;
        assert!(
            unknown["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not found"),
            "{unknown}"
        );
        let js = trace(
            "debug_traceTransaction",
            serde_json::json!([hash, {"tracer": "prestateTracer"}]),
        )
        .await;
        assert!(
            js["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not supported"),
            "{js}"
        );
        let overrides = trace(
            "debug_traceCall",
            serde_json::json!([{"to": address}, "latest", {"blockOverrides": {"number": "0x1"}}]),
        )
        .await;
        assert!(
            overrides["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("block overrides"),
            "{overrides}"
        );
    });
}
