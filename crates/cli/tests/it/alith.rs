//! The unmodified alith Python SDK (LazAI's own) contributes a file to a `lazai devnet` as its
//! example does, and earns a DAT. Needs a Python with `alith` installed, named by
//! `LAZAI_ALITH_PYTHON`, and `gpg` (the SDK encrypts with it); `bash .ci/run` sets both up and
//! runs this test. Run it by hand with
//! `LAZAI_ALITH_PYTHON=.../bin/python cargo test -p lazai-cli --test it alith -- --ignored`.

use crate::dat::{devnet, free_port, key_hex};
use crate::process::{provider, wait_for_height};
use alloy_primitives::U256;
use lazai_abi::{DATA_REGISTRY_ADDRESS, IDataRegistry as R};
use lazai_client::Client;
use lazai_node::dev_account;
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/alith/contribution_with_reward.py"
);
const PLAINTEXT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../worker/tests/fixtures/sdk/plain.md"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the alith Python SDK: set LAZAI_ALITH_PYTHON (bash .ci/run does)"]
async fn the_unmodified_alith_sdk_contributes_and_earns_a_dat() {
    let python = std::env::var("LAZAI_ALITH_PYTHON")
        .expect("LAZAI_ALITH_PYTHON names a Python with alith installed");
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc_port, p2p) = (free_port(), free_port());
    let _devnet = devnet(&dir.path().join("chain"), rpc_port, p2p, &[]);
    wait_for_height(&provider(rpc_port), 1).await;
    let rpc = format!("http://127.0.0.1:{rpc_port}");
    let reader = Client::read(&rpc).expect("client");
    for _ in 0..600 {
        let key = reader
            .call(DATA_REGISTRY_ADDRESS, R::publicKeyCall {})
            .await
            .expect("publicKey");
        if !key.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gnupg = dir.path().join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("gnupg home");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let contributor = dev_account(2).expect("account 2");
    let run = tokio::task::spawn_blocking({
        let (python, rpc, gnupg) = (python.clone(), rpc.clone(), gnupg.clone());
        let key = key_hex(&contributor);
        move || {
            Command::new(python)
                .args([SCRIPT, &rpc, PLAINTEXT])
                .env("PRIVATE_KEY", key)
                .env("GNUPGHOME", &gnupg)
                .output()
                .expect("run python")
        }
    });
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the SDK finished within 5 minutes")
        .expect("join");
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", &gnupg)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "alith failed:\n{stdout}\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a report line"))
            .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["proof"]["success"], true, "{report}");
    let score = report["proof"]["score"].as_u64().expect("score");
    assert_eq!(report["rewardAmount"].as_u64(), Some(score), "{report}");
    let file = U256::from(report["fileId"].as_u64().expect("file id"));
    let record = reader
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: file })
        .await
        .expect("getFile");
    assert_eq!(record.ownerAddress, contributor.address());
    assert_eq!(record.rewardAmount, U256::from(score));
    eprintln!("alith's contribution example on a devnet: {report}");
}
