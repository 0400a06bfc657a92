//! Encrypt then decrypt gives the plaintext back, for every size class and chunk size.

use std::io::{self, Read};

use lazai_crypto::{EncryptParams, HEADER_LEN, commit_plaintext_bytes, decrypt, encrypt};
use proptest::prelude::*;

use crate::{data, open, seal};

fn round_trip(len: usize, chunk_size: u32) {
    let plaintext = data(len, len as u64 ^ u64::from(chunk_size));
    let (blob, summary) = seal(&plaintext, chunk_size);
    let chunks = len.div_ceil(chunk_size as usize).max(1);
    assert_eq!(summary.chunk_count, chunks as u64, "len {len}");
    assert_eq!(summary.plaintext_size, len as u64);
    assert_eq!(summary.ciphertext_size, blob.len() as u64);
    assert_eq!(blob.len(), HEADER_LEN + len + 21 * chunks);
    assert_eq!(summary.chunk_size, chunk_size);
    assert_eq!(
        summary.plaintext_commitment,
        commit_plaintext_bytes(&summary.data_key, &plaintext)
    );

    let (result, out) = open(&blob, &summary.data_key, Some(&summary.root));
    let opened = result.expect("decrypt");
    assert_eq!(out, plaintext, "len {len}, chunk {chunk_size}");
    assert_eq!(opened, summary);
}

#[test]
fn size_classes() {
    for chunk_size in [1024u32, 4096] {
        let c = chunk_size as usize;
        for len in [0, 1, c - 1, c, c + 1, 2 * c, 3 * c - 1, 5 * c + 7] {
            round_trip(len, chunk_size);
        }
    }
}

#[test]
fn several_mib_small_chunks() {
    round_trip(3 << 20, 1024);
    round_trip((5 << 20) + 12_345, 64 << 10);
}

#[test]
fn default_chunk_size() {
    round_trip((2 << 20) + 1, EncryptParams::default().chunk_size());
    round_trip(1 << 20, EncryptParams::default().chunk_size());
}

#[test]
fn largest_chunk_size() {
    round_trip((16 << 20) + 3, 16 << 20);
}

#[test]
fn invalid_chunk_sizes_are_refused() {
    for size in [0, 512, 1000, 3 << 10, 32 << 20] {
        assert!(matches!(
            EncryptParams::new(size),
            Err(lazai_crypto::Error::InvalidChunkSize(_))
        ));
    }
}

/// A reader and a writer that move a few bytes per call.
struct Trickle<R>(R);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

struct TrickleWriter(Vec<u8>);

impl io::Write for TrickleWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(5);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn short_reads_and_writes() {
    let plaintext = data(10_000, 9);
    let params = EncryptParams::new(1024).expect("valid");
    let mut blob = TrickleWriter(Vec::new());
    let summary = encrypt(Trickle(&plaintext[..]), &mut blob, &params).expect("encrypt");
    let mut out = TrickleWriter(Vec::new());
    decrypt(
        Trickle(&blob.0[..]),
        &mut out,
        &summary.data_key,
        Some(&summary.root),
    )
    .expect("decrypt");
    assert_eq!(out.0, plaintext);
}

#[test]
fn fresh_key_and_nonce_each_time() {
    let plaintext = data(5000, 1);
    let (a, sa) = seal(&plaintext, 1024);
    let (b, sb) = seal(&plaintext, 1024);
    assert_ne!(sa.data_key, sb.data_key);
    assert_ne!(a[14..21], b[14..21], "nonce prefix");
    assert_ne!(sa.root, sb.root);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_data_and_chunk_sizes(
        plaintext in proptest::collection::vec(any::<u8>(), 0..40_000),
        shift in 10u32..15,
    ) {
        let (blob, summary) = seal(&plaintext, 1 << shift);
        let (result, out) = open(&blob, &summary.data_key, Some(&summary.root));
        prop_assert!(result.is_ok());
        prop_assert_eq!(out, plaintext);
    }
}

/// Pseudo-random bytes produced on demand: the test never holds the whole plaintext.
struct Generator {
    xof: blake3::OutputReader,
    left: u64,
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        self.xof.fill(&mut buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Hashes what is written to it instead of keeping it.
struct HashingWriter(blake3::Hasher, u64);

impl io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn streams_many_batches_through_files() {
    let size = (40u64 << 20) + 777;
    let generator = || Generator {
        xof: blake3::Hasher::new().update(b"stream").finalize_xof(),
        left: size,
    };
    let mut expected = HashingWriter(blake3::Hasher::new(), 0);
    io::copy(&mut generator(), &mut expected).expect("hash plaintext");

    let mut blob = tempfile::tempfile().expect("temp file");
    let summary = encrypt(generator(), &mut blob, &EncryptParams::default()).expect("encrypt");
    assert_eq!(summary.chunk_count, 41);
    assert_eq!(summary.plaintext_size, size);

    io::Seek::rewind(&mut blob).expect("rewind");
    let mut out = HashingWriter(blake3::Hasher::new(), 0);
    let opened = decrypt(&blob, &mut out, &summary.data_key, Some(&summary.root)).expect("decrypt");
    assert_eq!(out.1, size);
    assert_eq!(out.0.finalize(), expected.0.finalize());
    assert_eq!(opened.plaintext_commitment, summary.plaintext_commitment);
}

#[test]
fn works_from_inside_a_one_thread_rayon_pool() {
    // A caller already on a pool thread must not block it waiting for work queued behind it.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let plaintext = data(50_000, 11);
    pool.install(|| {
        let (blob, summary) = seal(&plaintext, 1024);
        let (result, out) = open(&blob, &summary.data_key, Some(&summary.root));
        assert!(result.is_ok());
        assert_eq!(out, plaintext);
    });
}
