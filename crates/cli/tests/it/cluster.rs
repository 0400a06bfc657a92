//! Four validators and a full node as five `lazai node` processes, made and run by the
//! `devnet --processes` cluster code: one validator is SIGKILLed, the other three keep
//! finalizing, and after a restart from the same config it catches up to the same chain. A
//! transaction sent to the full node's RPC reaches the proposers by gossip.

use crate::process::{DEV_KEY_0, provider};
use alloy::network::TransactionBuilder;
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, TransactionRequest};
use alloy_primitives::{Address, U256};
use lazai_cli::devnet::cluster::{self, Cluster, ClusterLayout, ClusterPlan};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::path::Path;
use std::time::{Duration, Instant};

/// The validator taking the transactions.
const ENTRY: usize = 0;
/// The validator killed and restarted.
const VICTIM: usize = 2;
/// The full node (after the four validators).
const FULL_NODE: usize = 4;

fn logs(layout: &ClusterLayout) -> String {
    layout
        .nodes
        .iter()
        .map(|n| format!("--- {} ---\n{}", n.name, cluster::tail(&n.log, 15)))
        .collect()
}

/// Waits until every node in `which` has finalized `height`; panics (with every node's log
/// tail) if a node exits or this takes over a minute. Returns their lowest height.
async fn wait_all(
    cluster: &mut Cluster,
    layout: &ClusterLayout,
    which: &[usize],
    height: u64,
) -> u64 {
    let client = cluster::http_client().expect("client");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Err(exit) = cluster.check() {
            panic!("{exit}\n{}", logs(layout));
        }
        let mut heights = Vec::new();
        for &i in which {
            heights.push(
                cluster::block_number(&client, &layout.nodes[i].rpc_url())
                    .await
                    .ok(),
            );
        }
        if heights.iter().all(|h| h.is_some_and(|h| h >= height)) {
            return heights.into_iter().flatten().min().unwrap_or(height);
        }
        assert!(
            Instant::now() < deadline,
            "nodes {which:?} did not reach height {height}: {heights:?}\n{}",
            logs(layout)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn height(layout: &ClusterLayout, i: usize) -> u64 {
    let client = cluster::http_client().expect("client");
    cluster::block_number(&client, &layout.nodes[i].rpc_url())
        .await
        .expect("eth_blockNumber")
}

/// Sends `values` as transfers from dev account 0 to `to` through validator `ENTRY`, all at
/// once, and waits until each has a successful finalized receipt.
async fn transfers(layout: &ClusterLayout, to: Address, values: &[u64]) {
    transfers_via(layout, ENTRY, to, values).await
}

/// [`transfers`] through node `via`.
async fn transfers_via(layout: &ClusterLayout, via: usize, to: Address, values: &[u64]) {
    let p = provider(layout.nodes[via].rpc_addr.port());
    let mut pending = Vec::new();
    for v in values {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_value(U256::from(*v));
        pending.push(p.send_transaction(tx).await.expect("send"));
    }
    for tx in pending {
        let receipt = tokio::time::timeout(Duration::from_secs(60), tx.get_receipt())
            .await
            .unwrap_or_else(|_| panic!("no receipt within 60 s\n{}", logs(layout)))
            .expect("receipt");
        assert!(receipt.status());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validator_processes_survive_a_sigkill_and_agree_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev: alloy_signer_local::PrivateKeySigner = DEV_KEY_0.parse().expect("key");
    let plan = ClusterPlan {
        chain_id: DEVNET_CHAIN_ID,
        validators: cluster::free_loopback_addrs(4).expect("ports"),
        full_nodes: cluster::free_loopback_addrs(1).expect("ports"),
        accounts: vec![dev.address()],
        balance: lazai(10_000),
        gas_limit: 1_000_000_000,
        block_time_ms: 100,
    };
    let layout = cluster::init_or_load(dir.path(), &plan).expect("create the cluster");
    assert!(layout.created);
    assert_eq!(layout.nodes.len(), 5);
    assert_eq!(layout.genesis.validators.len(), 4);
    assert_eq!(layout.nodes[FULL_NODE].name, "full-node-0");
    for (i, node) in layout.nodes.iter().take(4).enumerate() {
        assert_eq!(node.name, format!("validator-{i}"));
        assert!(
            node.config.exists()
                && node
                    .config
                    .parent()
                    .expect("dir")
                    .join(cluster::KEY_FILE)
                    .exists()
        );
        assert_eq!((node.rpc_addr, node.p2p_addr), plan.validators[i]);
    }
    let again = cluster::init_or_load(dir.path(), &plan).expect("reuse the cluster");
    assert!(
        !again.created,
        "a second run reuses keys, genesis and configs"
    );
    assert_eq!(again.genesis, layout.genesis);

    // Killed with SIGKILL when dropped, panic or not.
    let mut cluster = Cluster::start(
        Path::new(env!("CARGO_BIN_EXE_lazai")),
        &layout.nodes,
        "info",
    )
    .expect("start the nodes");
    tokio::time::timeout(
        Duration::from_secs(90),
        cluster.wait_finalizing(Duration::from_secs(60)),
    )
    .await
    .expect("wait_finalizing")
    .unwrap_or_else(|e| panic!("{e:#}\n{}", logs(&layout)));

    let recipient = Address::repeat_byte(0x77);
    transfers(&layout, recipient, &[1, 2, 3]).await;

    let status = cluster.kill(VICTIM).expect("SIGKILL");
    assert!(!status.success());
    let survivors: Vec<usize> = (0..4).filter(|i| *i != VICTIM).collect();
    let mut at_kill = 0;
    for &i in &survivors {
        at_kill = at_kill.max(height(&layout, i).await);
    }
    // Three of four keep finalizing, transactions included.
    wait_all(&mut cluster, &layout, &survivors, at_kill + 6).await;
    transfers(&layout, recipient, &[4]).await;

    cluster.restart(VICTIM).expect("restart");
    // The full node is no validator: a transaction sent to it must travel to the proposers.
    transfers_via(&layout, FULL_NODE, recipient, &[5]).await;
    let goal = height(&layout, ENTRY).await + 3;
    let all: Vec<usize> = (0..5).collect();
    let common = wait_all(&mut cluster, &layout, &all, goal).await;

    let mut blocks = Vec::new();
    for node in &layout.nodes {
        let p = provider(node.rpc_addr.port());
        let block = p
            .get_block_by_number(BlockNumberOrTag::Number(common))
            .await
            .expect("eth_getBlockByNumber")
            .unwrap_or_else(|| panic!("{} has no block {common}", node.name));
        blocks.push((
            node.name.clone(),
            block.header.hash,
            block.header.state_root,
        ));
        assert_eq!(
            p.get_balance(recipient).await.expect("balance"),
            U256::from(15),
            "{} sees every transfer",
            node.name
        );
    }
    assert!(
        blocks
            .iter()
            .all(|b| (b.1, b.2) == (blocks[0].1, blocks[0].2)),
        "the nodes disagree at height {common}: {blocks:?}"
    );
    let agreed = cluster::agreement(&layout.nodes).await.expect("agreement");
    assert!(agreed.height >= common);
    cluster.check().unwrap_or_else(|exit| panic!("{exit}"));
}
