//! Read-only calls with what app developers pass to them: geth's state overrides on `eth_call`,
//! `eth_estimateGas` and `debug_traceCall`, and `eth_createAccessList`, over JSON-RPC.

use crate::evm::{artifact, deploy_token};
use crate::support::*;
use alloy::sol_types::SolCall;
use alloy_primitives::{Address, B256, U256, keccak256};
use lazai_abi::DAT_ADDRESS;
use serde_json::{Value, json};

alloy::sol! {
    interface Token {
        function balanceOf(address who) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
    }
    interface Probe {
        function value() external view returns (uint256);
    }
}

/// The storage slot of `balanceOf[who]` in `contracts/src/Token.sol` (the mapping is slot 3).
fn balance_slot(who: Address) -> B256 {
    let mut key = [0u8; 64];
    key[12..32].copy_from_slice(who.as_slice());
    key[63] = 3;
    keccak256(key)
}

fn word(v: u64) -> B256 {
    B256::from(U256::from(v))
}

fn uint(v: &Value) -> U256 {
    let s = v.as_str().unwrap_or_else(|| panic!("hex string: {v}"));
    U256::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

#[test]
fn calls_honour_state_overrides_and_build_access_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob) = (account(0), account(1));
        let p = provider(&devnet, alice.clone());
        let token = deploy_token(&p, 1_000).await;
        let rpc = |method: &'static str, params: Value| {
            let devnet = &devnet;
            async move {
                raw_call(
                    devnet,
                    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
                )
                .await
            }
        };
        let call = |to: Address, data: Vec<u8>| json!({"to": to, "data": alloy_primitives::hex::encode_prefixed(data)});
        let balance_of = |who: Address| call(token, Token::balanceOfCall { who }.abi_encode());

        // stateDiff: one slot changed, the others kept.
        let plain = rpc("eth_call", json!([balance_of(bob.address()), "latest"])).await;
        assert_eq!(uint(&plain["result"]), U256::ZERO, "{plain}");
        let diff = json!({ token.to_string(): {"stateDiff": {balance_slot(bob.address()).to_string(): word(42)}}});
        let r = rpc(
            "eth_call",
            json!([balance_of(bob.address()), "latest", diff]),
        )
        .await;
        assert_eq!(uint(&r["result"]), U256::from(42), "{r}");
        let total = call(token, Token::totalSupplyCall {}.abi_encode());
        let r = rpc("eth_call", json!([total, "latest", diff])).await;
        assert_eq!(uint(&r["result"]), U256::from(1_000), "{r}");

        // state: the whole storage replaced, so alice's balance is gone.
        let replace = json!({ token.to_string(): {"state": {balance_slot(bob.address()).to_string(): word(7)}}});
        let r = rpc(
            "eth_call",
            json!([balance_of(alice.address()), "latest", replace]),
        )
        .await;
        assert_eq!(uint(&r["result"]), U256::ZERO, "{r}");
        let r = rpc(
            "eth_call",
            json!([balance_of(bob.address()), "latest", replace]),
        )
        .await;
        assert_eq!(uint(&r["result"]), U256::from(7), "{r}");
        // The chain itself is untouched.
        let r = rpc("eth_call", json!([balance_of(alice.address()), "latest"])).await;
        assert_eq!(uint(&r["result"]), U256::from(1_000), "{r}");

        // code: a contract that does not exist, given code and storage for the call.
        let (_, probe_runtime) = artifact(include_str!("../../../../contracts/out/Probe.json"));
        let ghost = Address::repeat_byte(0x77);
        let code = json!({ ghost.to_string(): {"code": probe_runtime, "stateDiff": {word(0).to_string(): word(9)}}});
        let r = rpc(
            "eth_call",
            json!([
                call(ghost, Probe::valueCall {}.abi_encode()),
                "latest",
                code
            ]),
        )
        .await;
        assert_eq!(uint(&r["result"]), U256::from(9), "{r}");

        // balance: a sender with nothing can estimate a transfer it could not pay for.
        let poor = Address::repeat_byte(0x55);
        let send = json!({"from": poor, "to": bob.address(), "value": "0xde0b6b3a7640000"});
        let r = rpc("eth_estimateGas", json!([send, "latest"])).await;
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("insufficient funds"),
            "{r}"
        );
        let rich = json!({ poor.to_string(): {"balance": "0x56bc75e2d63100000"}});
        let r = rpc("eth_estimateGas", json!([send, "latest", rich])).await;
        assert_eq!(uint(&r["result"]), U256::from(21_000), "{r}");

        // debug_traceCall sees the overrides too.
        let r = rpc(
            "debug_traceCall",
            json!([balance_of(bob.address()), "latest", {"tracer": "callTracer", "stateOverrides": diff}]),
        )
        .await;
        assert_eq!(uint(&r["result"]["output"]), U256::from(42), "{r}");

        // What cannot be honoured is refused, not ignored.
        for (bad, why) in [
            (
                json!({ ghost.to_string(): {"movePrecompileToAddress": Address::repeat_byte(1)}}),
                "movePrecompileToAddress",
            ),
            (
                json!({ DAT_ADDRESS.to_string(): {"code": "0x00"}}),
                "native module",
            ),
            (
                json!({ token.to_string(): {"state": {}, "stateDiff": {}}}),
                "both",
            ),
            (
                json!({ token.to_string(): {"nonsense": 1}}),
                "unknown field",
            ),
        ] {
            let r = rpc("eth_call", json!([total, "latest", bad])).await;
            assert_eq!(r["error"]["code"], -32602, "{r}");
            // The reason is in the message, or in `data` for a malformed override object.
            assert!(r["error"].to_string().contains(why), "{why}: {r}");
        }

        // eth_createAccessList: the token and the two balance slots a transfer touches.
        let transfer = json!({
            "from": alice.address(),
            "to": token,
            "data": alloy_primitives::hex::encode_prefixed(Token::transferCall { to: bob.address(), value: U256::from(5) }.abi_encode()),
        });
        let r = rpc("eth_createAccessList", json!([transfer, "latest"])).await;
        let list = r["result"]["accessList"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"));
        assert_eq!(list.len(), 1, "{r}");
        assert_eq!(list[0]["address"], token.to_string().to_lowercase());
        let mut slots: Vec<String> = list[0]["storageKeys"]
            .as_array()
            .expect("storageKeys")
            .iter()
            .map(|k| k.as_str().expect("key").to_string())
            .collect();
        slots.sort();
        let mut want = vec![
            balance_slot(alice.address()).to_string(),
            balance_slot(bob.address()).to_string(),
        ];
        want.sort();
        assert_eq!(slots, want);
        assert!(r["result"].get("error").is_none_or(Value::is_null), "{r}");
        // Its gas is the gas of the call carrying the list.
        let with_list = json!({
            "from": alice.address(),
            "to": token,
            "data": transfer["data"],
            "accessList": r["result"]["accessList"],
            "type": "0x1",
        });
        let estimate = rpc("eth_estimateGas", json!([with_list, "latest"])).await;
        assert!(
            uint(&estimate["result"]) >= uint(&r["result"]["gasUsed"]),
            "{estimate} {r}"
        );

        // A failing call still answers, with the reason.
        let too_much = json!({
            "from": bob.address(),
            "to": token,
            "data": alloy_primitives::hex::encode_prefixed(Token::transferCall { to: alice.address(), value: U256::from(5) }.abi_encode()),
        });
        let r = rpc("eth_createAccessList", json!([too_much, "latest"])).await;
        assert!(
            r["result"]["error"]
                .as_str()
                .unwrap_or("")
                .contains("execution reverted"),
            "{r}"
        );
    });
}
