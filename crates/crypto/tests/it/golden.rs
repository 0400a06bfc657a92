//! Golden vectors pinning the wire formats (`tests/vectors/v1.txt`): a blob, its root, its
//! plaintext commitment and a sealed data key must keep decoding to the same values. The
//! encoder side is pinned by a unit test in `src/encrypt.rs` against the same file.

use lazai_crypto::{
    DataKey, Root, SealedKey, SecretKey, compute_root, format::Header, open_data_key,
};

use crate::open;

const VECTOR: &str = include_str!("../vectors/v1.txt");

fn field(name: &str) -> &'static str {
    VECTOR
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("vector has no {name}"))
}

fn plaintext() -> Vec<u8> {
    (0..2100u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn blob_decrypts_to_the_vector() {
    let blob = hex::decode(field("blob")).expect("hex");
    let key = DataKey::from_hex(field("key")).expect("key");
    let root: Root = field("root").parse().expect("root");
    let (result, out) = open(&blob, &key, Some(&root));
    let summary = result.expect("decrypt");
    assert_eq!(out, plaintext());
    assert_eq!(summary.plaintext_commitment.to_hex(), field("commitment"));
    assert_eq!(summary.chunk_count, 3);
    assert_eq!(compute_root(&blob[..]).expect("root").root, root);
}

#[test]
fn header_layout() {
    let blob = hex::decode(field("blob")).expect("hex");
    assert_eq!(&blob[..8], b"LAZAIENC");
    assert_eq!(blob[8..14], [1, 1, 0, 0, 4, 0]);
    assert_eq!(blob[14..21], [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]);
    let header = Header::decode(&blob).expect("header");
    assert_eq!(header.chunk_size, 1024);
    // Chunk 0: not final, 1024 bytes; chunk 2: final, 52 bytes.
    assert_eq!(blob[53..58], [0, 0, 0, 4, 0]);
    let last = 53 + 2 * (1024 + 21);
    assert_eq!(blob[last..last + 5], [1, 0, 0, 0, 52]);
    assert_eq!(blob.len(), last + 5 + 52 + 16);
}

#[test]
fn sealed_key_opens_to_the_vector_key() {
    let sk = SecretKey::from_hex(field("recipient_sk")).expect("sk");
    assert_eq!(sk.public_key().to_hex(), field("recipient_pk"));
    let sealed: SealedKey = field("sealed").parse().expect("sealed");
    let root: Root = field("root").parse().expect("root");
    let key = open_data_key(&sk, &sealed, &root).expect("open");
    assert_eq!(key.to_hex(), field("key"));
}
