//! User contracts in the EVM: real compiled contracts (`contracts/src`, built by
//! `contracts/build.mjs`) deployed and called through signed transactions.

use crate::support::*;
use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, sol};
use lazai_ledger::{CallParams, Ledger, State, TxError, storage_key};
use lazai_types::Receipt;
use proptest::prelude::*;

sol! {
    contract Probe {
        function value() external view returns (uint256);
        function set(uint256 v) external;
        function churn(uint256 n) external;
        function fail(uint256 code) external pure;
        function failWithReason() external pure;
        function spin() external view returns (uint256 n);
        function hashOf(uint256 number) external view returns (bytes32);
        function env() external view returns (uint256 chainId, uint256 number, uint256 timestamp, address coinbase, uint256 basefee);
        function deploy(bytes32 salt) external payable returns (address child);
        function ephemeral(address heir) external payable returns (address gone);
        function forward(address target, bytes data) external payable returns (bool ok, bytes ret);
        function doubleGenerator() external view returns (uint256 x, uint256 y);
        function emptyPairing() external view returns (bool);
        error Failed(uint256 code);
        event Set(address indexed by, uint256 value);
    }
    contract Child {
        function parent() external view returns (address);
    }
    contract Token {
        function balanceOf(address who) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        error InsufficientBalance(uint256 have, uint256 want);
    }
}

/// Creation bytecode and runtime code of a compiled contract.
pub(crate) struct Artifact {
    pub(crate) bytecode: Vec<u8>,
    pub(crate) runtime: Vec<u8>,
}

pub(crate) fn artifact(json: &str) -> Artifact {
    let v: serde_json::Value = serde_json::from_str(json).expect("artifact JSON");
    let field = |k: &str| hex::decode(v[k].as_str().expect("hex field")).expect("hex");
    Artifact {
        bytecode: field("bytecode"),
        runtime: field("deployedBytecode"),
    }
}

fn probe_artifact() -> Artifact {
    artifact(include_str!("../../../../contracts/out/Probe.json"))
}

fn token() -> Artifact {
    artifact(include_str!("../../../../contracts/out/Token.json"))
}

pub(crate) struct Chain {
    pub(crate) ledger: Ledger,
    pub(crate) state: State,
    pub(crate) user: PrivateKeySigner,
    pub(crate) nonce: u64,
}

impl Chain {
    pub(crate) fn new() -> Self {
        let user = signer(0);
        Self {
            ledger: ledger(),
            state: funded(&[&user], U256::from(10u128.pow(21))),
            user,
            nonce: 0,
        }
    }

    pub(crate) fn send(&mut self, tx: Tx) -> Receipt {
        let tx = recover(
            &Tx {
                nonce: self.nonce,
                ..tx
            }
            .eip1559(&self.user),
        );
        let receipt = self
            .ledger
            .apply(&mut self.state, &env(), &tx, 0)
            .expect("valid transaction");
        self.nonce += 1;
        receipt
    }

    pub(crate) fn deploy(&mut self, initcode: Vec<u8>, value: U256) -> Address {
        let receipt = self.send(Tx {
            value,
            ..Tx::create(0, initcode)
        });
        assert!(receipt.success, "deployment failed: {receipt:?}");
        receipt.contract_address.expect("creation receipt")
    }

    pub(crate) fn call(&mut self, to: Address, input: Vec<u8>) -> Receipt {
        self.send(Tx {
            gas: 1_000_000,
            ..Tx::call(0, to, input)
        })
    }

    pub(crate) fn view(&self, to: Address, input: Vec<u8>) -> Bytes {
        let outcome = self
            .ledger
            .call(
                &self.state,
                &env(),
                &CallParams {
                    from: self.user.address(),
                    to: Some(to),
                    input: input.into(),
                    gas_limit: 10_000_000,
                    ..Default::default()
                },
            )
            .expect("call runs");
        assert!(outcome.success, "view reverted: {outcome:?}");
        outcome.output
    }
}

fn probe_initcode(initial: u64) -> Vec<u8> {
    let mut code = probe_artifact().bytecode;
    code.extend_from_slice(&U256::from(initial).to_be_bytes::<32>());
    code
}

#[test]
fn a_deployed_contract_keeps_code_and_storage_in_the_state() {
    let mut chain = Chain::new();
    let before = chain.state.root();
    let probe = chain.deploy(probe_initcode(7), U256::from(5));
    assert_eq!(probe, chain.user.address().create(0));
    assert_eq!(
        chain.state.code(&probe).as_ref(),
        probe_artifact().runtime.as_slice()
    );
    assert_eq!(chain.state.balance(&probe), U256::from(5));
    assert_eq!(
        chain.state.nonce(&probe),
        1,
        "EIP-161: contracts start at nonce 1"
    );
    assert_eq!(chain.state.storage(&probe, &B256::ZERO), U256::from(7));
    assert_ne!(chain.state.root(), before);

    let out = chain.view(probe, Probe::valueCall {}.abi_encode());
    assert_eq!(U256::from_be_slice(&out), U256::from(7));

    let receipt = chain.call(probe, Probe::setCall { v: U256::from(42) }.abi_encode());
    assert!(receipt.success);
    assert_eq!(receipt.contract_address, None);
    assert_eq!(receipt.logs.len(), 1);
    let log = &receipt.logs[0];
    assert_eq!(log.address, probe);
    assert_eq!(log.topics()[0], keccak256("Set(address,uint256)"));
    assert_eq!(log.topics()[1], chain.user.address().into_word());
    assert_eq!(chain.state.storage(&probe, &B256::ZERO), U256::from(42));
    assert!(chain.state.get(&storage_key(&probe, &B256::ZERO)).is_some());

    // Writing zero deletes the entry: the state holds no zero words.
    chain.call(probe, Probe::setCall { v: U256::ZERO }.abi_encode());
    assert!(chain.state.get(&storage_key(&probe, &B256::ZERO)).is_none());
}

#[test]
fn fees_on_the_evm_path_follow_the_ledger_rule() {
    let mut chain = Chain::new();
    let start = chain.state.balance(&chain.user.address());
    let probe = chain.deploy(probe_initcode(1), U256::ZERO);
    let receipt = chain.call(probe, Probe::setCall { v: U256::from(9) }.abi_encode());
    let env = env();
    let deploy_gas = chain.state.burned() / U256::from(env.base_fee) - U256::from(receipt.gas_used);
    let total_gas = deploy_gas + U256::from(receipt.gas_used);
    // price = min(2 gwei cap, 1 gwei base + 1 gwei tip): one gwei burned, one to the proposer.
    assert_eq!(receipt.effective_gas_price, 2 * GWEI);
    assert_eq!(
        chain.state.balance(&chain.user.address()),
        start - total_gas * U256::from(2 * GWEI)
    );
    assert_eq!(
        chain.state.balance(&env.proposer),
        total_gas * U256::from(GWEI)
    );
    assert_eq!(chain.state.burned(), total_gas * U256::from(GWEI));
}

#[test]
fn reverts_return_their_data_and_keep_only_the_fee() {
    let mut chain = Chain::new();
    let probe = chain.deploy(probe_initcode(3), U256::ZERO);
    let receipt = chain.call(
        probe,
        Probe::failCall {
            code: U256::from(5),
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    assert!(receipt.logs.is_empty());
    let err = Probe::Failed::abi_decode(&receipt.output).expect("custom error");
    assert_eq!(err.code, U256::from(5));
    assert!(receipt.gas_used < 1_000_000, "a revert returns unused gas");

    let receipt = chain.call(probe, Probe::failWithReasonCall {}.abi_encode());
    assert!(!receipt.success);
    let reason = alloy_sol_types::Revert::abi_decode(&receipt.output).expect("Error(string)");
    assert_eq!(reason.reason, "probe says no");
    assert_eq!(chain.state.storage(&probe, &B256::ZERO), U256::from(3));
    assert_eq!(chain.state.nonce(&chain.user.address()), 3);
}

#[test]
fn running_out_of_gas_uses_all_of_it() {
    let mut chain = Chain::new();
    let probe = chain.deploy(probe_initcode(0), U256::ZERO);
    let receipt = chain.send(Tx {
        gas: 100_000,
        ..Tx::call(0, probe, Probe::spinCall {}.abi_encode())
    });
    assert!(!receipt.success);
    assert_eq!(receipt.gas_used, 100_000);
}

#[test]
fn storage_refunds_are_capped_as_ethereum_caps_them() {
    let mut chain = Chain::new();
    let probe = chain.deploy(probe_initcode(0), U256::ZERO);
    let receipt = chain.call(probe, Probe::churnCall { n: U256::from(20) }.abi_encode());
    assert!(receipt.success);
    for i in 0..20u64 {
        let slot = keccak256(
            [
                U256::from(i).to_be_bytes::<32>(),
                U256::from(1).to_be_bytes::<32>(),
            ]
            .concat(),
        );
        assert_eq!(chain.state.storage(&probe, &slot), U256::ZERO);
    }
    // 20 fresh slots set and cleared: the refund (EIP-3529, at most a fifth of the gas) shows.
    let outcome = chain
        .ledger
        .call(
            &chain.state,
            &env(),
            &CallParams {
                from: chain.user.address(),
                to: Some(probe),
                input: Probe::churnCall { n: U256::from(20) }.abi_encode().into(),
                gas_limit: 1_000_000,
                ..Default::default()
            },
        )
        .expect("runs");
    assert_eq!(outcome.gas_used, receipt.gas_used);
    assert!(
        receipt.gas_used < 20 * 22_100,
        "refund applied: {}",
        receipt.gas_used
    );
}

#[test]
fn create2_children_and_contracts_that_destroy_themselves() {
    let mut chain = Chain::new();
    let probe = chain.deploy(probe_initcode(0), U256::ZERO);
    let salt = B256::repeat_byte(0x5a);
    let receipt = chain.send(Tx {
        gas: 1_000_000,
        value: U256::from(11),
        ..Tx::call(0, probe, Probe::deployCall { salt }.abi_encode())
    });
    assert!(receipt.success, "{receipt:?}");
    let child_initcode = {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../../contracts/out/Child.json"))
                .expect("well-formed test data");
        hex::decode(v["bytecode"].as_str().expect("well-formed test data"))
            .expect("well-formed test data")
    };
    let child = probe.create2(salt, keccak256(&child_initcode));
    assert!(!chain.state.code(&child).is_empty());
    assert_eq!(chain.state.balance(&child), U256::from(11));
    let parent = chain.view(child, Child::parentCall {}.abi_encode());
    assert_eq!(Address::from_word(B256::from_slice(&parent)), probe);
    // The same salt again collides: the inner CREATE2 fails and the call reverts.
    let again = chain.call(probe, Probe::deployCall { salt }.abi_encode());
    assert!(!again.success);

    let heir = Address::repeat_byte(0x77);
    let receipt = chain.send(Tx {
        gas: 1_000_000,
        value: U256::from(99),
        ..Tx::call(0, probe, Probe::ephemeralCall { heir }.abi_encode())
    });
    assert!(receipt.success, "{receipt:?}");
    let gone = Address::from_word(B256::from_slice(&receipt.output[..32]));
    assert!(
        chain.state.code(&gone).is_empty(),
        "destroyed in its creating transaction"
    );
    assert_eq!(chain.state.account(&gone), Default::default());
    assert_eq!(chain.state.balance(&heir), U256::from(99));
}

#[test]
fn the_block_environment_and_recent_block_hashes_are_visible() {
    let chain = Chain::new();
    let l = &chain.ledger;
    let mut state = chain.state.clone();
    let mut tx = Tx::create(0, probe_initcode(0));
    tx.gas = 3_000_000;
    let deploy = std::sync::Arc::new(recover(&tx.eip1559(&chain.user)));
    let parent = B256::repeat_byte(0xab);
    let env5 = lazai_ledger::BlockEnv {
        height: 5,
        parent_hash: parent,
        ..env()
    };
    let block = l
        .execute_block(&state, &env5, vec![deploy])
        .expect("valid block");
    state = block.state;
    let probe = block.receipts[0]
        .contract_address
        .expect("well-formed test data");
    let env6 = lazai_ledger::BlockEnv {
        height: 6,
        parent_hash: B256::repeat_byte(0xcd),
        ..env()
    };
    let view = |input: Vec<u8>| {
        l.call(
            &state,
            &env6,
            &CallParams {
                to: Some(probe),
                input: input.into(),
                gas_limit: 1_000_000,
                ..Default::default()
            },
        )
        .expect("runs")
        .output
    };
    let hash = |n: u64| {
        B256::from_slice(&view(
            Probe::hashOfCall {
                number: U256::from(n),
            }
            .abi_encode(),
        ))
    };
    assert_eq!(hash(4), parent, "block 5 recorded its parent's hash");
    assert_eq!(
        hash(5),
        B256::ZERO,
        "block 5's own hash is not recorded until block 6 runs"
    );
    assert_eq!(hash(3), B256::ZERO);
    let out = Probe::envCall::abi_decode_returns(&view(Probe::envCall {}.abi_encode()))
        .expect("well-formed test data");
    assert_eq!(out.chainId, U256::from(CHAIN_ID));
    assert_eq!(out.number, U256::from(6));
    assert_eq!(out.timestamp, U256::from(env6.timestamp_ms / 1000));
    assert_eq!(out.coinbase, env6.proposer);
}

#[test]
fn bn254_precompiles_answer() {
    let mut chain = Chain::new();
    let probe = chain.deploy(probe_initcode(0), U256::ZERO);
    let out = chain.view(probe, Probe::doubleGeneratorCall {}.abi_encode());
    let two_g =
        Probe::doubleGeneratorCall::abi_decode_returns(&out).expect("well-formed test data");
    assert_eq!(
        two_g.x,
        U256::from_str_radix(
            "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3",
            16
        )
        .expect("well-formed test data")
    );
    assert_eq!(
        two_g.y,
        U256::from_str_radix(
            "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4",
            16
        )
        .expect("well-formed test data")
    );
    let out = chain.view(probe, Probe::emptyPairingCall {}.abi_encode());
    assert!(Probe::emptyPairingCall::abi_decode_returns(&out).expect("well-formed test data"));
}

#[test]
fn an_erc20_moves_balances_and_reverts_with_its_error() {
    let mut chain = Chain::new();
    let mut initcode = token().bytecode;
    initcode.extend_from_slice(&alloy_sol_types::SolValue::abi_encode_params(&(
        "Data".to_string(),
        "DATA".to_string(),
        U256::from(1000),
    )));
    let token = chain.deploy(initcode, U256::ZERO);
    let bob = Address::repeat_byte(0xb0);
    let receipt = chain.call(
        token,
        Token::transferCall {
            to: bob,
            value: U256::from(250),
        }
        .abi_encode(),
    );
    assert!(receipt.success);
    assert_eq!(
        receipt.logs[0].topics()[0],
        keccak256("Transfer(address,address,uint256)")
    );
    let balance = |chain: &Chain, who| {
        U256::from_be_slice(&chain.view(token, Token::balanceOfCall { who }.abi_encode()))
    };
    assert_eq!(balance(&chain, bob), U256::from(250));
    assert_eq!(balance(&chain, chain.user.address()), U256::from(750));
    let receipt = chain.call(
        token,
        Token::transferCall {
            to: bob,
            value: U256::from(751),
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    let err =
        Token::InsufficientBalance::abi_decode(&receipt.output).expect("well-formed test data");
    assert_eq!((err.have, err.want), (U256::from(750), U256::from(751)));
}

sol! {
    contract ModuleCaller {
        function register(string name) external returns (uint256);
        function registerThenRevert(string name) external;
        function registerAfterUndone(string name) external returns (uint256 idaoId);
        function count() external view returns (uint256);
        function staticRegister(string name) external view returns (bool ok, bytes ret);
        function delegateRegister(string name) external returns (bool ok, bytes ret);
        function raw(address target, bytes data) external payable returns (bool ok, bytes ret);
        function join() external payable;
        function withdraw(uint256 amount, bool tryReentry) external;
        function received() external view returns (uint256);
    }
}

fn module_caller(chain: &mut Chain) -> Address {
    let code = artifact(include_str!("../../../../contracts/out/ModuleCaller.json")).bytecode;
    chain.deploy(code, U256::ZERO)
}

fn idao_count(chain: &Chain) -> U256 {
    use lazai_abi::IIdaoRegistry;
    let out = chain.view(
        lazai_abi::IDAO_REGISTRY_ADDRESS,
        IIdaoRegistry::idaoCountCall {}.abi_encode(),
    );
    U256::from_be_slice(&out)
}

#[test]
fn a_contract_calls_a_module_as_itself() {
    use lazai_abi::IIdaoRegistry;
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    let before = idao_count(&chain);
    let receipt = chain.call(
        caller,
        ModuleCaller::registerCall {
            name: "by contract".into(),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    let id = U256::from_be_slice(&receipt.output);
    assert_eq!(id, before + U256::from(1));
    assert_eq!(idao_count(&chain), id);
    // The module's event is in the receipt, emitted by the module's address.
    let registered = receipt
        .logs
        .iter()
        .find(|l| l.address == lazai_abi::IDAO_REGISTRY_ADDRESS)
        .expect("IdaoRegistered log");
    assert_eq!(
        registered.topics()[2],
        caller.into_word(),
        "msg.sender is the contract"
    );
    let idao = chain.view(
        lazai_abi::IDAO_REGISTRY_ADDRESS,
        IIdaoRegistry::getIdaoCall { idaoId: id }.abi_encode(),
    );
    let idao = IIdaoRegistry::getIdaoCall::abi_decode_returns(&idao).expect("Idao");
    assert_eq!(idao.owner, caller);
    assert_eq!(idao.name, "by contract");
    // A view of a module through a contract.
    assert_eq!(
        U256::from_be_slice(&chain.view(caller, ModuleCaller::countCall {}.abi_encode())),
        id
    );
}

#[test]
fn a_reverting_caller_undoes_what_the_module_wrote() {
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    let before = idao_count(&chain);
    let start = chain.state.clone();
    let _ = chain.state.take_changes();
    let receipt = chain.call(
        caller,
        ModuleCaller::registerThenRevertCall {
            name: "gone".into(),
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    assert_eq!(
        alloy_sol_types::Revert::abi_decode(&receipt.output)
            .expect("well-formed test data")
            .reason,
        "undone"
    );
    assert!(receipt.logs.is_empty());
    assert_eq!(idao_count(&chain), before);
    // What changed: the sender's account (nonce and fee), the proposer's tip, the burned total.
    let changed: Vec<_> = chain
        .state
        .take_changes()
        .entries
        .into_iter()
        .filter(|(k, v)| start.get(k) != *v)
        .map(|(k, _)| k)
        .collect();
    let mut expected = vec![
        lazai_ledger::account_key(&chain.user.address()),
        lazai_ledger::account_key(&env().proposer),
        lazai_ledger::meta_key("burned"),
    ];
    expected.sort();
    assert_eq!(changed, expected);

    // An inner call that registers and reverts, then a registration that stays.
    let receipt = chain.call(
        caller,
        ModuleCaller::registerAfterUndoneCall {
            name: "kept".into(),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(U256::from_be_slice(&receipt.output), before + U256::from(1));
    assert_eq!(idao_count(&chain), before + U256::from(1));
    let events = receipt
        .logs
        .iter()
        .filter(|l| l.address == lazai_abi::IDAO_REGISTRY_ADDRESS)
        .count();
    assert_eq!(events, 1, "the undone registration's event is gone too");
}

#[test]
fn static_and_delegate_calls_cannot_make_a_module_write() {
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    let before = idao_count(&chain);
    let out = chain.view(
        caller,
        ModuleCaller::staticRegisterCall { name: "s".into() }.abi_encode(),
    );
    let out =
        ModuleCaller::staticRegisterCall::abi_decode_returns(&out).expect("well-formed test data");
    assert!(!out.ok);
    let reason = alloy_sol_types::Revert::abi_decode(&out.ret)
        .expect("well-formed test data")
        .reason;
    assert!(reason.contains("write protection"), "{reason}");

    let receipt = chain.call(
        caller,
        ModuleCaller::delegateRegisterCall { name: "d".into() }.abi_encode(),
    );
    assert!(receipt.success);
    let out = ModuleCaller::delegateRegisterCall::abi_decode_returns(&receipt.output)
        .expect("well-formed test data");
    assert!(!out.ok);
    let reason = alloy_sol_types::Revert::abi_decode(&out.ret)
        .expect("well-formed test data")
        .reason;
    assert!(reason.contains("DELEGATECALL"), "{reason}");
    assert_eq!(idao_count(&chain), before);
}

#[test]
fn junk_calldata_and_unwanted_value_from_a_contract_revert_cleanly() {
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    for data in [vec![], vec![1, 2, 3], vec![0xde, 0xad, 0xbe, 0xef, 0, 1]] {
        let receipt = chain.call(
            caller,
            ModuleCaller::rawCall {
                target: lazai_abi::IDAO_REGISTRY_ADDRESS,
                data: data.into(),
            }
            .abi_encode(),
        );
        assert!(receipt.success);
        let out = ModuleCaller::rawCall::abi_decode_returns(&receipt.output)
            .expect("well-formed test data");
        assert!(!out.ok);
        assert!(
            alloy_sol_types::Revert::abi_decode(&out.ret).is_ok(),
            "a reason: {:?}",
            out.ret
        );
    }
    // Value to a function that is not payable goes back to the caller.
    let registry_before = chain.state.balance(&lazai_abi::IDAO_REGISTRY_ADDRESS);
    let receipt = chain.send(Tx {
        gas: 1_000_000,
        value: U256::from(7),
        ..Tx::call(
            0,
            caller,
            ModuleCaller::rawCall {
                target: lazai_abi::IDAO_REGISTRY_ADDRESS,
                data: lazai_abi::IIdaoRegistry::idaoCountCall {}
                    .abi_encode()
                    .into(),
            }
            .abi_encode(),
        )
    });
    assert!(receipt.success);
    let out =
        ModuleCaller::rawCall::abi_decode_returns(&receipt.output).expect("well-formed test data");
    assert!(!out.ok);
    assert_eq!(
        chain.state.balance(&lazai_abi::IDAO_REGISTRY_ADDRESS),
        registry_before
    );
    assert_eq!(chain.state.balance(&caller), U256::from(7));
}

#[test]
fn a_payout_to_a_contract_cannot_be_reentered() {
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    let settlement = lazai_abi::SETTLEMENT_ADDRESS;
    let receipt = chain.send(Tx {
        gas: 1_000_000,
        value: U256::from(1_000),
        ..Tx::call(0, caller, ModuleCaller::joinCall {}.abi_encode())
    });
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(chain.state.balance(&settlement), U256::from(1_000));
    // The contract's receive() would withdraw again if it ran: the module credits the balance
    // without running the recipient's code, so it never does.
    let receipt = chain.call(
        caller,
        ModuleCaller::withdrawCall {
            amount: U256::from(400),
            tryReentry: true,
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(chain.state.balance(&caller), U256::from(400));
    assert_eq!(chain.state.balance(&settlement), U256::from(600));
    assert_eq!(
        U256::from_be_slice(&chain.view(caller, ModuleCaller::receivedCall {}.abi_encode())),
        U256::ZERO
    );
    let user = chain.view(
        settlement,
        lazai_abi::ISettlement::getUserCall { user: caller }.abi_encode(),
    );
    let user = lazai_abi::ISettlement::getUserCall::abi_decode_returns(&user)
        .expect("well-formed test data");
    assert_eq!(user.availableBalance, U256::from(600));
    // More than is left reverts inside the module; the contract's call reverts with it.
    let receipt = chain.call(
        caller,
        ModuleCaller::withdrawCall {
            amount: U256::from(601),
            tryReentry: false,
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    assert_eq!(chain.state.balance(&settlement), U256::from(600));
}

#[test]
fn a_call_tree_shows_the_module_a_contract_called() {
    use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
    let mut chain = Chain::new();
    let caller = module_caller(&mut chain);
    let opts: GethDebugTracingOptions =
        serde_json::from_value(serde_json::json!({"tracer": "callTracer"})).expect("options");
    let trace = chain
        .ledger
        .trace_call(
            &chain.state,
            &env(),
            &CallParams {
                from: chain.user.address(),
                to: Some(caller),
                input: ModuleCaller::registerCall {
                    name: "traced".into(),
                }
                .abi_encode()
                .into(),
                gas_limit: 1_000_000,
                ..Default::default()
            },
            &opts,
        )
        .expect("traced");
    let GethTrace::CallTracer(frame) = trace else {
        panic!("a call frame: {trace:?}")
    };
    assert_eq!(frame.to, Some(caller));
    assert_eq!(frame.calls.len(), 1, "{frame:?}");
    assert_eq!(frame.calls[0].to, Some(lazai_abi::IDAO_REGISTRY_ADDRESS));
    assert_eq!(frame.calls[0].from, caller);
    assert!(frame.calls[0].error.is_none());
}

#[test]
fn code_size_limits_hold() {
    let mut chain = Chain::new();
    // Initcode returning 24,577 zero bytes: one more than EIP-170 allows.
    let receipt = chain.send(Tx::create(0, vec![0x61, 0x60, 0x01, 0x60, 0x00, 0xf3]));
    assert!(!receipt.success);
    assert_eq!(receipt.gas_used, 3_000_000, "a halt uses all gas");
    let address = receipt
        .contract_address
        .expect("geth reports the address of a failed creation");
    assert!(chain.state.code(&address).is_empty());
    // Exactly 24,576 bytes deploy.
    let receipt = chain.send(Tx {
        gas: 10_000_000,
        ..Tx::create(0, vec![0x61, 0x60, 0x00, 0x60, 0x00, 0xf3])
    });
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(
        chain
            .state
            .code(&receipt.contract_address.expect("well-formed test data"))
            .len(),
        24_576
    );
}

#[test]
fn a_read_only_call_can_run_initcode() {
    let chain = Chain::new();
    let outcome = chain
        .ledger
        .call(
            &chain.state,
            &env(),
            &CallParams {
                from: chain.user.address(),
                to: None,
                input: probe_initcode(1).into(),
                gas_limit: 3_000_000,
                ..Default::default()
            },
        )
        .expect("runs");
    assert!(outcome.success);
    assert_eq!(outcome.output.as_ref(), probe_artifact().runtime.as_slice());
    let refused = chain.ledger.call(
        &chain.state,
        &env(),
        &CallParams {
            to: None,
            input: probe_initcode(1).into(),
            gas_limit: 50_000,
            ..Default::default()
        },
    );
    assert!(
        matches!(refused, Err(TxError::IntrinsicGas { .. })),
        "{refused:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random initcode and random calldata to a random contract: every outcome is a receipt or
    /// a clean refusal, supply is conserved, and a refusal changes nothing.
    #[test]
    fn random_bytecode_never_panics(
        initcode in proptest::collection::vec(any::<u8>(), 0..400),
        runtime in proptest::collection::vec(any::<u8>(), 1..200),
        calldata in proptest::collection::vec(any::<u8>(), 0..100),
        gas in 21_000u64..400_000,
    ) {
        let mut chain = Chain::new();
        let holders = |chain: &Chain, extra: &[Address]| {
            let mut all = vec![chain.user.address(), env().proposer];
            all.extend_from_slice(extra);
            lazai_ledger::total_supply(&chain.state, &all)
        };
        let supply = holders(&chain, &[]);
        let tx = recover(&Tx { gas, ..Tx::create(0, initcode) }.eip1559(&chain.user));
        let created = chain.user.address().create(0);
        let root = chain.state.root();
        match chain.ledger.apply(&mut chain.state, &env(), &tx, 0) {
            Ok(r) => prop_assert!(r.gas_used <= gas),
            Err(_) => prop_assert_eq!(chain.state.root(), root),
        }
        prop_assert_eq!(holders(&chain, &[created]), supply);

        // A contract whose runtime code is random bytes, called with random data.
        let target = Address::repeat_byte(0xc0);
        chain.state.set_code(&target, runtime.into());
        let tx = recover(&Tx { nonce: chain.state.nonce(&chain.user.address()), gas, ..Tx::call(0, target, calldata) }.eip1559(&chain.user));
        let supply = holders(&chain, &[created, target]);
        let root = chain.state.root();
        match chain.ledger.apply(&mut chain.state, &env(), &tx, 0) {
            Ok(r) => prop_assert!(r.gas_used <= gas),
            Err(_) => prop_assert_eq!(chain.state.root(), root),
        }
        prop_assert_eq!(holders(&chain, &[created, target]), supply);
    }
}
