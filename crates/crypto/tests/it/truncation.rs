//! Cutting a blob short anywhere, or adding bytes after it, is caught with a specific error.

use lazai_crypto::{Error, HEADER_LEN};

use crate::{chunk_offset, data, open, seal};

const CHUNK: u32 = 1024;

#[test]
fn at_every_chunk_boundary() {
    for len in [3 * CHUNK as usize, 3 * CHUNK as usize + 100] {
        let plaintext = data(len, 1);
        let (blob, summary) = seal(&plaintext, CHUNK);
        let chunks = summary.chunk_count as usize;
        for kept in 0..chunks {
            let cut = &blob[..chunk_offset(kept, CHUNK)];
            let (result, out) = open(cut, &summary.data_key, None);
            match result {
                Err(Error::Truncated { chunks: c }) => assert_eq!(c, kept as u64),
                other => panic!("kept {kept}: {other:?}"),
            }
            assert_eq!(out, plaintext[..kept * CHUNK as usize]);
        }
    }
}

#[test]
fn at_every_byte() {
    let plaintext = data(2 * CHUNK as usize + 300, 2);
    let (blob, summary) = seal(&plaintext, CHUNK);
    for cut in 0..blob.len() {
        let (result, out) = open(&blob[..cut], &summary.data_key, None);
        let err = result.expect_err("truncation not detected");
        let boundary = (0..3).any(|k| chunk_offset(k, CHUNK) == cut);
        match err {
            Error::TruncatedHeader { got } => assert!(cut < HEADER_LEN && got == cut),
            Error::Truncated { .. } => assert!(boundary, "cut {cut}"),
            Error::TruncatedChunk { chunk } => {
                assert!(!boundary);
                assert_eq!(chunk as usize, (cut - HEADER_LEN) / (CHUNK as usize + 21));
            }
            other => panic!("cut {cut}: {other}"),
        }
        assert!(out.len() <= cut.saturating_sub(HEADER_LEN));
        assert_eq!(out, plaintext[..out.len()]);
    }
}

#[test]
fn dropped_final_chunk_with_forged_flag() {
    let plaintext = data(4 * CHUNK as usize, 3);
    let (blob, summary) = seal(&plaintext, CHUNK);
    // Keep chunks 0..=2 and mark chunk 2 as final.
    let mut cut = blob[..chunk_offset(3, CHUNK)].to_vec();
    cut[chunk_offset(2, CHUNK)] = 1;
    match open(&cut, &summary.data_key, None).0 {
        Err(Error::Truncated { chunks: 3 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn trailing_garbage() {
    for len in [0usize, 100, CHUNK as usize, 2 * CHUNK as usize + 1] {
        let plaintext = data(len, 4);
        let (blob, summary) = seal(&plaintext, CHUNK);
        let last = summary.chunk_count - 1;
        let final_chunk = blob[chunk_offset(last as usize, CHUNK)..].to_vec();
        for extra in [vec![0u8], data(1000, 5), final_chunk, blob.clone()] {
            let mut long = blob.clone();
            long.extend_from_slice(&extra);
            match open(&long, &summary.data_key, None).0 {
                Err(Error::TrailingData { after_chunk }) => assert_eq!(after_chunk, last),
                other => panic!("len {len}: {other:?}"),
            }
        }
    }
}

#[test]
fn final_full_chunk_marked_non_final_then_more_appended() {
    let plaintext = data(2 * CHUNK as usize, 6);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let mut long = blob.clone();
    long[chunk_offset(1, CHUNK)] = 0;
    long.extend_from_slice(&blob[chunk_offset(1, CHUNK)..]);
    match open(&long, &summary.data_key, None).0 {
        Err(Error::TrailingData { after_chunk: 1 }) => {}
        other => panic!("{other:?}"),
    }
}
