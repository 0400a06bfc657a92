//! Verified fetches: round trips, and every way a fetch must fail with nothing left at `dest`.

use std::{fs, path::Path};

use lazai_blob::{BlobStore, Error, Fetcher, object_name};
use lazai_crypto::Root;

use crate::{seal, small_blob};

const MAX: u64 = 1 << 30;

/// Files in `dir` other than `keep` (to spot temporary files left behind).
fn stray_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn round_trip_local() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open");
    let (blob, summary) = small_blob(1);
    let name = object_name(&summary.root);

    let url = store
        .put_bytes(&name, blob.clone().into())
        .await
        .expect("put");
    assert_eq!(url, format!("{}/{name}", store.base_url()));
    assert!(url.starts_with("file:///"));
    // The object is a plain file named `name` in the directory.
    assert_eq!(fs::read(dir.path().join(&name)).expect("read"), blob);

    let dest = out.path().join("blob");
    let info = store
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect("fetch");
    assert_eq!(info.root, summary.root);
    assert_eq!(info.ciphertext_size, blob.len() as u64);
    assert_eq!(info.chunk_count, summary.chunk_count);
    assert_eq!(fs::read(&dest).expect("read"), blob);
    assert_eq!(stray_files(out.path()), vec!["blob".to_owned()]);

    assert!(store.exists(&url).await.expect("exists"));
    assert_eq!(store.list().await.expect("list"), vec![url.clone()]);
    assert_eq!(store.get_raw(&url).await.expect("raw"), blob);

    store.delete(&url).await.expect("delete");
    assert!(!store.exists(&url).await.expect("exists"));
    store
        .delete(&url)
        .await
        .expect("deleting a missing object is fine");
    assert!(store.list().await.expect("list").is_empty());

    let err = store
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect_err("deleted");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(!dest.exists(), "a failed fetch removes dest");
}

#[tokio::test]
async fn round_trip_memory() {
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open("memory://").expect("open");
    assert_eq!(store.base_url(), "memory://");
    let (blob, summary) = small_blob(2);
    let name = object_name(&summary.root);
    let url = store
        .put_bytes(&name, blob.clone().into())
        .await
        .expect("put");
    assert_eq!(url, format!("memory:///{name}"));

    let dest = out.path().join("blob");
    let info = store
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect("fetch");
    assert_eq!(info.root, summary.root);
    assert_eq!(fs::read(&dest).expect("read"), blob);

    // Through a fetcher too; a second fetch replaces the first.
    let fetcher = Fetcher::new(vec![store.clone()]);
    fetcher
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect("fetch");
    assert_eq!(fs::read(&dest).expect("read"), blob);
    assert_eq!(store.list().await.expect("list"), vec![url]);
}

#[tokio::test]
async fn tampered_object_is_refused_and_dest_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open");
    let (blob, summary) = small_blob(3);
    let name = object_name(&summary.root);
    let url = store.put_bytes(&name, blob.into()).await.expect("put");

    // Flip one byte of the stored file, in the middle of a chunk.
    let stored = dir.path().join(&name);
    let mut bytes = fs::read(&stored).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&stored, &bytes).expect("write");

    let dest = out.path().join("blob");
    // A stale file at dest goes too: after an error, nothing is at dest.
    fs::write(&dest, b"stale").expect("write");
    let err = store
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect_err("tampered");
    match err {
        Error::Integrity(lazai_crypto::Error::RootMismatch { expected, .. }) => {
            assert_eq!(expected, summary.root);
        }
        other => panic!("{other:?}"),
    }
    assert!(!dest.exists());
    assert!(stray_files(out.path()).is_empty(), "no temporary file left");

    // Garbage in the header: still an integrity error (of another kind).
    bytes[0] ^= 1;
    fs::write(&stored, &bytes).expect("write");
    let err = store
        .fetch_verified(&url, &summary.root, MAX, &dest)
        .await
        .expect_err("bad magic");
    assert!(
        matches!(err, Error::Integrity(lazai_crypto::Error::BadMagic)),
        "{err:?}"
    );
    assert!(!dest.exists());
}

#[tokio::test]
async fn wrong_root_is_refused() {
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open("memory://").expect("open");
    let (blob, summary) = small_blob(4);
    let (_, other) = small_blob(5);
    let url = store
        .put_bytes(&object_name(&summary.root), blob.into())
        .await
        .expect("put");
    let dest = out.path().join("blob");
    for root in [other.root, Root::from_bytes([0; 32])] {
        let err = store
            .fetch_verified(&url, &root, MAX, &dest)
            .await
            .expect_err("wrong root");
        match err {
            Error::Integrity(lazai_crypto::Error::RootMismatch { expected, actual }) => {
                assert_eq!(expected, root);
                assert_eq!(actual, summary.root);
            }
            other => panic!("{other:?}"),
        }
        assert!(!dest.exists());
    }
}

#[tokio::test]
async fn truncated_and_extended_objects_are_refused() {
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open("memory://").expect("open");
    let (blob, summary) = small_blob(6);
    let dest = out.path().join("blob");

    let cases: [(&str, Vec<u8>); 4] = [
        ("inside-a-chunk", blob[..blob.len() - 10].to_vec()),
        ("header-only", blob[..lazai_crypto::HEADER_LEN].to_vec()),
        ("empty", Vec::new()),
        ("trailing", [&blob[..], b"x"].concat()),
    ];
    for (name, bytes) in cases {
        let url = store.put_bytes(name, bytes.into()).await.expect("put");
        let err = store
            .fetch_verified(&url, &summary.root, MAX, &dest)
            .await
            .expect_err(name);
        let expected = match name {
            "inside-a-chunk" => matches!(
                err,
                Error::Integrity(lazai_crypto::Error::TruncatedChunk { .. })
            ),
            "header-only" => matches!(err, Error::Integrity(lazai_crypto::Error::Truncated { .. })),
            "empty" => matches!(
                err,
                Error::Integrity(lazai_crypto::Error::TruncatedHeader { .. })
            ),
            _ => matches!(
                err,
                Error::Integrity(lazai_crypto::Error::TrailingData { .. })
            ),
        };
        assert!(expected, "{name}: {err:?}");
        assert!(!dest.exists(), "{name}");
    }
    assert!(stray_files(out.path()).is_empty());
}

#[tokio::test]
async fn oversize_objects_are_refused() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = out.path().join("blob");
    for store in [
        BlobStore::open("memory://").expect("open"),
        BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open"),
    ] {
        let (blob, summary) = small_blob(7);
        let len = blob.len() as u64;
        let url = store
            .put_bytes(&object_name(&summary.root), blob.into())
            .await
            .expect("put");
        let err = store
            .fetch_verified(&url, &summary.root, len - 1, &dest)
            .await
            .expect_err("too large");
        match err {
            Error::TooLarge { size, max, .. } => {
                assert_eq!(size, len);
                assert_eq!(max, len - 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(!dest.exists());
        assert!(stray_files(out.path()).is_empty());
        // Exactly at the limit is fine.
        store
            .fetch_verified(&url, &summary.root, len, &dest)
            .await
            .expect("at the limit");
        fs::remove_file(&dest).expect("remove");
    }
}

#[tokio::test]
async fn foreign_urls_are_refused() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let ours = BlobStore::open(root.path().join("blobs").to_str().expect("utf-8")).expect("open");
    // Same prefix, another directory: `.../blobs2` is not under `.../blobs`.
    let theirs =
        BlobStore::open(root.path().join("blobs2").to_str().expect("utf-8")).expect("open");
    let (blob, summary) = small_blob(8);
    let name = object_name(&summary.root);
    let their_url = theirs
        .put_bytes(&name, blob.clone().into())
        .await
        .expect("put");
    assert!(their_url.starts_with(ours.base_url()));
    let dest = out.path().join("blob");

    let fetcher = Fetcher::new(vec![
        ours.clone(),
        BlobStore::open("memory://").expect("open"),
    ]);
    let secret = root.path().join("secret");
    fs::write(&secret, &blob).expect("write");
    let secret_url = format!("file://{}", secret.display());
    let traversal = format!("{}/../blobs2/{name}", ours.base_url());
    for url in [
        their_url.as_str(),
        secret_url.as_str(),
        "file:///etc/passwd",
        "s3://bucket/x.lzenc",
        "https://example.com/x.lzenc",
        ours.base_url(),
        "",
    ] {
        fs::write(&dest, b"stale").expect("write");
        let err = fetcher
            .fetch_verified(url, &summary.root, MAX, &dest)
            .await
            .expect_err(url);
        assert!(matches!(err, Error::ForeignUrl { .. }), "{url}: {err:?}");
        assert!(!dest.exists(), "{url}");
        let err = ours
            .fetch_verified(url, &summary.root, MAX, &dest)
            .await
            .expect_err(url);
        assert!(matches!(err, Error::ForeignUrl { .. }), "{url}: {err:?}");
    }
    for store in [&ours, &theirs] {
        assert!(matches!(
            store.exists("file:///etc/passwd").await,
            Err(Error::ForeignUrl { .. })
        ));
        assert!(matches!(
            store.get_raw("file:///etc/passwd").await,
            Err(Error::ForeignUrl { .. })
        ));
        assert!(matches!(
            store.delete("file:///etc/passwd").await,
            Err(Error::ForeignUrl { .. })
        ));
    }

    // Under our base URL, but not a flat name: refused as a name.
    for url in [
        traversal,
        format!("{}/..", ours.base_url()),
        format!("{}/a/b", ours.base_url()),
        format!("{}/", ours.base_url()),
    ] {
        let err = fetcher
            .fetch_verified(&url, &summary.root, MAX, &dest)
            .await
            .expect_err(&url);
        assert!(matches!(err, Error::InvalidName { .. }), "{url}: {err:?}");
    }
    assert!(secret.exists(), "nothing touched the named file");

    // Trusting both stores, their URL resolves to theirs.
    let fetcher = Fetcher::new(vec![ours.clone(), theirs.clone()]);
    assert_eq!(
        fetcher.store_for(&their_url).map(BlobStore::base_url),
        Some(theirs.base_url())
    );
    fetcher
        .fetch_verified(&their_url, &summary.root, MAX, &dest)
        .await
        .expect("trusted");
    assert_eq!(fs::read(&dest).expect("read"), blob);
}

#[tokio::test]
async fn fetcher_prefers_the_longest_base_url() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let outer = BlobStore::open(root.path().to_str().expect("utf-8")).expect("open");
    let inner = BlobStore::open(root.path().join("inner").to_str().expect("utf-8")).expect("open");
    let (blob, summary) = seal(&crate::data(3000, 9), 1024);
    let url = inner
        .put_bytes(&object_name(&summary.root), blob.into())
        .await
        .expect("put");
    let fetcher = Fetcher::new(vec![outer.clone(), inner.clone()]);
    assert_eq!(
        fetcher.store_for(&url).map(BlobStore::base_url),
        Some(inner.base_url())
    );
    fetcher
        .fetch_verified(&url, &summary.root, MAX, &out.path().join("blob"))
        .await
        .expect("fetch");
    // The outer store alone sees `inner/<name>`, which is not a flat name.
    assert!(matches!(
        outer.exists(&url).await,
        Err(Error::InvalidName { .. })
    ));
    // Nor does it list the nested object.
    assert!(outer.list().await.expect("list").is_empty());
}

#[tokio::test]
async fn missing_object_and_missing_dest_dir() {
    let out = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open("memory://").expect("open");
    let (blob, summary) = small_blob(10);
    let url = store.url_for(&object_name(&summary.root)).expect("url");
    assert!(!store.exists(&url).await.expect("exists"));
    let err = store
        .fetch_verified(&url, &summary.root, MAX, &out.path().join("blob"))
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(matches!(
        store.get_raw(&url).await,
        Err(Error::NotFound { .. })
    ));

    store
        .put_bytes(&object_name(&summary.root), blob.into())
        .await
        .expect("put");
    let err = store
        .fetch_verified(
            &url,
            &summary.root,
            MAX,
            &out.path().join("no/such/dir/blob"),
        )
        .await
        .expect_err("no dest dir");
    assert!(matches!(err, Error::Io(_)), "{err:?}");
}
