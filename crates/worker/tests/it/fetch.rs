//! Reading a contribution's blob in the worker: a blob missing for a while is retried until it
//! appears; one still missing when the retries run out is rejected as unavailable (the reason
//! its owner may resubmit the file for); a blob that does not match its root is rejected at
//! once, however long retries could last.

use crate::WINE;
use lazai_blob::{BlobStore, Fetcher, object_name};
use lazai_crypto::{EncryptParams, SecretKey, generate_keypair};
use lazai_worker::verify::{FileInput, fetch_retrying};
use lazai_worker::{Reason, contribute};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

struct Contributed {
    _dir: tempfile::TempDir,
    work: PathBuf,
    fetcher: Fetcher,
    secret: SecretKey,
    input: FileInput,
    /// Where the blob is in the (local) store.
    blob: PathBuf,
    /// Where a test hides it.
    aside: PathBuf,
}

async fn contributed() -> Contributed {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        BlobStore::open(&dir.path().join("blobs").display().to_string()).expect("open store");
    let (secret, public) = generate_keypair();
    let src = dir.path().join("wine.csv");
    let text: String = WINE.lines().take(50).map(|l| format!("{l}\n")).collect();
    std::fs::write(&src, text).expect("write");
    let c = contribute(&src, &store, &public, dir.path(), EncryptParams::default())
        .await
        .expect("contribute");
    let blob = store
        .staging_dir()
        .expect("a local store")
        .join(object_name(&c.hash.root));
    assert!(blob.is_file());
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    Contributed {
        aside: dir.path().join("aside"),
        work,
        fetcher: Fetcher::new(vec![store]),
        secret,
        input: FileInput {
            url: c.url,
            hash: c.hash.to_string(),
            sealed_key: c.sealed_key.to_hex(),
        },
        blob,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_blob_that_appears_late_is_fetched() {
    let c = contributed().await;
    std::fs::rename(&c.blob, &c.aside).expect("hide the blob");
    let (from, to) = (c.aside.clone(), c.blob.clone());
    let back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::rename(from, to).expect("restore the blob");
    });
    let give_up = Instant::now() + Duration::from_secs(60);
    let (path, _, hash) =
        fetch_retrying(&c.fetcher, &c.secret, &c.input, &c.work, 1 << 30, give_up)
            .await
            .map_err(|v| v.detail)
            .expect("fetched once the blob is back");
    back.await.expect("restored");
    assert!(path.is_file());
    assert_eq!(hash.to_string(), c.input.hash);
}

#[tokio::test]
async fn a_blob_missing_past_the_retries_is_unavailable() {
    let c = contributed().await;
    std::fs::rename(&c.blob, &c.aside).expect("hide the blob");
    let give_up = Instant::now() + Duration::from_secs(1);
    let verdict = fetch_retrying(&c.fetcher, &c.secret, &c.input, &c.work, 1 << 30, give_up)
        .await
        .expect_err("never there");
    assert_eq!(verdict.reason, Reason::Unavailable, "{}", verdict.detail);
    assert_eq!(verdict.score, 0);
    assert!(verdict.detail.contains("not found"), "{}", verdict.detail);
    assert!(
        std::fs::read_dir(&c.work).expect("work").next().is_none(),
        "nothing left in the work dir"
    );
}

#[tokio::test]
async fn a_blob_that_does_not_match_its_root_is_not_retried() {
    let c = contributed().await;
    let mut bytes = std::fs::read(&c.blob).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&c.blob, bytes).expect("tamper");
    // Retrying would outlast any test runner's patience: the verdict must come at once.
    let give_up = Instant::now() + Duration::from_secs(24 * 3600);
    let verdict = fetch_retrying(&c.fetcher, &c.secret, &c.input, &c.work, 1 << 30, give_up)
        .await
        .expect_err("tampered");
    assert_eq!(verdict.reason, Reason::Integrity, "{}", verdict.detail);
}
