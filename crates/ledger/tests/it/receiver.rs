//! DATs sent to contracts: the DAT module asks the receiving contract (ERC-1155's
//! `onERC1155Received` / `onERC1155BatchReceived`) on the native path and from inside the EVM,
//! and a refusal of any kind undoes the transfer. `contracts/src/DatReceiver.sol` plays every
//! kind of receiver.

use crate::evm::{Chain, artifact};
use crate::support::*;
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{Revert, SolCall, SolError, SolValue, sol};
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as I};
use lazai_types::Receipt;

sol! {
    contract DatReceiver {
        function configure(uint8 m, address to) external;
        function singles() external view returns (uint256);
        function batches() external view returns (uint256);
        function lastOperator() external view returns (address);
        function lastFrom() external view returns (address);
        function lastData() external view returns (bytes);
        function send(address to, uint256 id, uint256 value, bytes data) external;
        function exec(address target, bytes data) external payable returns (bytes ret);
        function reenterOnReceive(uint256 tokenId) external;
        function received() external view returns (uint256);
    }
}

const ACCEPT: u8 = 0;
const WRONG_ANSWER: u8 = 1;
const REFUSE: u8 = 2;
const REFUSE_SILENTLY: u8 = 3;
const SPIN: u8 = 4;
const PASS_ON: u8 = 5;

fn receiver(chain: &mut Chain, mode: u8, next: Address) -> Address {
    let code = artifact(include_str!("../../../../contracts/out/DatReceiver.json")).bytecode;
    let at = chain.deploy(code, U256::ZERO);
    configure(chain, at, mode, next);
    at
}

fn configure(chain: &mut Chain, at: Address, mode: u8, next: Address) {
    let r = chain.call(
        at,
        DatReceiver::configureCall { m: mode, to: next }.abi_encode(),
    );
    assert!(r.success, "{r:?}");
}

/// A new fungible class with `amount` held by the chain's user.
fn class(chain: &mut Chain, amount: u64) -> U256 {
    let to = chain.user.address();
    let r = chain.call(
        DAT_ADDRESS,
        I::batchMintCall {
            to,
            ids: vec![U256::ZERO],
            amounts: vec![U256::from(amount)],
            tokenURIs: vec!["ipfs://receiver-test".into()],
        }
        .abi_encode(),
    );
    assert!(r.success, "{r:?}");
    <Vec<U256>>::abi_decode(&r.output).expect("ids")[0]
}

fn balance(chain: &Chain, who: Address, id: U256) -> U256 {
    let out = chain.view(
        DAT_ADDRESS,
        I::balanceOfCall { account: who, id }.abi_encode(),
    );
    U256::abi_decode(&out).expect("balance")
}

fn read<C: SolCall>(chain: &Chain, at: Address, call: C) -> C::Return {
    C::abi_decode_returns(&chain.view(at, call.abi_encode())).expect("decodes")
}

fn send_to(chain: &mut Chain, to: Address, id: U256, value: u64, gas: u64) -> Receipt {
    let from = chain.user.address();
    let input = I::safeTransferFromCall {
        from,
        to,
        id,
        value: U256::from(value),
        data: Bytes::from_static(b"hello"),
    }
    .abi_encode();
    chain.send(Tx {
        gas,
        ..Tx::call(0, DAT_ADDRESS, input)
    })
}

fn invalid_receiver(at: Address) -> Bytes {
    I::ERC1155InvalidReceiver { receiver: at }
        .abi_encode()
        .into()
}

#[test]
fn a_contract_recipient_is_asked_and_its_answer_decides() {
    let mut chain = Chain::new();
    let alice = chain.user.address();
    let id = class(&mut chain, 100);
    let r = receiver(&mut chain, ACCEPT, Address::ZERO);

    let receipt = send_to(&mut chain, r, id, 10, 1_000_000);
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(balance(&chain, r, id), U256::from(10));
    assert_eq!(read(&chain, r, DatReceiver::singlesCall {}), U256::from(1));
    assert_eq!(read(&chain, r, DatReceiver::lastOperatorCall {}), alice);
    assert_eq!(read(&chain, r, DatReceiver::lastFromCall {}), alice);
    assert_eq!(
        read(&chain, r, DatReceiver::lastDataCall {}),
        Bytes::from_static(b"hello")
    );
    // The module's event first, then the receiver's, as a Solidity ERC-1155 would log them.
    let emitters: Vec<Address> = receipt.logs.iter().map(|l| l.address).collect();
    assert_eq!(emitters.first(), Some(&DAT_ADDRESS));
    assert_eq!(emitters.last(), Some(&r));

    // Every way of saying no undoes the transfer.
    let refusals = [
        (WRONG_ANSWER, invalid_receiver(r)),
        (
            REFUSE,
            Revert::from("DatReceiver: not accepting")
                .abi_encode()
                .into(),
        ),
        (REFUSE_SILENTLY, invalid_receiver(r)),
        (SPIN, invalid_receiver(r)),
    ];
    for (mode, expected) in refusals {
        configure(&mut chain, r, mode, Address::ZERO);
        let receipt = send_to(&mut chain, r, id, 10, 1_000_000);
        assert!(!receipt.success, "mode {mode}: {receipt:?}");
        assert_eq!(receipt.output, expected, "mode {mode}");
        assert!(receipt.logs.is_empty());
        assert_eq!(balance(&chain, r, id), U256::from(10), "mode {mode}");
        assert_eq!(balance(&chain, alice, id), U256::from(90), "mode {mode}");
        assert_eq!(read(&chain, r, DatReceiver::singlesCall {}), U256::from(1));
    }
    // An account without code is not asked.
    let bob = signer(1).address();
    assert!(send_to(&mut chain, bob, id, 1, 1_000_000).success);
    assert_eq!(balance(&chain, bob, id), U256::from(1));
}

#[test]
fn batches_and_mints_to_a_contract_are_asked_too() {
    let mut chain = Chain::new();
    let alice = chain.user.address();
    let (a, b) = (class(&mut chain, 50), class(&mut chain, 60));
    let r = receiver(&mut chain, ACCEPT, Address::ZERO);

    let batch = |to| I::safeBatchTransferFromCall {
        from: alice,
        to,
        ids: vec![a, b],
        values: vec![U256::from(5), U256::from(6)],
        data: Bytes::new(),
    };
    let receipt = chain.call(DAT_ADDRESS, batch(r).abi_encode());
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(read(&chain, r, DatReceiver::batchesCall {}), U256::from(1));
    assert_eq!(balance(&chain, r, b), U256::from(6));

    // A mint is asked with `from` = 0.
    let mint = I::batchMintCall {
        to: r,
        ids: vec![a],
        amounts: vec![U256::from(7)],
        tokenURIs: vec![String::new()],
    };
    assert!(chain.call(DAT_ADDRESS, mint.abi_encode()).success);
    assert_eq!(read(&chain, r, DatReceiver::batchesCall {}), U256::from(2));
    assert_eq!(read(&chain, r, DatReceiver::lastFromCall {}), Address::ZERO);
    assert_eq!(balance(&chain, r, a), U256::from(12));

    configure(&mut chain, r, REFUSE_SILENTLY, Address::ZERO);
    let receipt = chain.call(DAT_ADDRESS, batch(r).abi_encode());
    assert_eq!(receipt.output, invalid_receiver(r));
    let receipt = chain.call(DAT_ADDRESS, mint.abi_encode());
    assert_eq!(receipt.output, invalid_receiver(r));
    assert_eq!(balance(&chain, r, a), U256::from(12));
    assert_eq!(balance(&chain, alice, a), U256::from(45));
}

#[test]
fn a_contract_sending_dats_to_a_contract_runs_its_hook_inside_the_evm() {
    let mut chain = Chain::new();
    let id = class(&mut chain, 100);
    let sender = receiver(&mut chain, ACCEPT, Address::ZERO);
    let target = receiver(&mut chain, ACCEPT, Address::ZERO);
    assert!(send_to(&mut chain, sender, id, 20, 1_000_000).success);

    let send = DatReceiver::sendCall {
        to: target,
        id,
        value: U256::from(8),
        data: Bytes::from_static(b"inner"),
    };
    let receipt = chain.call(sender, send.abi_encode());
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(balance(&chain, target, id), U256::from(8));
    assert_eq!(
        read(&chain, target, DatReceiver::lastOperatorCall {}),
        sender
    );
    assert_eq!(read(&chain, target, DatReceiver::lastFromCall {}), sender);
    // The module's events, then the hook's.
    let emitters: Vec<Address> = receipt.logs.iter().map(|l| l.address).collect();
    let (hook, module) = emitters.split_last().expect("logs");
    assert_eq!(*hook, target);
    assert!(!module.is_empty() && module.iter().all(|a| *a == DAT_ADDRESS));

    // The target refuses: the sending contract's call reverts with its reason, nothing moved.
    configure(&mut chain, target, REFUSE, Address::ZERO);
    let receipt = chain.call(sender, send.abi_encode());
    assert!(!receipt.success);
    assert_eq!(
        receipt.output,
        Bytes::from(Revert::from("DatReceiver: not accepting").abi_encode())
    );
    assert_eq!(balance(&chain, target, id), U256::from(8));
    assert_eq!(balance(&chain, sender, id), U256::from(12));
}

/// `n` receivers, each passing what it gets to the next from inside its hook; the last accepts.
fn chain_of(chain: &mut Chain, n: usize) -> Vec<Address> {
    let mut all = vec![receiver(chain, ACCEPT, Address::ZERO)];
    for _ in 1..n {
        let next = all[0];
        all.insert(0, receiver(chain, PASS_ON, next));
    }
    all
}

#[test]
fn hooks_that_send_on_nest_up_to_the_limit() {
    use lazai_ledger::MAX_CONTRACT_CALL_DEPTH;
    let mut chain = Chain::new();
    let id = class(&mut chain, 100);

    let ok = chain_of(&mut chain, MAX_CONTRACT_CALL_DEPTH);
    let receipt = send_to(&mut chain, ok[0], id, 3, 25_000_000);
    assert!(receipt.success, "{receipt:?}");
    let last = *ok.last().expect("receivers");
    assert_eq!(balance(&chain, last, id), U256::from(3));
    for r in &ok[..ok.len() - 1] {
        assert_eq!(balance(&chain, *r, id), U256::ZERO);
        assert_eq!(read(&chain, *r, DatReceiver::singlesCall {}), U256::from(1));
    }

    let deep = chain_of(&mut chain, MAX_CONTRACT_CALL_DEPTH + 1);
    let receipt = send_to(&mut chain, deep[0], id, 3, 25_000_000);
    assert!(!receipt.success);
    let reason = Revert::abi_decode(&receipt.output).expect("a reason");
    assert!(reason.reason.contains("nested deeper"), "{reason}");
    for r in &deep {
        assert_eq!(balance(&chain, *r, id), U256::ZERO);
        assert_eq!(read(&chain, *r, DatReceiver::singlesCall {}), U256::ZERO);
    }
    assert_eq!(balance(&chain, chain.user.address(), id), U256::from(97));
}

#[test]
fn a_dat_revenue_payout_to_a_contract_cannot_be_reentered() {
    let mut chain = Chain::new();
    let r = receiver(&mut chain, ACCEPT, Address::ZERO);
    // A class whose one token, with the whole share, belongs to the contract; revenue on it.
    let created = chain.call(
        DAT_ADDRESS,
        I::createClassCall {
            metadataURI: "ipfs://payout".into(),
            integrityHash: Default::default(),
            unitDecimals: 0,
            policyURI: String::new(),
        }
        .abi_encode(),
    );
    let class = U256::abi_decode(&created.output).expect("class id");
    let minted = chain.call(
        DAT_ADDRESS,
        I::mint_0Call {
            classId: class,
            to: r,
            value: U256::from(1),
            shareRatio: U256::from(1),
            expireAt: 0,
        }
        .abi_encode(),
    );
    assert!(minted.success, "{minted:?}");
    let token = U256::abi_decode(&minted.output).expect("token id");
    let settled = chain.send(Tx {
        gas: 1_000_000,
        value: U256::from(1_000),
        ..Tx::call(
            0,
            DAT_ADDRESS,
            I::settleRevenueETHCall { classId: class }.abi_encode(),
        )
    });
    assert!(settled.success, "{settled:?}");

    // The contract's receive() would claim again if it ran: the module credits the balance
    // without running the recipient's code, so it never does.
    let set = chain.call(
        r,
        DatReceiver::reenterOnReceiveCall { tokenId: token }.abi_encode(),
    );
    assert!(set.success);
    let claim = I::claimCall {
        tokenId: token,
        asset: Address::ZERO,
        to: r,
    };
    let exec = DatReceiver::execCall {
        target: DAT_ADDRESS,
        data: claim.abi_encode().into(),
    };
    let receipt = chain.call(r, exec.abi_encode());
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(chain.state.balance(&r), U256::from(1_000));
    assert_eq!(read(&chain, r, DatReceiver::receivedCall {}), U256::ZERO);
    let pending = chain.view(
        DAT_ADDRESS,
        I::pendingRevenueCall {
            tokenId: token,
            asset: Address::ZERO,
        }
        .abi_encode(),
    );
    assert_eq!(U256::abi_decode(&pending).expect("pending"), U256::ZERO);
    // Nothing is left to claim a second time.
    let again = chain.call(r, exec.abi_encode());
    assert!(!again.success);
    assert_eq!(
        again.output,
        Bytes::from(
            I::NothingToClaim {
                tokenId: token,
                asset: Address::ZERO
            }
            .abi_encode()
        )
    );
    assert_eq!(chain.state.balance(&r), U256::from(1_000));
}
