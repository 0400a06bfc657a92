//! File-to-file helpers: the destination appears only on success.

use std::fs;

use lazai_crypto::{EncryptParams, Error, decrypt_file, encrypt_file};

use crate::data;

#[test]
fn round_trip_and_failures_leave_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("data.bin");
    let blob = dir.path().join("data.enc");
    let dst = dir.path().join("data.out");
    let plaintext = data(50_000, 1);
    fs::write(&src, &plaintext).expect("write");

    let params = EncryptParams::new(4096).expect("valid");
    let summary = encrypt_file(&src, &blob, &params).expect("encrypt");
    let opened =
        decrypt_file(&blob, &dst, &summary.data_key, Some(&summary.root)).expect("decrypt");
    assert_eq!(fs::read(&dst).expect("read"), plaintext);
    assert_eq!(opened.root, summary.root);
    fs::remove_file(&dst).expect("remove");

    // Tampered: no destination, no temporary file left behind.
    let mut bad = fs::read(&blob).expect("read");
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let bad_path = dir.path().join("bad.enc");
    fs::write(&bad_path, &bad).expect("write");
    let err = decrypt_file(&bad_path, &dst, &summary.data_key, None).expect_err("tampered");
    assert!(matches!(err, Error::ChunkTampered { .. }), "{err}");
    assert!(!dst.exists());

    // Wrong root: the plaintext authenticated but is not the file asked for.
    let other = lazai_crypto::Root::from_bytes([9; 32]);
    let err = decrypt_file(&blob, &dst, &summary.data_key, Some(&other)).expect_err("root");
    assert!(matches!(err, Error::RootMismatch { .. }));
    assert!(!dst.exists());

    // An existing destination is left as it was on failure.
    fs::write(&dst, b"keep me").expect("write");
    assert!(decrypt_file(&bad_path, &dst, &summary.data_key, None).is_err());
    assert_eq!(fs::read(&dst).expect("read"), b"keep me");

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["bad.enc", "data.bin", "data.enc", "data.out"]);
}

#[test]
fn file_helpers_agree_with_the_streams() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("in");
    let blob = dir.path().join("blob");
    let dst = dir.path().join("out");
    for (len, chunk_size) in [
        (0usize, 1024u32),
        (1, 1024),
        (1023, 1024),
        (1024, 1024),
        (1025, 1024),
        (3 << 20, 1024),
        ((1 << 20) + 5, 64 << 10),
    ] {
        let plaintext = data(len, len as u64);
        fs::write(&src, &plaintext).expect("write");
        let params = EncryptParams::new(chunk_size).expect("valid");
        let summary = encrypt_file(&src, &blob, &params).expect("encrypt_file");
        let bytes = fs::read(&blob).expect("read");
        assert_eq!(summary.ciphertext_size, bytes.len() as u64);
        assert_eq!(
            lazai_crypto::compute_root(&bytes[..]).expect("root").root,
            summary.root
        );
        // The streaming decryptor reads what the file helper wrote, and vice versa.
        let (result, out) = crate::open(&bytes, &summary.data_key, Some(&summary.root));
        assert_eq!(result.expect("stream decrypt"), summary, "len {len}");
        assert_eq!(out, plaintext);
        let opened = decrypt_file(&blob, &dst, &summary.data_key, Some(&summary.root))
            .expect("decrypt_file");
        assert_eq!(opened, summary);
        assert_eq!(fs::read(&dst).expect("read"), plaintext, "len {len}");
        assert_eq!(
            summary.plaintext_commitment,
            lazai_crypto::commit_plaintext_bytes(&summary.data_key, &plaintext)
        );
    }
}

#[test]
fn file_errors_match_stream_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad");
    let dst = dir.path().join("out");
    let chunk = 1024usize;
    let plaintext = data(4 * chunk + 10, 3);
    let (blob, summary) = crate::seal(&plaintext, chunk as u32);
    let at = |i| crate::chunk_offset(i, chunk as u32);
    let record = |i: usize| blob[at(i)..if i == 4 { blob.len() } else { at(i + 1) }].to_vec();

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header only", blob[..at(0)].to_vec()),
        ("cut at boundary", blob[..at(2)].to_vec()),
        ("cut mid-chunk", blob[..at(2) + 100].to_vec()),
        ("cut in last tag", blob[..blob.len() - 1].to_vec()),
        ("trailing byte", [blob.clone(), vec![0]].concat()),
        ("trailing chunk", [blob.clone(), record(4)].concat()),
    ];
    let mut flipped = blob.clone();
    flipped[at(3) + 50] ^= 1;
    cases.push(("tampered", flipped));
    let mut magic = blob.clone();
    magic[0] ^= 1;
    cases.push(("bad magic", magic));
    let swapped = [
        blob[..at(0)].to_vec(),
        record(0),
        record(2),
        record(1),
        record(3),
        record(4),
    ]
    .concat();
    cases.push(("swapped", swapped));
    let duplicated = [blob[..at(3)].to_vec(), record(2), record(3), record(4)].concat();
    cases.push(("duplicated", duplicated));

    for (name, bytes) in cases {
        fs::write(&path, &bytes).expect("write");
        let stream = crate::open(&bytes, &summary.data_key, Some(&summary.root))
            .0
            .expect_err(name);
        let file =
            decrypt_file(&path, &dst, &summary.data_key, Some(&summary.root)).expect_err(name);
        assert_eq!(file.to_string(), stream.to_string(), "{name}");
        assert!(!dst.exists(), "{name}");
    }

    fs::write(&path, &blob).expect("write");
    let wrong = lazai_crypto::DataKey::generate();
    assert!(matches!(
        decrypt_file(&path, &dst, &wrong, None),
        Err(Error::WrongKey)
    ));
    assert!(!dst.exists());
}

#[test]
fn encrypting_into_an_open_file_writes_a_whole_blob_and_nothing_beside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("data.bin");
    let plaintext = data(70_000, 3);
    fs::write(&src, &plaintext).expect("write");
    let params = EncryptParams::new(4096).expect("valid");

    let blob = dir.path().join("staged.enc");
    let mut out = fs::File::create(&blob).expect("create");
    let summary = lazai_crypto::encrypt_file_into(&src, &mut out, &params).expect("encrypt");
    drop(out);
    assert_eq!(
        fs::metadata(&blob).expect("blob").len(),
        summary.ciphertext_size
    );
    // The staging file itself is the blob: no temporary file was made and renamed over it.
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let dst = dir.path().join("data.out");
    let opened =
        decrypt_file(&blob, &dst, &summary.data_key, Some(&summary.root)).expect("decrypt");
    assert_eq!(opened.root, summary.root);
    assert_eq!(fs::read(&dst).expect("read"), plaintext);

    // A missing source is an error before anything is written.
    let mut out = fs::File::create(dir.path().join("other.enc")).expect("create");
    let err = lazai_crypto::encrypt_file_into(&dir.path().join("nope"), &mut out, &params)
        .expect_err("missing source");
    assert!(matches!(err, Error::Io(_)), "{err}");
}
