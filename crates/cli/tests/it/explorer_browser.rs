//! The explorer in a real browser: headless Chromium, driven over WebDriver by chromedriver,
//! loads the home page of a demo chain, follows links to a block, a transaction, an iDAO, a DAT
//! class, a model's lineage and a task, checks what each shows, that the head, the latest
//! blocks and a new transaction appear live, that a narrow screen does not scroll sideways and
//! that no page logs a JavaScript error.
//! Screenshots of each page type are saved under `target/tmp/explorer-screenshots/` (or
//! `$LAZAI_SCREENSHOTS`).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`bash .ci/run` installs them). By hand:
//! `cargo test -p lazai-cli --test it explorer_in_a_browser -- --ignored`.

use crate::explorer::Demo;
use crate::process::free_port;
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process and one browser session, both ended when dropped.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http");
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1400",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let shots = std::env::var_os("LAZAI_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots")
            });
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Browser {
            driver,
            base,
            session,
            http,
            shots,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        assert!(
            v["value"].get("error").is_none(),
            "webdriver {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    async fn text(&self, css: &str) -> String {
        let script = format!(
            "var e = document.querySelector({}); return e ? e.textContent : null;",
            serde_json::to_string(css).expect("css")
        );
        self.js(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn click(&self, css: &str) {
        let e = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let id = e
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_string();
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
        self.wait_loaded().await;
    }

    async fn wait_loaded(&self) {
        for _ in 0..100 {
            if self.js("return document.readyState").await == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The browser's console entries at level SEVERE since the last call.
    async fn errors(&self) -> Vec<String> {
        let entries = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        entries
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].to_string())
            .collect()
    }

    async fn screenshot(&self, name: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("png");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("save screenshot");
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }
}

async fn expect_page(b: &Browser, name: &str, h1: &str, shows: &[&str]) {
    let title = b.text("h1").await;
    assert!(
        title.contains(h1),
        "{name}: h1 is {title:?}, url {}",
        b.url().await
    );
    let body = b.text("main").await;
    for s in shows {
        assert!(body.contains(s), "{name} does not show {s:?}");
    }
    let errors = b.errors().await;
    assert!(errors.is_empty(), "{name} logged errors: {errors:?}");
    b.screenshot(name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium and chromium-driver (bash .ci/run installs them)"]
async fn explorer_in_a_browser() {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists(),
        "install chromium and chromium-driver first"
    );
    let demo = Demo::start().await;
    let b = Browser::start().await;

    b.go(&demo.url("/")).await;
    b.wait_loaded().await;
    expect_page(
        &b,
        "home",
        "LazChain",
        &["Finalized head", "Latest blocks", "LazAI objects"],
    )
    .await;
    // The console log endpoint works (a check that cannot fail would prove nothing).
    b.js("console.error('probe')").await;
    assert_eq!(b.errors().await.len(), 1, "the browser's console is read");

    // The head moves without a reload.
    let first = b.text("[data-live=head]").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = b.text("[data-live=head]").await;
        if now.parse::<u64>().unwrap_or(0) > first.parse::<u64>().unwrap_or(u64::MAX) {
            break;
        }
        assert!(Instant::now() < deadline, "the head stayed at {first}");
    }
    let row = b.text("[data-live=blocks] tr td a").await;
    assert!(
        row.parse::<u64>().unwrap_or(0) > first.parse::<u64>().unwrap_or(u64::MAX) - 1,
        "the latest blocks list is live: {row}"
    );

    // A new transaction reaches the top of the latest transactions without a reload.
    let signer = lazai_client::parse_key(crate::process::DEV_KEY_0).expect("key");
    let client =
        lazai_client::Client::signing(&demo.rpc, signer, Duration::from_secs(60)).expect("client");
    let sent = client
        .send(
            lazai_abi::IDAO_REGISTRY_ADDRESS,
            lazai_abi::IIdaoRegistry::registerIdao_1Call {
                name: "live".into(),
                metadataUri: String::new(),
                roles: lazai_abi::ROLE_DATA,
            },
            alloy_primitives::U256::ZERO,
        )
        .await
        .expect("register an iDAO");
    let hash = format!("{:#x}", sent.transaction_hash);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let top = b
            .js("var a = document.querySelector('[data-live=txs] tr td a'); return a ? a.title : null;")
            .await;
        if top.as_str() == Some(hash.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the latest transactions did not show {hash} (top: {top})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        b.text("[data-live=txs] tr td:nth-child(4)")
            .await
            .contains("registerIdao"),
        "the new transaction's call is named"
    );

    b.click("[data-live=blocks] tr td a").await;
    expect_page(&b, "block", "Block", &["State root", "Proposer"]).await;

    b.go(&demo.url("/")).await;
    b.wait_loaded().await;
    b.click("a[href^='/explorer/tx/0x']").await;
    expect_page(
        &b,
        "transaction",
        "Transaction",
        &["Status", "Call", "Events ("],
    )
    .await;

    b.go(&demo.url("/")).await;
    b.wait_loaded().await;
    b.click("a[href='/explorer/idao/2']").await;
    expect_page(
        &b,
        "idao",
        "wine-quality",
        &[
            "Attested workers",
            "dev (simulated, not a real TEE)",
            "TEE policy",
        ],
    )
    .await;

    b.click("a[href='/explorer/class/1']").await;
    expect_page(&b, "class", "DAT class 1", &["Holders", "Settled"]).await;

    b.go(&demo.url("/idao/2")).await;
    b.wait_loaded().await;
    b.click("a[href='/explorer/model/1']").await;
    expect_page(&b, "model", "Model 1", &["Lineage", "Price per call"]).await;
    let nodes = b
        .js("return document.querySelectorAll('svg.lineage a').length")
        .await;
    assert!(
        nodes.as_u64().unwrap_or(0) >= 2,
        "the lineage graph has nodes: {nodes}"
    );
    // The graph's nodes are links: follow one to its class.
    b.click("svg.lineage a[href='/explorer/class/1']").await;
    assert!(b.url().await.ends_with("/explorer/class/1"));

    b.go(&demo.url("/idao/2")).await;
    b.wait_loaded().await;
    b.click("a[href='/explorer/task/1']").await;
    expect_page(
        &b,
        "task",
        "Verification task 1",
        &["optimistic", "Challenge window"],
    )
    .await;

    // A phone-sized screen: no sideways scrolling, the search box still there.
    b.resize(390, 900).await;
    for (name, path) in [
        ("narrow-home", "/"),
        ("narrow-idao", "/idao/2"),
        ("narrow-flow", "/flow/1"),
    ] {
        b.go(&demo.url(path)).await;
        b.wait_loaded().await;
        let overflow = b
            .js("return document.documentElement.scrollWidth - window.innerWidth")
            .await
            .as_i64()
            .unwrap_or(i64::MAX);
        assert!(overflow <= 1, "{name} scrolls sideways by {overflow} px");
        assert!(!b.text("form.search button").await.is_empty());
        let errors = b.errors().await;
        assert!(errors.is_empty(), "{name} logged errors: {errors:?}");
        b.screenshot(name).await;
    }
    b.cmd(reqwest::Method::DELETE, "", None).await;
}
