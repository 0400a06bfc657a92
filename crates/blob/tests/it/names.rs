//! Object names: what is accepted, and that bad names never reach the store.

use lazai_blob::{BlobStore, Error, MAX_NAME_LEN, object_name, validate_name};
use lazai_crypto::Root;

const BAD: &[&str] = &[
    "",
    ".",
    "..",
    "../x",
    "a/../b",
    "x/y",
    "/abs",
    "a\\b",
    "..\\x",
    "a..b",
    ".hidden",
    "a\0b",
    "a\nb",
    "tab\t",
    "with space",
    "q?x",
    "h#x",
    "p%2e%2e",
    "é.lzenc",
];

#[test]
fn names() {
    for good in ["a", "x.lzenc", "A-b_c.d", "0", &"x".repeat(MAX_NAME_LEN)] {
        validate_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    for bad in BAD
        .iter()
        .map(|s| s.to_string())
        .chain([("x".repeat(MAX_NAME_LEN + 1))])
    {
        assert!(
            matches!(validate_name(&bad), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn blob_names() {
    let root = Root::from_bytes([0xab; 32]);
    let name = object_name(&root);
    assert_eq!(name, format!("{}.lzenc", "ab".repeat(32)));
    validate_name(&name).expect("valid");
}

#[tokio::test]
async fn bad_names_are_refused_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let store = BlobStore::open(dir.path().join("store").to_str().expect("utf-8")).expect("open");
    for bad in BAD {
        let refused = |r: Result<String, Error>| matches!(r, Err(Error::InvalidName { .. }));
        assert!(refused(store.url_for(bad)), "{bad:?}");
        assert!(refused(store.put_bytes(bad, "x".into()).await), "{bad:?}");
        assert!(refused(store.put_file(bad, &file).await), "{bad:?}");
        assert!(refused(store.put_reader(bad, &b"x"[..]).await), "{bad:?}");
    }
    // Nothing was written anywhere, in particular not next to the store.
    assert!(store.list().await.expect("list").is_empty());
    let mut entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    entries.sort();
    assert_eq!(entries, ["file", "store"]);
}
