//! Uploads: multi-part files, part boundaries, listing.

use std::fs;

use lazai_blob::{BlobStore, Error, PART_SIZE, object_name};
use lazai_crypto::{EncryptParams, encrypt_file};

use crate::{data, small_blob};

#[tokio::test]
async fn multi_mib_file_via_put_file() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = work.path().join("data.bin");
    let sealed = work.path().join("data.enc");
    fs::write(&plain, data(20 << 20, 1)).expect("write");
    let summary = encrypt_file(&plain, &sealed, &EncryptParams::default()).expect("encrypt");
    assert!(
        summary.ciphertext_size > 2 * PART_SIZE as u64,
        "several parts"
    );
    let name = object_name(&summary.root);

    for store in [
        BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open"),
        BlobStore::open("memory://").expect("open"),
    ] {
        let url = store.put_file(&name, &sealed).await.expect("put");
        assert_eq!(store.list().await.expect("list"), vec![url.clone()]);
        let dest = work.path().join("fetched.enc");
        let info = store
            .fetch_verified(&url, &summary.root, summary.ciphertext_size, &dest)
            .await
            .expect("fetch");
        assert_eq!(info.root, summary.root);
        assert_eq!(info.ciphertext_size, summary.ciphertext_size);
        assert_eq!(info.plaintext_size, 20 << 20);
        assert_eq!(
            fs::read(&dest).expect("read"),
            fs::read(&sealed).expect("read")
        );
        fs::remove_file(&dest).expect("remove");
    }
    // The local upload left only the object (no staging files).
    assert_eq!(
        fs::read_dir(dir.path()).expect("read dir").count(),
        1,
        "only the object"
    );
}

#[tokio::test]
async fn part_boundaries() {
    let store = BlobStore::open("memory://").expect("open");
    for len in [0, 1, PART_SIZE - 1, PART_SIZE, PART_SIZE + 1, 2 * PART_SIZE] {
        let bytes = data(len, len as u64);
        let name = format!("len-{len}");
        let url = store.put_reader(&name, &bytes[..]).await.expect("put");
        assert_eq!(store.get_raw(&url).await.expect("raw"), bytes, "{len}");
    }
}

#[tokio::test]
async fn put_replaces_and_missing_file_is_io() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open");
    let url = store.put_bytes("x", "one".into()).await.expect("put");
    let again = store.put_bytes("x", "two".into()).await.expect("put");
    assert_eq!(url, again);
    assert_eq!(store.get_raw(&url).await.expect("raw"), "two");

    let err = store
        .put_file("y", &dir.path().join("missing"))
        .await
        .expect_err("missing file");
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    assert!(
        !store
            .exists(&store.url_for("y").expect("url"))
            .await
            .expect("exists")
    );
}

#[tokio::test]
async fn list_skips_what_is_not_an_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open");
    let (blob, summary) = small_blob(1);
    let a = store
        .put_bytes(&object_name(&summary.root), blob.into())
        .await
        .expect("put");
    let b = store.put_bytes("b.txt", "b".into()).await.expect("put");
    fs::create_dir(dir.path().join("nested")).expect("mkdir");
    fs::write(dir.path().join("nested/c.lzenc"), "c").expect("write");
    fs::write(dir.path().join("with space"), "d").expect("write");
    fs::write(dir.path().join(".hidden"), "e").expect("write");
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(store.list().await.expect("list"), expected);
}

/// `move_file` renames a file staged in a local store's directory, uploads anything else,
/// and in both cases leaves no source file and a verifiable object.
#[tokio::test]
async fn move_file_renames_in_a_local_store_and_uploads_elsewhere() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = work.path().join("data.bin");
    fs::write(&plain, data(3 << 20, 7)).expect("write");
    let local = BlobStore::open(dir.path().to_str().expect("utf-8")).expect("open");
    let memory = BlobStore::open("memory://").expect("open");
    assert!(memory.staging_dir().is_none());
    for store in [local, memory] {
        let staging = store.staging_dir().unwrap_or(work.path()).to_path_buf();
        let sealed = staging.join(".staged.enc");
        let summary = encrypt_file(&plain, &sealed, &EncryptParams::default()).expect("encrypt");
        let name = object_name(&summary.root);
        let url = store.move_file(&name, &sealed).await.expect("move");
        assert!(!sealed.exists(), "the source is gone");
        assert_eq!(store.list().await.expect("list"), vec![url.clone()]);
        let dest = work.path().join("fetched.enc");
        let info = store
            .fetch_verified(&url, &summary.root, summary.ciphertext_size, &dest)
            .await
            .expect("fetch");
        assert_eq!(info.plaintext_size, 3 << 20);
        fs::remove_file(&dest).expect("clean");
    }
}
