//! The explorer's index: blocks applied in order, once; cursors that page without gaps or
//! repeats; holders, children and object logs from real module events; a reset for another
//! chain; and a node that does not answer.

use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::SolEvent;
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as Dat, IVsc, VSC_ADDRESS};
use lazai_explorer::index::{BlockEntries, BlockSummary, Index, Kind, TxPos};
use std::time::Duration;

fn summary(height: u64, txs: u32) -> BlockSummary {
    BlockSummary {
        height,
        hash: B256::with_last_byte(height as u8),
        timestamp: 1_700_000_000 + height,
        tx_count: txs,
        gas_used: 21_000 * u64::from(txs),
        proposer: Address::repeat_byte(0xee),
    }
}

fn empty(height: u64) -> BlockEntries {
    let parent = if height == 0 {
        B256::ZERO
    } else {
        B256::with_last_byte((height - 1) as u8)
    };
    BlockEntries::new(summary(height, 0), parent)
}

const GENESIS: B256 = B256::repeat_byte(1);

fn open() -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = Index::open(dir.path()).expect("open");
    index.reset(GENESIS).expect("reset");
    (dir, index)
}

#[test]
fn blocks_apply_in_order_once_and_a_gap_is_refused() {
    let (_dir, index) = open();
    assert_eq!(index.height().expect("height"), None);
    let blocks: Vec<_> = (0..5).map(empty).collect();
    index.apply(GENESIS, &blocks[..3]).expect("apply 0..3");
    assert_eq!(index.height().expect("height"), Some(2));
    // The same batch again, and an overlapping one, change nothing and move on.
    index.apply(GENESIS, &blocks[..3]).expect("repeat");
    index.apply(GENESIS, &blocks[1..5]).expect("overlap");
    assert_eq!(index.height().expect("height"), Some(4));
    assert_eq!(index.latest_blocks(None, 10).expect("list").len(), 5);
    // A gap is refused and leaves the index as it was.
    let error = index.apply(GENESIS, &[empty(9)]).expect_err("a gap");
    assert!(error.to_string().contains("does not follow"), "{error}");
    assert_eq!(index.height().expect("height"), Some(4));
    assert_eq!(index.block(9).expect("block"), None);
    assert_eq!(index.block(3).expect("block"), Some(summary(3, 0)));
    // A block that does not extend the indexed one, or a batch for another genesis: refused,
    // nothing written.
    let mut stranger = empty(5);
    stranger.parent = B256::repeat_byte(0x77);
    let error = index.apply(GENESIS, &[stranger]).expect_err("a fork");
    assert!(error.to_string().contains("does not extend"), "{error}");
    let error = index
        .apply(B256::repeat_byte(2), &[empty(5)])
        .expect_err("another chain");
    assert!(error.to_string().contains("another genesis"), "{error}");
    assert_eq!(index.height().expect("height"), Some(4));
    index.apply(GENESIS, &[empty(5)]).expect("the real block 5");
}

#[test]
fn an_address_pages_newest_first_without_gaps_or_repeats() {
    let (_dir, index) = open();
    let alice = Address::repeat_byte(0xa1);
    let bob = Address::repeat_byte(0xb0);
    let mut blocks = Vec::new();
    for h in 0..40u64 {
        let mut b = empty(h);
        b.summary = summary(h, 3);
        for i in 0..3u32 {
            let hash = B256::from(U256::from(h * 10 + u64::from(i)));
            b.address_txs.push((
                alice,
                TxPos {
                    height: h,
                    index: i,
                },
                hash,
            ));
        }
        b.address_txs.push((
            bob,
            TxPos {
                height: h,
                index: 0,
            },
            B256::ZERO,
        ));
        blocks.push(b);
    }
    index.apply(GENESIS, &blocks).expect("apply");
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = index.address_txs(alice, before, 50).expect("page");
        if page.is_empty() {
            break;
        }
        before = page.last().map(|(pos, _)| *pos);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 120, "every transaction once");
    assert!(
        seen.windows(2).all(|w| w[0].0 > w[1].0),
        "newest first, no repeats"
    );
    assert_eq!(
        seen[0].0,
        TxPos {
            height: 39,
            index: 2
        }
    );
    assert_eq!(index.address_txs(bob, None, 100).expect("bob").len(), 40);
    assert!(
        index
            .address_txs(Address::ZERO, None, 10)
            .expect("nobody")
            .is_empty()
    );
    let far = TxPos {
        height: u64::MAX,
        index: u32::MAX,
    };
    assert_eq!(
        index
            .address_txs(alice, Some(far), 5)
            .expect("far cursor")
            .len(),
        5
    );
    assert_eq!(
        index.latest_tx_blocks(3).expect("tx blocks"),
        vec![(39, 3), (38, 3), (37, 3)]
    );
}

fn log<E: SolEvent>(address: Address, event: &E) -> Log {
    Log {
        address,
        data: event.encode_log_data(),
    }
}

fn receipt_json(
    hash: B256,
    index: u64,
    from: Address,
    to: Address,
    logs: &[Log],
) -> serde_json::Value {
    let logs: Vec<_> = logs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::json!({
                "address": l.address,
                "topics": l.data.topics(),
                "data": Bytes::from(l.data.data.to_vec()),
                "logIndex": format!("{i:#x}"),
                "transactionHash": hash,
                "transactionIndex": format!("{index:#x}"),
                "blockNumber": "0x1",
                "blockHash": B256::with_last_byte(1),
                "removed": false,
            })
        })
        .collect();
    serde_json::json!({
        "type": "0x2",
        "status": "0x1",
        "cumulativeGasUsed": "0x5208",
        "logs": logs,
        "logsBloom": Bytes::from(vec![0u8; 256]),
        "transactionHash": hash,
        "transactionIndex": format!("{index:#x}"),
        "blockHash": B256::with_last_byte(1),
        "blockNumber": "0x1",
        "gasUsed": "0x5208",
        "effectiveGasPrice": "0x1",
        "from": from,
        "to": to,
        "contractAddress": null,
    })
}

fn block_json(height: u64, txs: usize) -> serde_json::Value {
    serde_json::json!({
        "hash": B256::with_last_byte(height as u8),
        "parentHash": if height == 0 { B256::ZERO } else { B256::with_last_byte((height - 1) as u8) },
        "sha3Uncles": B256::ZERO,
        "miner": Address::repeat_byte(0xee),
        "stateRoot": B256::ZERO,
        "transactionsRoot": B256::ZERO,
        "receiptsRoot": B256::ZERO,
        "logsBloom": Bytes::from(vec![0u8; 256]),
        "difficulty": "0x0",
        "number": format!("{height:#x}"),
        "gasLimit": "0x1000000",
        "gasUsed": format!("{:#x}", 21_000 * txs),
        "timestamp": "0x6553f100",
        "extraData": "0x",
        "mixHash": B256::ZERO,
        "nonce": "0x0000000000000000",
        "baseFeePerGas": "0x7",
        "uncles": [],
        "transactions": [],
    })
}

#[test]
fn module_events_feed_holders_children_and_object_history() {
    let (_dir, index) = open();
    let (creator, alice, bob) = (
        Address::repeat_byte(1),
        Address::repeat_byte(0xa1),
        Address::repeat_byte(0xb0),
    );
    let class = U256::from(7);
    let token = U256::from(3);
    let created = log(
        DAT_ADDRESS,
        &Dat::ClassCreated {
            classId: class,
            creator,
            metadataURI: "<script>".into(),
            integrityHash: B256::ZERO,
            unitDecimals: 0,
            policyURI: String::new(),
        },
    );
    let minted = log(
        DAT_ADDRESS,
        &Dat::Minted {
            tokenId: token,
            classId: class,
            to: alice,
            value: U256::from(100),
            shareRatio: U256::from(1),
            expireAt: 0,
        },
    );
    let moved = log(
        DAT_ADDRESS,
        &Dat::TransferToken {
            tokenId: token,
            from: alice,
            to: bob,
        },
    );
    let flow = log(
        VSC_ADDRESS,
        &IVsc::FlowSubmitted {
            flowId: U256::from(5),
            idaoId: U256::from(2),
            filesRoot: B256::ZERO,
            fileCount: U256::from(1),
            quorum: vec![alice],
            deadline: 9,
        },
    );
    // A log from an address that is not a module, with a module's topic: not an object.
    let forged = Log {
        address: Address::repeat_byte(0x99),
        data: minted.data.clone(),
    };
    let block1: alloy_rpc_types_eth::Block =
        serde_json::from_value(block_json(1, 2)).expect("block");
    let receipts: Vec<lazai_explorer::index::IndexReceipt> = vec![
        serde_json::from_value(receipt_json(
            B256::repeat_byte(0x11),
            0,
            creator,
            DAT_ADDRESS,
            &[created, minted, forged],
        ))
        .expect("receipt"),
        serde_json::from_value(receipt_json(
            B256::repeat_byte(0x22),
            1,
            alice,
            DAT_ADDRESS,
            &[moved, flow],
        ))
        .expect("receipt"),
    ];
    let entries =
        lazai_explorer::index::extract(&lazai_explorer::SourceBlock::from_rpc(&block1, receipts));
    index.apply(GENESIS, &[empty(0), entries]).expect("apply");

    assert_eq!(
        index.holders(class, None, 10).expect("holders"),
        vec![alice, bob]
    );
    assert_eq!(
        index.holders(class, Some(alice), 10).expect("after alice"),
        vec![bob]
    );
    assert_eq!(
        index.held_classes(bob, 10).expect("bob's classes"),
        vec![class]
    );
    assert_eq!(index.token_class(token).expect("token class"), Some(class));
    assert_eq!(
        index
            .children(Kind::Idao, U256::from(2), Kind::Flow, 10)
            .expect("flows"),
        vec![U256::from(5)]
    );
    let history = index
        .object_logs(Kind::Class, class, None, 10)
        .expect("class logs");
    assert_eq!(
        history.len(),
        2,
        "ClassCreated and Minted name the class; the forged log does not"
    );
    assert!(history.iter().all(|l| l.address == DAT_ADDRESS));
    assert_eq!(
        index
            .object_logs(Kind::Token, token, None, 10)
            .expect("token logs")
            .len(),
        2
    );
    // Bob received a DAT in a transaction he did not send: it is his too.
    let bobs = index.address_txs(bob, None, 10).expect("bob");
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].1, B256::repeat_byte(0x22));
}

#[test]
fn an_address_keeps_its_transactions_in_block_order_when_others_interleave() {
    let (_dir, index) = open();
    let (alice, bob) = (Address::repeat_byte(0xa1), Address::repeat_byte(0xb0));
    let mut block = empty(0);
    block.summary = summary(0, 5);
    // alice, bob, alice, bob, alice: each keeps its own order.
    for i in 0..5u32 {
        let who = if i % 2 == 0 { alice } else { bob };
        block.address_txs.push((
            who,
            TxPos {
                height: 0,
                index: i,
            },
            B256::with_last_byte(i as u8),
        ));
    }
    index.apply(GENESIS, &[block]).expect("apply");
    let indexes = |a| -> Vec<u32> {
        index
            .address_txs(a, None, 10)
            .expect("txs")
            .iter()
            .map(|(pos, hash)| {
                assert_eq!(
                    hash.0[31] as u32, pos.index,
                    "each hash stays with its index"
                );
                pos.index
            })
            .collect()
    };
    assert_eq!(indexes(alice), vec![4, 2, 0]);
    assert_eq!(indexes(bob), vec![3, 1]);
    // A cursor inside the block.
    let after = index
        .address_txs(
            alice,
            Some(TxPos {
                height: 0,
                index: 2,
            }),
            10,
        )
        .expect("after");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0.index, 0);
}

#[test]
fn an_index_of_the_first_layout_is_emptied_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // The first layout: one address entry per transaction, no layout key.
        let db = redb::Database::create(dir.path().join("index.redb")).expect("create");
        let tx = db.begin_write().expect("write");
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
                .expect("meta");
            meta.insert("genesis", GENESIS.as_slice()).expect("genesis");
            meta.insert("height", 7u64.to_be_bytes().as_slice())
                .expect("height");
            let mut old = tx
                .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("address_txs"))
                .expect("old table");
            old.insert([0xa1u8; 32].as_slice(), [0u8; 32].as_slice())
                .expect("entry");
        }
        tx.commit().expect("commit");
    }
    let index = Index::open(dir.path()).expect("open");
    assert_eq!(
        index.height().expect("height"),
        None,
        "rebuilt from block 0"
    );
    assert_eq!(index.genesis().expect("genesis"), None);
    drop(index);
    let db = redb::Database::open(dir.path().join("index.redb")).expect("reopen");
    let tx = redb::ReadableDatabase::begin_read(&db).expect("read");
    assert!(
        tx.list_tables()
            .expect("tables")
            .all(|t| redb::TableHandle::name(&t) != "address_txs"),
        "the old table is dropped"
    );
    drop(tx);
    drop(db);
    // A second open keeps what the first wrote.
    let index = Index::open(dir.path()).expect("open again");
    index.reset(GENESIS).expect("reset");
    index.apply(GENESIS, &[empty(0)]).expect("apply");
    drop(index);
    let index = Index::open(dir.path()).expect("open a third time");
    assert_eq!(index.height().expect("height"), Some(0));
}

#[test]
fn a_reset_forgets_the_other_chain() {
    let (_dir, index) = open();
    index.apply(GENESIS, &[empty(0), empty(1)]).expect("apply");
    index.reset(B256::repeat_byte(2)).expect("reset");
    assert_eq!(index.height().expect("height"), None);
    assert_eq!(
        index.genesis().expect("genesis"),
        Some(B256::repeat_byte(2))
    );
    assert!(index.latest_blocks(None, 10).expect("list").is_empty());
}

#[tokio::test]
async fn a_node_that_does_not_answer_is_a_clear_error_in_bounded_time() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let rpc = lazai_explorer::Rpc::new(&format!("http://{addr}"), Duration::from_millis(300))
        .expect("client");
    let started = std::time::Instant::now();
    let error = rpc.block_number().await.expect_err("no answer");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.is_unavailable(), "{error}");
    assert!(error.to_string().contains("did not answer"), "{error}");
    // Nobody listening at all.
    let closed =
        lazai_explorer::Rpc::new("http://127.0.0.1:1", Duration::from_secs(2)).expect("client");
    let error = closed.block_number().await.expect_err("refused");
    assert!(
        error.is_unavailable() && error.to_string().contains("cannot reach"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_an_unreachable_node_say_so_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = lazai_explorer::ExplorerConfig::new("http://127.0.0.1:1", dir.path());
    config.rpc_timeout = Duration::from_secs(1);
    let explorer = lazai_explorer::Explorer::start(config).expect("start");
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        explorer
            .serve(
                "127.0.0.1:0".parse().expect("addr"),
                async {
                    let _ = stop_rx.await;
                },
                move |a| {
                    let _ = bound_tx.send(a);
                },
            )
            .await
    });
    let addr = bound_rx.await.expect("bound");
    let http = reqwest::Client::new();
    for path in [
        "/explorer/",
        "/explorer/idao/1",
        "/explorer/block/1",
        "/explorer/search?q=0x0000000000000000000000000000000000000000000000000000000000000001",
    ] {
        let started = std::time::Instant::now();
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), 503, "{path}");
        let body = r.text().await.expect("body");
        assert!(body.contains("The node is not answering"), "{path}: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    // The assets need no node.
    let css = http
        .get(format!("http://{addr}/explorer/assets/style.css"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status().as_u16(), 200);
    let _ = stop_tx.send(());
    server.await.expect("join").expect("serve");
}

/// A node of `HEIGHT + 1` empty blocks that, like a node whose response limit a batch
/// exceeds, answers any receipts batch of more than 8 blocks with one "too big" error.
async fn small_response_node() -> std::net::SocketAddr {
    const HEIGHT: u64 = 200;
    fn answer(call: &serde_json::Value) -> serde_json::Value {
        let id = call["id"].clone();
        let param = call["params"][0]
            .as_str()
            .unwrap_or("0x0")
            .trim_start_matches("0x")
            .to_string();
        let height = u64::from_str_radix(&param, 16).unwrap_or(0);
        let result = match call["method"].as_str().unwrap_or("") {
            "eth_blockNumber" => serde_json::json!(format!("{HEIGHT:#x}")),
            "eth_getBlockByNumber" if height <= HEIGHT => block_json(height, 0),
            "eth_getBlockReceipts" if height <= HEIGHT => serde_json::json!([]),
            _ => serde_json::Value::Null,
        };
        serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result})
    }
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(|axum::Json(body): axum::Json<serde_json::Value>| async move {
            let answer = match &body {
                serde_json::Value::Array(calls) => {
                    let receipts = calls.iter().any(|c| c["method"] == "eth_getBlockReceipts");
                    if receipts && calls.len() > 8 {
                        serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32008, "message": "Response is too big"}})
                    } else {
                        serde_json::Value::Array(calls.iter().map(answer).collect())
                    }
                }
                call => answer(call),
            };
            axum::Json(answer)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_a_node_refuses_as_too_big_are_split_until_it_answers() {
    let addr = small_response_node().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let explorer = lazai_explorer::Explorer::start(lazai_explorer::ExplorerConfig::new(
        format!("http://{addr}"),
        dir.path(),
    ))
    .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while explorer.indexed_height() != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at {:?}",
            explorer.indexed_height()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
