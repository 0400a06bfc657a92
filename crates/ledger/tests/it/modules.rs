//! Native module dispatch end to end: ABI calls, logs, reverts, views.

use crate::support::*;
use alloy_primitives::{U256, keccak256};
use alloy_sol_types::{Revert, SolCall, SolError, SolEvent, SolValue};
use lazai_abi::{IDAO_REGISTRY_ADDRESS, IIdaoRegistry};
use lazai_ledger::CallParams;

fn view(from: alloy_primitives::Address, input: Vec<u8>) -> CallParams {
    CallParams {
        from,
        to: Some(IDAO_REGISTRY_ADDRESS),
        value: U256::ZERO,
        input: input.into(),
        gas_limit: 1_000_000,
        ..Default::default()
    }
}

#[test]
fn register_idao_emits_an_ethereum_log_and_is_readable() {
    let alice = signer(0);
    let mut state = funded(&[&alice], U256::from(10u128.pow(18)));
    let env = env();
    let l = ledger();
    let input = IIdaoRegistry::registerIdao_0Call {
        name: "weather-data".into(),
        metadataUri: "ipfs://meta".into(),
    }
    .abi_encode();
    let tx = recover(&Tx::call(0, IDAO_REGISTRY_ADDRESS, input).eip1559(&alice));
    let receipt = l.apply(&mut state, &env, &tx, 0).expect("applies");
    assert!(receipt.success, "reverted: {:?}", receipt.output);
    assert_eq!(
        U256::abi_decode(&receipt.output).expect("returns id"),
        U256::from(1)
    );
    assert_eq!(receipt.logs.len(), 1);
    let log = &receipt.logs[0];
    assert_eq!(log.address, IDAO_REGISTRY_ADDRESS);
    assert_eq!(
        log.topics()[0],
        keccak256("IdaoRegistered(uint256,address,string)")
    );
    assert_eq!(
        log.topics()[0],
        IIdaoRegistry::IdaoRegistered::SIGNATURE_HASH
    );
    let decoded = IIdaoRegistry::IdaoRegistered::decode_log_data(&log.data).expect("decodes");
    assert_eq!(decoded.owner, alice.address());
    assert!(receipt.gas_used > 21_000);

    let get = IIdaoRegistry::getIdaoCall {
        idaoId: U256::from(1),
    }
    .abi_encode();
    let out = l
        .call(&state, &env, &view(alice.address(), get))
        .expect("call");
    assert!(out.success);
    let idao = IIdaoRegistry::getIdaoCall::abi_decode_returns(&out.output).expect("decodes");
    assert_eq!(idao.name, "weather-data");
    assert_eq!(idao.owner, alice.address());
}

#[test]
fn reverts_are_solidity_encoded_and_keep_fees() {
    let alice = signer(0);
    let mut state = funded(&[&alice], U256::from(10u128.pow(18)));
    let env = env();
    let l = ledger();
    // Unknown selector: Error(string) naming the selector.
    let tx =
        recover(&Tx::call(0, IDAO_REGISTRY_ADDRESS, vec![0xde, 0xad, 0xbe, 0xef]).eip1559(&alice));
    let receipt = l.apply(&mut state, &env, &tx, 0).expect("included");
    assert!(!receipt.success);
    let reason = Revert::abi_decode(&receipt.output)
        .expect("Error(string)")
        .reason;
    assert!(
        reason.contains("unknown function selector 0xdeadbeef"),
        "{reason}"
    );
    assert_eq!(state.nonce(&alice.address()), 1, "nonce bumps on revert");
    // Undecodable arguments.
    let mut bad = IIdaoRegistry::getIdaoCall::SELECTOR.to_vec();
    bad.extend_from_slice(&[1, 2, 3]);
    let out = l
        .call(&state, &env, &view(alice.address(), bad))
        .expect("call");
    assert!(!out.success);
    assert!(
        Revert::abi_decode(&out.output)
            .expect("reason")
            .reason
            .contains("invalid calldata")
    );
    // Custom error.
    let get = IIdaoRegistry::getIdaoCall {
        idaoId: U256::from(9),
    }
    .abi_encode();
    let out = l
        .call(&state, &env, &view(alice.address(), get))
        .expect("call");
    assert_eq!(
        IIdaoRegistry::IdaoNotFound::abi_decode(&out.output)
            .expect("custom error")
            .idaoId,
        U256::from(9)
    );
    // Value to a non-payable function reverts and the value stays with the sender.
    let before = state.balance(&alice.address());
    let input = IIdaoRegistry::registerIdao_0Call {
        name: "x".into(),
        metadataUri: String::new(),
    }
    .abi_encode();
    let mut t = Tx::call(1, IDAO_REGISTRY_ADDRESS, input);
    t.value = U256::from(5);
    let receipt = l
        .apply(&mut state, &env, &recover(&t.eip1559(&alice)), 0)
        .expect("included");
    assert!(!receipt.success);
    assert_eq!(state.balance(&IDAO_REGISTRY_ADDRESS), U256::ZERO);
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(state.balance(&alice.address()), before - fee);
}

#[test]
fn out_of_gas_consumes_the_whole_limit() {
    let alice = signer(0);
    let mut state = funded(&[&alice], U256::from(10u128.pow(18)));
    let input = IIdaoRegistry::registerIdao_0Call {
        name: "x".into(),
        metadataUri: String::new(),
    }
    .abi_encode();
    let mut t = Tx::call(0, IDAO_REGISTRY_ADDRESS, input);
    t.gas = 30_000;
    let receipt = ledger()
        .apply(&mut state, &env(), &recover(&t.eip1559(&alice)), 0)
        .expect("included");
    assert!(!receipt.success);
    assert_eq!(receipt.gas_used, 30_000);
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn calldata_decoder_never_panics(selector in prop_oneof![
            Just(IIdaoRegistry::registerIdao_0Call::SELECTOR),
            Just(IIdaoRegistry::getIdaoCall::SELECTOR),
            Just(IIdaoRegistry::updateMetadataCall::SELECTOR),
            any::<[u8; 4]>(),
        ], rest in proptest::collection::vec(any::<u8>(), 0..512)) {
            let alice = signer(0);
            let state = funded(&[&alice], U256::from(10u128.pow(18)));
            let mut input = selector.to_vec();
            input.extend(rest);
            let out = ledger().call(&state, &env(), &view(alice.address(), input)).expect("a module call never fails the transaction");
            prop_assert!(out.gas_used >= 21_000);
        }
    }
}
