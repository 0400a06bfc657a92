//! The explorer against the demo's chain: `lazai demo --keep-running` serves it at /explorer;
//! every page type shows what the demo did, attacker strings stay inert, and bad ids, hashes
//! and cursors get clear errors.

use crate::process::{DEV_KEY_0, free_port};
use alloy_primitives::{B256, U256};
use lazai_abi::{
    DAT_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as Dat, IIdaoRegistry as Reg, IVsc,
    ROLE_DATA, VSC_ADDRESS,
};
use lazai_client::Client;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `lazai demo --keep-running`, killed when dropped.
pub(crate) struct Demo {
    child: Child,
    pub(crate) rpc: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Runs the demo to its end (the chain keeps running) and waits until the explorer has
    /// indexed it.
    pub(crate) async fn start() -> Demo {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lazai"))
            .args(["demo", "--keep-running", "--calls", "20", "--data-dir"])
            .arg(dir.path().join("demo"))
            .args(["--rpc-addr", &format!("127.0.0.1:{port}")])
            .env("LAZAI_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn lazai demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("keeps running") {
                    let _ = tx.send(());
                }
            }
        });
        let demo = Demo {
            child,
            rpc: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        rx.recv_timeout(Duration::from_secs(600))
            .expect("the demo finishes its walk");
        demo.wait_indexed().await;
        demo
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/explorer{path}", self.rpc)
    }

    /// Waits until the explorer's index reaches the node's head as it is now.
    pub(crate) async fn wait_indexed(&self) {
        let http = reqwest::Client::new();
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []});
        let head: serde_json::Value = http
            .post(&self.rpc)
            .json(&body)
            .send()
            .await
            .expect("eth_blockNumber")
            .json()
            .await
            .expect("json");
        let head = u64::from_str_radix(
            head["result"]
                .as_str()
                .expect("height")
                .trim_start_matches("0x"),
            16,
        )
        .expect("hex height");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = http.get(self.url("/api/head")).send().await
                && let Ok(v) = r.json::<serde_json::Value>().await
                && v["indexed"].as_u64().is_some_and(|i| i >= head)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the explorer's index did not reach block {head}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

async fn get(url: &str) -> (u16, String) {
    let r = http().get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

async fn page(demo: &Demo, path: &str) -> String {
    let (status, body) = get(&demo.url(path)).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(
        body.len() < 2 * 1024 * 1024,
        "{path} is {} bytes",
        body.len()
    );
    body
}

fn assert_has(body: &str, needles: &[&str], what: &str) {
    for n in needles {
        assert!(body.contains(n), "{what} lacks {n:?}");
    }
}

/// The first `/explorer/tx/0x…` link in a page.
fn first_tx_link(body: &str) -> Option<String> {
    let at = body.find("/explorer/tx/0x")?;
    Some(body[at..at + "/explorer/tx/".len() + 66].to_string())
}

// Each also carries a right-to-left override (U+202E), which would make the text after it
// read backwards.
const XSS_NAME: &str = "<script>alert('idao')</script>\u{202E}OADi dooG";
const XSS_URI: &str = "javascript:alert(1)//\"><img src=x onerror=alert(2)>\u{202E}";
const XSS_SCHEMA: &str = "{\"format\":\"csv\",\"columns\":[{\"name\":\"</pre><script>alert(3)</script>\u{202E}\",\"type\":\"string\"}]}";

/// Sends the attacker's objects: an iDAO, its data configuration and a DAT class, every string
/// a script.
async fn inject(rpc: &str) -> (U256, U256) {
    let signer = lazai_client::parse_key(DEV_KEY_0).expect("key");
    let client = Client::signing(rpc, signer, Duration::from_secs(60)).expect("client");
    let count = client
        .call(IDAO_REGISTRY_ADDRESS, Reg::idaoCountCall {})
        .await
        .expect("idaoCount");
    client
        .send(
            IDAO_REGISTRY_ADDRESS,
            Reg::registerIdao_1Call {
                name: XSS_NAME.into(),
                metadataUri: XSS_URI.into(),
                roles: ROLE_DATA,
            },
            U256::ZERO,
        )
        .await
        .expect("register the iDAO");
    let idao = count + U256::from(1);
    client
        .send(
            VSC_ADDRESS,
            IVsc::configureIdaoCall {
                idaoId: idao,
                params: IVsc::DataParams {
                    schema: XSS_SCHEMA.into(),
                    workerKey: B256::repeat_byte(7),
                    storeUrl: XSS_URI.into(),
                    quorumSize: 1,
                    threshold: 1,
                    deadlineBlocks: 100,
                    nodeFee: U256::ZERO,
                    usageQuota: U256::from(10),
                },
            },
            U256::ZERO,
        )
        .await
        .expect("configure the iDAO");
    let classes = client
        .call(DAT_ADDRESS, Dat::classCountCall {})
        .await
        .expect("classCount");
    client
        .send(
            DAT_ADDRESS,
            Dat::createClassCall {
                metadataURI: XSS_NAME.into(),
                integrityHash: B256::repeat_byte(1),
                unitDecimals: 0,
                policyURI: XSS_URI.into(),
            },
            U256::ZERO,
        )
        .await
        .expect("create the class");
    (idao, classes + U256::from(1))
}

/// No markup an attacker wrote survives: every `<` of theirs is escaped.
fn assert_inert(body: &str, what: &str) {
    for bad in ["<script>alert", "<img src=x", "</pre><script>"] {
        assert!(!body.contains(bad), "{what} carries live markup {bad:?}");
    }
    let scripts = body.matches("<script").count();
    assert_eq!(scripts, 1, "{what}: only the explorer's own script tag");
    assert!(
        !body.contains('\u{202E}'),
        "{what} carries a live right-to-left override"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_shows_the_demo_chain_and_refuses_bad_input() {
    let demo = Demo::start().await;

    let home = page(&demo, "/").await;
    assert_has(
        &home,
        &[
            "Finalized head",
            "Validators",
            "validator-0",
            "LazAI objects",
            "/explorer/idao/2",
            "/explorer/model/1",
            "/explorer/task/1",
        ],
        "home",
    );
    let tx = first_tx_link(&home).expect("the home page lists transactions");
    // The live feed carries the same newest transactions, with links the page can follow.
    let feed: serde_json::Value = http()
        .get(demo.url("/api/head"))
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("feed JSON");
    let txs = feed["txs"].as_array().expect("the feed lists transactions");
    assert!((1..=10).contains(&txs.len()), "{feed}");
    assert!(
        txs.iter().any(|t| t["hash"]
            .as_str()
            .is_some_and(|h| tx == format!("/explorer/tx/{h}"))),
        "the feed lists the page's newest transaction {tx}: {feed}"
    );
    assert!(txs[0]["fromLabel"].as_str().is_some_and(|l| !l.is_empty()));
    assert!(txs.iter().all(|t| t["call"].is_string()));

    let idao = page(&demo, "/idao/2").await;
    assert_has(
        &idao,
        &[
            "wine-quality",
            "dev (simulated, not a real TEE)",
            "/explorer/flow/1",
            "/explorer/model/1",
            "2 of 3 verifiers must agree",
            "Attested workers",
        ],
        "iDAO 2",
    );
    let class = page(&demo, "/class/1").await;
    assert_has(
        &class,
        &[
            "DAT class 1",
            "Holders",
            "/explorer/token/1",
            "Settled",
            "Revenue settled",
            "<svg",
        ],
        "class 1",
    );
    let token = page(&demo, "/token/1").await;
    assert_has(
        &token,
        &["DAT token 1", "Pending revenue", "Minted"],
        "token 1",
    );
    let model = page(&demo, "/model/1").await;
    assert_has(
        &model,
        &[
            "Lineage of model 1",
            "<svg",
            "/explorer/class/1",
            "Price per call",
            "UsageBatchRecorded",
        ],
        "model 1",
    );
    let flow = page(&demo, "/flow/1").await;
    assert_has(
        &flow,
        &[
            "Quorum agreement",
            "agreed",
            "Anchored results root",
            "FlowVerified",
        ],
        "flow 1",
    );
    let task = page(&demo, "/task/1").await;
    assert_has(
        &task,
        &[
            "optimistic",
            "Challenge window",
            "OptimisticPosted",
            "data-countdown-end",
        ],
        "task 1",
    );
    let block = page(&demo, "/block/1").await;
    assert_has(
        &block,
        &["Block 1", "State root", "/explorer/block/2"],
        "block 1",
    );
    let tx_page = page(&demo, tx.trim_start_matches("/explorer")).await;
    assert_has(
        &tx_page,
        &["Transaction", "success", "Call", "Events ("],
        "a transaction",
    );
    let blocks = page(&demo, "/blocks?before=10").await;
    assert_has(
        &blocks,
        &["/explorer/block/9\"", "/explorer/block/0\""],
        "blocks before 10",
    );
    assert!(
        !blocks.contains("/explorer/block/10\""),
        "the cursor excludes block 10"
    );

    // The index answers what RPC cannot: the worker's transactions and the class's holders.
    let model_worker = idao
        .split("/explorer/address/")
        .nth(2)
        .and_then(|s| s.get(..42))
        .expect("a worker address on the iDAO page")
        .to_string();
    let address = page(&demo, &format!("/address/{model_worker}")).await;
    assert_has(
        &address,
        &["Transactions", "/explorer/tx/0x", "Balance"],
        "a worker's address",
    );

    // Search.
    for (q, to) in [
        ("idao 2", "/explorer/idao/2"),
        ("12", "/explorer/block/12"),
        ("Class #1", "/explorer/class/1"),
        ("task:1", "/explorer/task/1"),
    ] {
        let r = http()
            .get(demo.url("/search"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("search");
        assert!(r.status().is_redirection(), "search {q:?}: {}", r.status());
        assert_eq!(
            r.headers()["location"].to_str().expect("location"),
            to,
            "search {q:?}"
        );
    }
    let r = http()
        .get(demo.url("/search"))
        .query(&[("q", tx.trim_start_matches("/explorer/tx/"))])
        .send()
        .await
        .expect("search");
    assert_eq!(r.headers()["location"].to_str().expect("location"), tx);

    // Bad input: clear errors, never a 500.
    for (path, status, says) in [
        ("/block/abc", 400, "is not a block number"),
        ("/block/99999999999", 404, "not finalized"),
        ("/idao/999999", 404, "no iDAO 999999"),
        (
            "/class/123456789012345678901234567890123456789012345678901234567890123456789012345678901",
            400,
            "is not an id",
        ),
        ("/flow/0x", 400, "is not an id"),
        ("/model/77777", 404, "no model 77777"),
        ("/task/-1", 400, "is not an id"),
        ("/token/99999", 404, "no DAT token"),
        ("/address/0x12", 400, "is not an address"),
        ("/tx/0x1234", 400, "32-byte hash"),
        (
            "/tx/0x0000000000000000000000000000000000000000000000000000000000000000",
            404,
            "no transaction",
        ),
        (
            "/address/0x0000000000000000000000000000000000000001?before=x.y",
            400,
            "list position",
        ),
        ("/nowhere", 404, "no such page"),
        ("/search?q=%3Cscript%3E", 400, "&lt;script&gt;"),
    ] {
        let (got, body) = get(&demo.url(path)).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(says), "{path} should say {says:?}");
        assert_inert(&body, path);
    }
    for path in [
        "/blocks?before=18446744073709551615",
        "/address/0x0000000000000000000000000000000000000001?before=18446744073709551615.4294967295",
        "/class/1?after=0xffffffffffffffffffffffffffffffffffffffff",
    ] {
        page(&demo, path).await;
    }

    // Attacker strings in an iDAO's name and URI, its schema and store URL, a class's URIs.
    let (idao, class) = inject(&demo.rpc).await;
    demo.wait_indexed().await;
    for path in [
        format!("/idao/{idao}"),
        format!("/class/{class}"),
        "/".to_string(),
    ] {
        let body = page(&demo, &path).await;
        assert_inert(&body, &path);
        if path != "/" {
            assert!(
                body.contains("&lt;script&gt;alert("),
                "{path} shows the name as text"
            );
            assert!(
                body.contains("[U+202E]"),
                "{path} shows the override as its code point"
            );
        }
    }
    let class_page = page(&demo, &format!("/class/{class}")).await;
    let tx = first_tx_link(&class_page).expect("the class's history links its creation");
    let body = page(&demo, tx.trim_start_matches("/explorer")).await;
    assert_inert(&body, "the attacker's transaction");
    assert!(body.contains("createClass"), "the decoded call is named");
}

async fn indexed(url: &str) -> Option<u64> {
    let v: serde_json::Value = http().get(url).send().await.ok()?.json().await.ok()?;
    v["indexed"].as_u64()
}

async fn wait_indexed_at_least(url: &str, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while indexed(url).await.is_none_or(|i| i < height) {
        assert!(
            Instant::now() < deadline,
            "the index did not reach block {height}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devnet_explorer_keeps_its_index_across_a_kill_and_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dir.path().join("chain");
    let (rpc, p2p) = (free_port(), free_port());
    let head = format!("http://127.0.0.1:{rpc}/explorer/api/head");
    let devnet = crate::dat::devnet(&chain, rpc, p2p, &[]);
    wait_indexed_at_least(&head, 20).await;
    drop(devnet); // SIGKILL: no clean shutdown

    let index =
        lazai_explorer::Index::open(&chain.join("explorer")).expect("the index opens after a kill");
    let kept = index
        .height()
        .expect("height")
        .expect("indexed blocks survive");
    assert!(kept >= 20, "kept {kept}");
    let genesis = index.genesis().expect("genesis");
    let first = index.block(1).expect("block 1").expect("block 1 indexed");
    drop(index);

    let _devnet = crate::dat::devnet(&chain, rpc, p2p, &[]);
    wait_indexed_at_least(&head, kept + 20).await;
    let home = page_at(&format!("http://127.0.0.1:{rpc}/explorer/")).await;
    assert!(home.contains("Latest blocks"));

    // `lazai explorer` beside the node, on a port of its own.
    let mut standalone = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "explorer",
            "--rpc",
            &format!("http://127.0.0.1:{rpc}"),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("standalone"))
        .env("LAZAI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lazai explorer");
    // Keep reading its stdout: a closed pipe would end it at its next line.
    let out = standalone.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("its first line");
    let url = line
        .strip_prefix("LazAI explorer at ")
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    wait_indexed_at_least(&format!("{url}/api/head"), kept).await;
    assert!(page_at(&format!("{url}/idao/1")).await.contains("iDAO 1"));
    let root = url.trim_end_matches("/explorer");
    let r = http().get(format!("{root}/")).send().await.expect("GET /");
    assert!(
        r.status().is_redirection(),
        "/ leads to the explorer: {}",
        r.status()
    );
    let _ = standalone.kill();
    let _ = standalone.wait();
    // The node's index (read from its chain in process) and `lazai explorer`'s (over JSON-RPC)
    // hold the same entries for the blocks both indexed.
    let theirs = lazai_explorer::Index::open(&dir.path().join("standalone")).expect("standalone");
    let up_to = theirs.height().expect("height").expect("indexed");
    wait_indexed_at_least(&head, up_to).await;
    let addresses = addresses_in(&format!("http://127.0.0.1:{rpc}"), up_to).await;
    drop(_devnet);
    let index = lazai_explorer::Index::open(&chain.join("explorer")).expect("reopen");
    assert_same_entries(&index, &theirs, up_to, &addresses);
    drop(theirs);
    assert_eq!(
        index.genesis().expect("genesis"),
        genesis,
        "the same chain, not rebuilt for another"
    );
    assert_eq!(index.block(1).expect("block 1"), Some(first));
    assert!(
        index
            .height()
            .expect("height")
            .is_some_and(|h| h >= kept + 20)
    );
}

async fn page_at(url: &str) -> String {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "{url}: {body}");
    body
}

/// Every sender and recipient of blocks `0..=up_to`, from the node.
async fn addresses_in(rpc: &str, up_to: u64) -> Vec<alloy_primitives::Address> {
    let mut out = std::collections::BTreeSet::new();
    for h in 0..=up_to {
        let body = serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "eth_getBlockReceipts",
            "params": [format!("{h:#x}")],
        });
        let r: serde_json::Value = http()
            .post(rpc)
            .json(&body)
            .send()
            .await
            .expect("receipts")
            .json()
            .await
            .expect("json");
        for receipt in r["result"]
            .as_array()
            .expect("receipts of a finalized block")
        {
            for key in ["from", "to", "contractAddress"] {
                if let Some(a) = receipt[key].as_str().and_then(|a| a.parse().ok()) {
                    out.insert(a);
                }
            }
        }
    }
    out.into_iter().collect()
}

/// `a` and `b` index blocks `0..=up_to` the same way: summaries, every address's
/// transactions, and the iDAOs' histories and children.
fn assert_same_entries(
    a: &lazai_explorer::Index,
    b: &lazai_explorer::Index,
    up_to: u64,
    addresses: &[alloy_primitives::Address],
) {
    use lazai_explorer::index::Kind;
    let blocks =
        |i: &lazai_explorer::Index| i.latest_blocks(Some(up_to + 1), 100_000).expect("blocks");
    assert_eq!(blocks(a), blocks(b), "block summaries");
    assert_eq!(blocks(a).len() as u64, up_to + 1);
    assert!(
        !addresses.is_empty(),
        "the devnet's services sent transactions"
    );
    for address in addresses {
        let txs = |i: &lazai_explorer::Index| {
            let mut txs = i.address_txs(*address, None, 100_000).expect("txs");
            txs.retain(|(pos, _)| pos.height <= up_to);
            txs
        };
        assert_eq!(txs(a), txs(b), "transactions of {address}");
        assert!(!txs(a).is_empty(), "{address} has its transactions indexed");
    }
    for idao in 1..=3u64 {
        let id = U256::from(idao);
        let logs = |i: &lazai_explorer::Index| {
            let mut logs = i.object_logs(Kind::Idao, id, None, 10_000).expect("logs");
            logs.retain(|l| l.pos.height <= up_to);
            logs
        };
        assert_eq!(logs(a), logs(b), "history of iDAO {idao}");
        let workers = |i: &lazai_explorer::Index| {
            i.children(Kind::Idao, id, Kind::Worker, 100)
                .expect("workers")
        };
        assert_eq!(workers(a), workers(b), "workers of iDAO {idao}");
    }
    let history = a
        .object_logs(Kind::Idao, U256::from(1), None, 10)
        .expect("iDAO 1");
    assert!(!history.is_empty(), "iDAO 1's events are indexed");
}
