//! The state of recent blocks, driven block by block without consensus: reads at the history
//! window's edges, proofs against a block's `stateRoot` checked by the client's verifier (and a
//! tampered one refused), an archive that keeps everything, and a reopened data dir that serves
//! the same window.

use crate::support::account;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use lazai_client::proof::{StateProof, verify};
use lazai_consensus::Executor;
use lazai_node::{Chain, ChainConfig, Mempool, MempoolConfig, NodeApi, devnet_genesis};
use lazai_rpc::{CallRequest, ChainApi, EthError, StateAt, proof_keys, state_proof};
use lazai_storage::History;
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::path::Path;
use std::sync::Arc;

const WINDOW: u64 = 4;
const RECIPIENT: Address = Address::repeat_byte(0x77);

/// Opens the chain in `dir` (its genesis stored beside it on first use, as a node keeps it).
fn open(dir: &Path, history: History) -> (Chain, NodeApi) {
    let path = dir.join("genesis.json");
    let genesis = match std::fs::read_to_string(&path) {
        Ok(text) => lazai_types::Genesis::parse(&text).expect("stored genesis"),
        Err(_) => {
            let accounts = [account(0).address()];
            let g = devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(1_000), 1_000_000_000);
            std::fs::write(&path, serde_json::to_string(&g).expect("json")).expect("write");
            g
        }
    };
    let chain = Chain::open(
        ChainConfig {
            genesis,
            db_path: dir.join("chain.redb"),
            max_block_txs: 100,
            max_block_tx_bytes: 1 << 20,
            history,
            db_cache_bytes: 8 << 20,
        },
        Arc::new(Mempool::new(MempoolConfig::default())),
    )
    .expect("open chain");
    let api = NodeApi::new(chain.clone(), Vec::new(), None);
    (chain, api)
}

fn transfer(nonce: u64, value: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: DEVNET_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(value),
        ..Default::default()
    };
    let sig = account(0)
        .sign_hash_sync(&tx.signature_hash())
        .expect("sign");
    TxEnvelope::Eip1559(tx.into_signed(sig))
        .encoded_2718()
        .into()
}

/// Finalizes one block holding a transfer of `value` wei (nonce = the block's height - 1).
fn block_with_transfer(chain: &Chain, api: &NodeApi, value: u64) {
    let height = chain.finalized_height();
    api.submit(transfer(height, value)).expect("admitted");
    let parent = chain.block(height).expect("head");
    let block = chain
        .propose(
            &parent,
            parent.header.timestamp_ms + 1_000,
            parent.header.proposer,
            Vec::new(),
        )
        .expect("proposed");
    assert_eq!(block.transactions.len(), 1);
    chain.finalized(&block);
    assert_eq!(chain.finalized_height(), height + 1);
}

fn balance(api: &NodeApi, at: StateAt) -> Result<U256, EthError> {
    api.account(&RECIPIENT, at, false).map(|a| a.balance)
}

fn proof(api: &NodeApi, at: StateAt, slots: &[Bytes]) -> (B256, StateProof) {
    let keys = proof_keys(&RECIPIENT, slots);
    let (height, root, entries) = api.prove(&keys, at).expect("prove");
    let proof = state_proof(RECIPIENT, slots.to_vec(), height, root, entries).expect("assemble");
    (root, proof)
}

#[test]
fn reads_at_the_window_edges_and_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (chain, api) = open(dir.path(), History::Recent(WINDOW));
    // Block h sends h wei: the recipient holds h(h+1)/2 after block h.
    let total = |h: u64| U256::from(h * (h + 1) / 2);
    for _ in 0..10 {
        block_with_transfer(&chain, &api, chain.finalized_height() + 1);
    }
    let head = chain.finalized_height();
    assert_eq!(head, 10);
    assert_eq!(balance(&api, StateAt::Head), Ok(total(10)));
    // The window is the head and the 3 blocks before it: 7..=10.
    for h in head + 1 - WINDOW..head {
        assert_eq!(balance(&api, StateAt::Block(h)), Ok(total(h)), "block {h}");
        let nonce = api
            .account(&account(0).address(), StateAt::Block(h), false)
            .expect("nonce")
            .nonce;
        assert_eq!(nonce, h);
    }
    let oldest = head - WINDOW;
    assert_eq!(
        balance(&api, StateAt::Block(oldest)),
        Err(EthError::HistoricalState {
            requested: oldest,
            finalized: head,
            window: WINDOW
        })
    );
    assert!(matches!(
        api.call(&CallRequest::default(), StateAt::Block(1)),
        Err(EthError::HistoricalState { .. })
    ));
    // A call at a kept block runs (on that block's state, in the environment of its child).
    let call = CallRequest {
        from: Some(RECIPIENT),
        to: Some(Address::repeat_byte(1)),
        value: Some(total(7)),
        ..Default::default()
    };
    assert!(
        api.call(&call, StateAt::Block(7))
            .expect("call at 7")
            .success
    );

    // Proofs at the head and at the oldest kept block verify against those blocks' roots;
    // an unset module slot is proven absent.
    let slots = [Bytes::from_static(b"no such slot")];
    for h in [head, head + 1 - WINDOW] {
        let at = if h == head {
            StateAt::Head
        } else {
            StateAt::Block(h)
        };
        let (root, p) = proof(&api, at, &slots);
        assert_eq!(root, chain.header(h).expect("header").state_root);
        assert_eq!(p.balance, total(h));
        verify(root, &p).expect("proof verifies");
        assert_eq!(p.storage_proof[0].value, None);
    }
    // Tampering: another balance, another key, a cut path, another block's root.
    let (root, p) = proof(&api, StateAt::Head, &slots);
    let mut forged = p.clone();
    forged.balance += U256::from(1);
    assert!(verify(root, &forged).is_err(), "inflated balance");
    let mut forged = p.clone();
    forged.account_key = lazai_ledger::account_key(&Address::repeat_byte(0x78));
    assert!(verify(root, &forged).is_err(), "another account's key");
    let mut forged = p.clone();
    forged.account_proof.pop();
    assert!(verify(root, &forged).is_err(), "truncated path");
    let mut forged = p.clone();
    forged.storage_proof[0].value = Some(Bytes::from_static(b"made up"));
    assert!(verify(root, &forged).is_err(), "invented slot value");
    let older = chain.header(head - 1).expect("header").state_root;
    assert!(verify(older, &p).is_err(), "another block's root");

    // Reopened from disk: the same window, the same answers (and no state reloaded).
    drop(api);
    drop(chain);
    let (chain, api) = open(dir.path(), History::Recent(WINDOW));
    assert_eq!(chain.finalized_height(), head);
    assert_eq!(balance(&api, StateAt::Block(head - 1)), Ok(total(head - 1)));
    block_with_transfer(&chain, &api, 11);
    assert_eq!(balance(&api, StateAt::Head), Ok(total(11)));
    assert!(
        balance(&api, StateAt::Block(7)).is_err(),
        "7 left the window"
    );
    assert_eq!(balance(&api, StateAt::Block(8)), Ok(total(8)));
}

#[test]
fn an_archive_keeps_every_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (chain, api) = open(dir.path(), History::Archive);
    for h in 1..=6 {
        block_with_transfer(&chain, &api, h);
    }
    for h in 0..=6u64 {
        let expected = U256::from(h * (h + 1) / 2);
        assert_eq!(balance(&api, StateAt::Block(h)), Ok(expected), "block {h}");
        let (root, p) = proof(&api, StateAt::Block(h), &[]);
        verify(root, &p).expect("archived proof verifies");
    }
}
