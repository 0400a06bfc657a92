//! Any modified byte, anywhere in the blob, is caught, and no plaintext of the modified chunk
//! or after it is written.

use lazai_crypto::{Error, HEADER_LEN};
use proptest::prelude::*;

use crate::{chunk_offset, data, open, seal};

const CHUNK: u32 = 1024;

/// Asserts decryption of `blob` fails and wrote only whole chunks before the one holding `pos`.
fn assert_caught(blob: &[u8], pos: usize, plaintext: &[u8], key: &lazai_crypto::DataKey) {
    let (result, out) = open(blob, key, None);
    assert!(result.is_err(), "byte {pos}: modification not detected");
    let chunk = CHUNK as usize;
    let first_bad = if pos < HEADER_LEN {
        0
    } else {
        (pos - HEADER_LEN) / (chunk + 21)
    };
    assert!(
        out.len() <= first_bad * chunk,
        "byte {pos}: wrote {} bytes",
        out.len()
    );
    assert_eq!(out.len() % chunk, 0, "byte {pos}: partial chunk written");
    assert_eq!(
        out,
        plaintext[..out.len()],
        "byte {pos}: wrong plaintext written"
    );
}

#[test]
fn every_byte_position() {
    let plaintext = data(3 * CHUNK as usize + 500, 7);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let masks = data(blob.len(), 8);
    for pos in 0..blob.len() {
        let mut bad = blob.clone();
        bad[pos] ^= masks[pos].max(1);
        assert_caught(&bad, pos, &plaintext, &summary.data_key);
    }
}

#[test]
fn header_fields_have_specific_errors() {
    let plaintext = data(2500, 3);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let key = &summary.data_key;
    let flip = |pos: usize| {
        let mut bad = blob.clone();
        bad[pos] ^= 0x01;
        open(&bad, key, None).0
    };
    assert!(matches!(flip(0), Err(Error::BadMagic)));
    assert!(matches!(flip(8), Err(Error::UnsupportedVersion(0))));
    assert!(matches!(flip(9), Err(Error::UnsupportedAlgorithm(0))));
    assert!(matches!(flip(12), Err(Error::InvalidChunkSize(_))));
    assert!(matches!(flip(15), Err(Error::ChunkTampered { chunk: 0 })));
    assert!(matches!(flip(40), Err(Error::WrongKey)));
}

#[test]
fn chunk_bytes_name_the_chunk() {
    let plaintext = data(4 * CHUNK as usize, 4);
    let (blob, summary) = seal(&plaintext, CHUNK);
    for chunk in 0..4 {
        let start = chunk_offset(chunk, CHUNK);
        // ciphertext byte, first and last tag byte
        for pos in [
            start + 5,
            start + 5 + 600,
            start + 5 + CHUNK as usize,
            start + 20 + CHUNK as usize,
        ] {
            let mut bad = blob.clone();
            bad[pos] ^= 0x80;
            let (result, out) = open(&bad, &summary.data_key, None);
            match result {
                Err(Error::ChunkTampered { chunk: c }) => assert_eq!(c, chunk as u64),
                other => panic!("byte {pos}: {other:?}"),
            }
            assert_eq!(out, plaintext[..chunk * CHUNK as usize]);
        }
    }
}

#[test]
fn framing_bytes_are_refused() {
    let plaintext = data(3 * CHUNK as usize, 5);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let start = chunk_offset(1, CHUNK);
    let mut bad = blob.clone();
    bad[start] = 7;
    assert!(matches!(
        open(&bad, &summary.data_key, None).0,
        Err(Error::MalformedChunk { chunk: 1, .. })
    ));
    let mut bad = blob.clone();
    bad[start + 3] ^= 0x01;
    assert!(matches!(
        open(&bad, &summary.data_key, None).0,
        Err(Error::MalformedChunk { chunk: 1, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_position_random_blob(
        len in 0usize..6000,
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let plaintext = data(len, seed);
        let (mut blob, summary) = seal(&plaintext, CHUNK);
        let pos = pick.index(blob.len());
        blob[pos] ^= mask;
        assert_caught(&blob, pos, &plaintext, &summary.data_key);
    }
}
