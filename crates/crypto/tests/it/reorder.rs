//! Swapped, moved, dropped, duplicated and foreign chunks are caught and named.

use lazai_crypto::Error;

use crate::{chunk_offset, data, open, seal};

const CHUNK: u32 = 1024;

/// The sealed chunks of a blob, and its header.
fn split(blob: &[u8], chunks: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let header = blob[..chunk_offset(0, CHUNK)].to_vec();
    let parts = (0..chunks)
        .map(|i| {
            let end = if i + 1 == chunks {
                blob.len()
            } else {
                chunk_offset(i + 1, CHUNK)
            };
            blob[chunk_offset(i, CHUNK)..end].to_vec()
        })
        .collect();
    (header, parts)
}

fn join(header: &[u8], parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header.to_vec();
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

#[test]
fn swapped_neighbours() {
    let plaintext = data(5 * CHUNK as usize + 10, 1);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let (header, parts) = split(&blob, 6);
    for i in 0..5 {
        let mut swapped = parts.clone();
        swapped.swap(i, i + 1);
        let (result, out) = open(&join(&header, &swapped), &summary.data_key, None);
        match result {
            Err(Error::ChunkOutOfOrder {
                position,
                sealed_as,
            }) => assert_eq!((position, sealed_as), (i as u64, i as u64 + 1)),
            other => panic!("swap {i}: {other:?}"),
        }
        assert_eq!(out, plaintext[..i * CHUNK as usize]);
    }
}

#[test]
fn dropped_middle_chunk() {
    let plaintext = data(4 * CHUNK as usize, 2);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let (header, mut parts) = split(&blob, 4);
    parts.remove(1);
    match open(&join(&header, &parts), &summary.data_key, None).0 {
        Err(Error::ChunkOutOfOrder {
            position: 1,
            sealed_as: 2,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicated_chunks() {
    let plaintext = data(4 * CHUNK as usize, 3);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let (header, parts) = split(&blob, 4);
    for j in 0..3 {
        let mut doubled = parts.clone();
        doubled.insert(j + 1, parts[j].clone());
        let (result, out) = open(&join(&header, &doubled), &summary.data_key, None);
        match result {
            Err(Error::DuplicateChunk {
                position,
                duplicate_of,
            }) => assert_eq!((position, duplicate_of), (j as u64 + 1, j as u64)),
            other => panic!("dup {j}: {other:?}"),
        }
        assert_eq!(out, plaintext[..(j + 1) * CHUNK as usize]);
    }
    // An early chunk repeated in place of a later one.
    let mut replaced = parts.clone();
    replaced[3] = parts[0].clone();
    match open(&join(&header, &replaced), &summary.data_key, None).0 {
        Err(Error::DuplicateChunk {
            position: 3,
            duplicate_of: 0,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn final_chunk_moved_forward() {
    let plaintext = data(3 * CHUNK as usize + 99, 4);
    let (blob, summary) = seal(&plaintext, CHUNK);
    let (header, mut parts) = split(&blob, 4);
    parts.swap(2, 3);
    match open(&join(&header, &parts), &summary.data_key, None).0 {
        Err(Error::ChunkOutOfOrder {
            position: 2,
            sealed_as: 3,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn chunk_from_another_file() {
    let plaintext = data(3 * CHUNK as usize, 5);
    let (blob_a, summary_a) = seal(&plaintext, CHUNK);
    let (blob_b, _) = seal(&plaintext, CHUNK);
    let (header, mut parts) = split(&blob_a, 3);
    let (_, parts_b) = split(&blob_b, 3);
    parts[1] = parts_b[1].clone();
    match open(&join(&header, &parts), &summary_a.data_key, None).0 {
        Err(Error::ChunkTampered { chunk: 1 }) => {}
        other => panic!("{other:?}"),
    }
}
