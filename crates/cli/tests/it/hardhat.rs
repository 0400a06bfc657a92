//! The Hardhat example (`examples/hardhat`) runs its test suite against a `lazai devnet`, as its
//! README tells a developer to: Hardhat 2 compiles with solc-js, deploys an ERC-20 and a contract
//! selling access to a DAT class through the node's dev accounts, and checks the purchases. Needs
//! the example's npm packages (`npm ci` in `examples/hardhat`); `bash .ci/run` installs them and
//! runs this test. By hand: `cargo test -p lazai-cli --test it hardhat -- --ignored`.

use crate::dat::{devnet, free_port};
use crate::process::{provider, wait_for_height};
use alloy::providers::Provider;
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as I};
use lazai_client::Client;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hardhat");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Hardhat example's npm packages: `npm ci` in examples/hardhat (bash .ci/run does)"]
async fn the_hardhat_example_runs_against_a_devnet() {
    assert!(
        Path::new(EXAMPLE).join("node_modules/hardhat").is_dir(),
        "run `npm ci` in examples/hardhat first"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc_port, p2p) = (free_port(), free_port());
    let _devnet = devnet(&dir.path().join("chain"), rpc_port, p2p, &[]);
    wait_for_height(&provider(rpc_port), 1).await;
    let rpc = format!("http://127.0.0.1:{rpc_port}");

    let run = tokio::task::spawn_blocking({
        let rpc = rpc.clone();
        move || {
            Command::new("npx")
                .args(["hardhat", "test", "--network", "lazai"])
                .current_dir(EXAMPLE)
                .env("LAZAI_RPC_URL", rpc)
                .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
                .env_remove("LAZAI_KEYS")
                .output()
                .expect("run npx hardhat")
        }
    });
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("hardhat finished within 10 minutes")
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hardhat failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passing"), "{stdout}");

    // What it did is on this chain: a DAT class whose creator is the deployed shop contract.
    let reader = Client::read(&rpc).expect("client");
    let count = reader
        .call(DAT_ADDRESS, I::classCountCall {})
        .await
        .expect("classCount");
    assert!(!count.is_zero(), "the shop created a class");
    let class = reader
        .call(DAT_ADDRESS, I::classInfoCall { classId: count })
        .await
        .expect("classInfo");
    assert_eq!(class.metadataURI, "ipfs://example-dataset");
    let code = provider(rpc_port)
        .get_code_at(class.creator)
        .await
        .expect("getCode");
    assert!(!code.is_empty(), "the class's creator is a contract");
}
