//! Store locations and their canonical base URLs.

use std::{fs, path::PathBuf};

use lazai_blob::{BlobStore, Error};

fn utf8(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8")
}

#[test]
fn absolute_path_is_created_and_canonicalised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let canonical = fs::canonicalize(dir.path()).expect("canonical");
    let nested = dir.path().join("a/b/../c");
    let store = BlobStore::open(utf8(&nested)).expect("open");
    assert!(canonical.join("a/c").is_dir(), "created");
    assert_eq!(
        store.base_url(),
        format!("file://{}", utf8(&canonical.join("a/c")))
    );

    // The file URL and the path open the same store; so does the base URL itself.
    let again = BlobStore::open(&format!("file://{}", utf8(&canonical.join("a/c")))).expect("open");
    assert_eq!(again.base_url(), store.base_url());
    let again = BlobStore::open(store.base_url()).expect("open");
    assert_eq!(again.base_url(), store.base_url());
    let trailing = BlobStore::open(&format!("{}/", utf8(&nested))).expect("open");
    assert_eq!(trailing.base_url(), store.base_url());
}

#[test]
fn relative_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = fs::canonicalize(dir.path()).expect("canonical").join("rel");
    // A relative path from the current directory to `target`, through the root.
    let cwd = std::env::current_dir().expect("cwd");
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(target.strip_prefix("/").expect("absolute"));
    assert!(relative.is_relative());

    let store = BlobStore::open(utf8(&relative)).expect("open");
    assert!(target.is_dir());
    assert_eq!(store.base_url(), format!("file://{}", utf8(&target)));
}

#[test]
fn special_characters_are_percent_encoded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = fs::canonicalize(dir.path())
        .expect("canonical")
        .join("my blobs#1");
    let store = BlobStore::open(utf8(&path)).expect("open");
    assert!(path.is_dir());
    assert!(
        store.base_url().ends_with("/my%20blobs%231"),
        "{}",
        store.base_url()
    );
    let again = BlobStore::open(store.base_url()).expect("open");
    assert_eq!(again.base_url(), store.base_url());
}

#[test]
fn memory() {
    let store = BlobStore::open("memory://").expect("open");
    assert_eq!(store.base_url(), "memory://");
    assert_eq!(store.url_for("x").expect("url"), "memory:///x");
    assert!(matches!(
        BlobStore::open("memory://something"),
        Err(Error::InvalidLocation { .. })
    ));
}

#[test]
fn bad_locations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("file");
    fs::write(&file, "x").expect("write");
    for location in [
        String::new(),
        utf8(&file).to_owned(),
        format!("file://{}", utf8(&file)),
        "file://host/dir".to_owned(),
        "file://relative/dir".to_owned(),
        "file://%zz".to_owned(),
        "s3://".to_owned(),
        "s3://bucket/a//b".to_owned(),
        "s3://bucket/../b".to_owned(),
    ] {
        let err = BlobStore::open(&location).expect_err(&location);
        assert!(
            matches!(err, Error::InvalidLocation { .. }),
            "{location}: {err:?}"
        );
    }
}

#[test]
fn unknown_schemes() {
    for location in ["gs://bucket", "http://example.com/x", "ftp://x", "az://c"] {
        match BlobStore::open(location) {
            Err(Error::UnsupportedScheme { scheme, .. }) => {
                assert_eq!(scheme, location.split("://").next().expect("scheme"));
            }
            other => panic!("{location}: {other:?}"),
        }
    }
    let message = BlobStore::open("gs://bucket")
        .expect_err("unsupported")
        .to_string();
    assert!(message.contains("s3://bucket/prefix"), "{message}");
}

#[cfg(not(feature = "s3"))]
#[test]
fn s3_needs_the_feature() {
    let err = BlobStore::open("s3://bucket/prefix").expect_err("no s3");
    assert!(matches!(err, Error::S3NotEnabled { .. }), "{err:?}");
    assert!(err.to_string().contains("--features s3"), "{err}");
}

#[cfg(feature = "s3")]
#[test]
fn s3_base_urls() {
    // Building the client does no I/O; credentials are resolved on first use.
    let store = BlobStore::open("s3://bucket/a/b/").expect("open");
    assert_eq!(store.base_url(), "s3://bucket/a/b");
    assert_eq!(store.url_for("x").expect("url"), "s3://bucket/a/b/x");
    let store = BlobStore::open("s3://bucket").expect("open");
    assert_eq!(store.base_url(), "s3://bucket");
}
