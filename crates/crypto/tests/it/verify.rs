//! Key-less checks of a blob against its root, and wrong keys and roots at decryption.

use std::fs::File;
use std::io::Write;

use lazai_crypto::{DataKey, Error, Root, compute_root, read_header, verify_root};

use crate::{chunk_offset, data, open, seal};

#[test]
fn root_matches_encrypt_and_decrypt() {
    let plaintext = data(10_000, 1);
    let (blob, summary) = seal(&plaintext, 2048);
    let info = verify_root(&blob[..], &summary.root).expect("verify");
    assert_eq!(info.root, summary.root);
    assert_eq!(info.chunk_count, summary.chunk_count);
    assert_eq!(info.plaintext_size, 10_000);
    assert_eq!(info.ciphertext_size, blob.len() as u64);
    assert_eq!(info.chunk_size, 2048);
    assert_eq!(read_header(&blob[..]).expect("header").chunk_size, 2048);
}

#[test]
fn verify_a_file_stream() {
    let plaintext = data(70_000, 2);
    let (blob, summary) = seal(&plaintext, 1024);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&blob).expect("write");
    let info = verify_root(File::open(file.path()).expect("open"), &summary.root).expect("verify");
    assert_eq!(info.root, summary.root);
}

#[test]
fn modified_blob_does_not_verify() {
    let plaintext = data(5000, 3);
    let (blob, summary) = seal(&plaintext, 1024);
    let mut bad = blob.clone();
    bad[chunk_offset(2, 1024) + 100] ^= 1;
    match verify_root(&bad[..], &summary.root) {
        Err(Error::RootMismatch { expected, actual }) => {
            assert_eq!(expected, summary.root);
            assert_eq!(
                actual,
                compute_root(&bad[..]).expect("structure intact").root
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify_root(&blob[..blob.len() - 1], &summary.root),
        Err(Error::TruncatedChunk { .. })
    ));
    let mut long = blob.clone();
    long.push(0);
    assert!(matches!(
        verify_root(&long[..], &summary.root),
        Err(Error::TrailingData { .. })
    ));
}

#[test]
fn wrong_root_at_decryption() {
    let plaintext = data(3000, 4);
    let (blob, summary) = seal(&plaintext, 1024);
    let other = Root::from_bytes([7; 32]);
    match open(&blob, &summary.data_key, Some(&other)).0 {
        Err(Error::RootMismatch { expected, actual }) => {
            assert_eq!(expected, other);
            assert_eq!(actual, summary.root);
        }
        result => panic!("{result:?}"),
    }
    assert!(
        open(&blob, &summary.data_key, Some(&summary.root))
            .0
            .is_ok()
    );
}

#[test]
fn wrong_data_key_writes_nothing() {
    let plaintext = data(3000, 5);
    let (blob, _) = seal(&plaintext, 1024);
    let (result, out) = open(&blob, &DataKey::generate(), None);
    assert!(matches!(result, Err(Error::WrongKey)));
    assert!(out.is_empty());
}
