//! `lazai data` against a fresh `lazai devnet` process, as a new user runs it: the default
//! iDAO verifies a contribution within seconds and mints its DAT; the same file again and a
//! prose file are rejected with their reasons and earn nothing; `data status --json` shows
//! the score, the proof and the DAT; the owner decrypts the file back; a wrong key, a
//! tampered blob and an unknown file each fail with a clear error; a contribution that cannot
//! be registered (an unfunded key, an unknown iDAO) fails before anything is uploaded and
//! leaves no blob and no key file.

use crate::dat::{Cli, devnet, free_port, key_hex, s};
use crate::process::{provider, wait_for_height};
use lazai_node::dev_account;

const WINE: &str = include_str!("../../../worker/testdata/winequality-red.csv");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contribute_to_the_default_idao_of_a_fresh_devnet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc_port, p2p) = (free_port(), free_port());
    let _devnet = devnet(&dir.path().join("chain"), rpc_port, p2p, &[]);
    wait_for_height(&provider(rpc_port), 1).await;
    let data = Cli {
        rpc: format!("http://127.0.0.1:{rpc_port}"),
        group: "data",
    };
    let user = dev_account(1).expect("account 1");
    let key = key_hex(&user);

    let file = dir.path().join("wine.csv");
    let text: String = WINE.lines().take(301).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &text).expect("write");
    let path = file.display().to_string();
    let out = data
        .run(&["contribute", &path, "--idao", "1", "--key", &key, "--json"])
        .json();
    assert_eq!(s(&out["state"]), "verified", "{out}");
    let id = s(&out["fileId"]).to_string();
    let key_file = s(&out["keyFile"]).to_string();
    assert!(std::path::Path::new(&key_file).exists());

    let status = data.run(&["status", &id, "--json"]).json();
    assert_eq!(s(&status["state"]), "verified", "{status}");
    let score = status["score"].as_u64().expect("score");
    assert!((1..=10_000).contains(&score), "{status}");
    let flow = &status["proof"]["flow"];
    assert!(s(&flow["resultsRoot"]).starts_with("0x"), "{status}");
    assert_eq!(flow["quorum"][0]["agrees"], true, "{status}");
    let dat = &status["dat"];
    assert_eq!(s(&dat["owner"]), user.address().to_string(), "{status}");
    assert_eq!(s(&dat["shareRatio"]), score.to_string(), "{status}");
    assert_ne!(s(&dat["tokenId"]), "0");

    // The same file again earns nothing: all its rows are the iDAO's already.
    let again = data
        .run(&["contribute", &path, "--idao", "1", "--key", &key, "--json"])
        .json();
    assert_eq!(s(&again["state"]), "rejected", "{again}");
    assert_eq!(again["reason"], 9, "{again}");
    assert_eq!(
        s(&again["reasonText"]),
        "every row of the file was already contributed"
    );
    assert_eq!(again["score"], 0, "{again}");
    assert!(again["tokenId"].is_null(), "no DAT for a copy: {again}");

    // Prose is neither CSV nor JSON lines.
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, include_str!("../../../../README.md")).expect("write");
    let prose = data
        .run(&[
            "contribute",
            &readme.display().to_string(),
            "--idao",
            "1",
            "--key",
            &key,
            "--json",
        ])
        .json();
    assert_eq!(s(&prose["state"]), "rejected", "{prose}");
    assert_eq!(prose["reason"], 10, "{prose}");
    assert!(prose["tokenId"].is_null(), "no DAT for prose: {prose}");

    // The blob store under the devnet's data dir holds ciphertext only.
    let url = s(&out["url"]).to_string();
    let blob = url.strip_prefix("file://").expect("a file:// url");
    let bytes = std::fs::read(blob).expect("the blob");
    let row = WINE.lines().nth(1).expect("row");
    assert!(!bytes.windows(row.len()).any(|w| w == row.as_bytes()));

    // The owner decrypts it back with the key file.
    let plain = dir.path().join("wine.out.csv");
    data.run(&[
        "decrypt",
        &id,
        "--key-file",
        &key_file,
        "--out",
        &plain.display().to_string(),
    ])
    .ok();
    assert_eq!(std::fs::read_to_string(&plain).expect("decrypted"), text);

    // A wrong data key fails and leaves nothing behind.
    let wrong = dir.path().join("wrong.out");
    let err = data
        .run(&[
            "decrypt",
            &id,
            "--data-key",
            &format!("0x{}", "11".repeat(32)),
            "--out",
            &wrong.display().to_string(),
        ])
        .failed();
    assert!(err.contains("error:"), "{err}");
    assert!(!wrong.exists(), "nothing written on failure");

    // A tampered blob no longer matches its on-chain root.
    let mut tampered = bytes.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    std::fs::write(blob, &tampered).expect("tamper");
    let err = data
        .run(&[
            "decrypt",
            &id,
            "--key-file",
            &key_file,
            "--out",
            &wrong.display().to_string(),
        ])
        .failed();
    assert!(err.contains("error:"), "{err}");
    assert!(!wrong.exists(), "nothing written on failure");

    let err = data.run(&["status", "999", "--json"]).failed();
    assert!(err.contains("no file 999"), "{err}");
}

/// What is in the default iDAO's blob store (staging files included).
fn store_entries(data_dir: &std::path::Path) -> Vec<String> {
    match std::fs::read_dir(lazai_cli::devnet::default_idao::blob_dir(data_dir)) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contribution_that_cannot_be_registered_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dir.path().join("chain");
    let (rpc_port, p2p) = (free_port(), free_port());
    let _devnet = devnet(&chain, rpc_port, p2p, &[]);
    wait_for_height(&provider(rpc_port), 1).await;
    let data = Cli {
        rpc: format!("http://127.0.0.1:{rpc_port}"),
        group: "data",
    };
    let file = dir.path().join("wine.csv");
    let text: String = WINE.lines().take(51).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &text).expect("write");
    let path = file.display().to_string();
    let key_file = dir.path().join("wine.csv.lazai-key");
    let before = store_entries(&chain);

    // A key that holds nothing cannot pay for the registration: refused before any upload.
    let unfunded = alloy_signer_local::PrivateKeySigner::from_bytes(
        &alloy_primitives::B256::repeat_byte(0x42),
    )
    .expect("key");
    let err = data
        .run(&[
            "contribute",
            &path,
            "--idao",
            "1",
            "--key",
            &key_hex(&unfunded),
        ])
        .failed();
    assert!(err.contains("fund the account first"), "{err}");
    assert!(err.contains("nothing was encrypted or uploaded"), "{err}");
    assert_eq!(store_entries(&chain), before, "nothing in the store");
    assert!(!key_file.exists(), "no key file");

    // An iDAO that does not exist takes nothing either.
    let funded = key_hex(&dev_account(1).expect("account 1"));
    let err = data
        .run(&["contribute", &path, "--idao", "7", "--key", &funded])
        .failed();
    assert!(err.contains("iDAO 7 takes no contributions"), "{err}");
    assert_eq!(store_entries(&chain), before, "nothing in the store");
    assert!(!key_file.exists(), "no key file");

    // A funded key contributes: one blob, one key file.
    let out = data
        .run(&[
            "contribute",
            &path,
            "--idao",
            "1",
            "--key",
            &funded,
            "--no-wait",
            "--json",
        ])
        .json();
    assert_eq!(
        out["addFileTx"], out["shareTx"],
        "registered and shared at once"
    );
    assert!(key_file.exists());
    let after = store_entries(&chain);
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(
        after.iter().all(|n| !n.starts_with('.')),
        "no staging file left: {after:?}"
    );
}
