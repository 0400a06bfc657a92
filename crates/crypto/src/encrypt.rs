//! Streaming encryption: plaintext in, blob out, with the root and the plaintext commitment
//! computed on the way.

use std::{
    io::{BufReader, Read, Write},
    sync::Arc,
};

use aes_gcm::AeadInOut;
use rayon::prelude::*;

use crate::{
    commitment::{CommitmentBuilder, chunk_digest},
    digest::PlaintextCommitment,
    digest::Root,
    error::Error,
    error::Result,
    format::{
        self, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, FRAME_LEN, Frame, HEADER_LEN, Header, MAX_CHUNKS,
        NONCE_PREFIX_LEN, TAG_LEN,
    },
    keys::DataKey,
    keys::DerivedKeys,
    merkle::leaf_hash,
    pipeline::{BufPool, IO_BUFFER, Ordered, Processed, Sink, batch_len},
    records::read_full,
    util,
};

/// How to encrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptParams {
    chunk_size: u32,
}

impl EncryptParams {
    /// Parameters with the given chunk size: a power of two from 1 KiB to 16 MiB.
    pub fn new(chunk_size: u32) -> Result<Self> {
        Ok(Self {
            chunk_size: format::check_chunk_size(u64::from(chunk_size))?,
        })
    }

    /// The chunk size (plaintext bytes per chunk).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }
}

impl Default for EncryptParams {
    /// 1 MiB chunks.
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// What an [`encrypt`] or a successful [`decrypt`](crate::decrypt) established about a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Merkle root over the ciphertext; what the chain stores and the sealed key is bound to.
    pub root: Root,
    /// Keyed commitment to the plaintext (see [`commit_plaintext`](crate::commitment::commit_plaintext)).
    pub plaintext_commitment: PlaintextCommitment,
    /// Plaintext bytes.
    pub plaintext_size: u64,
    /// Ciphertext (blob) bytes.
    pub ciphertext_size: u64,
    /// Number of sealed chunks (at least 1).
    pub chunk_count: u64,
    /// The chunk size of the blob.
    pub chunk_size: u32,
    /// The file's data key: seal it with [`seal_data_key`](crate::seal::seal_data_key), then forget it.
    pub data_key: DataKey,
}

/// One chunk on its way through the pool: plaintext at `FRAME_LEN..FRAME_LEN + len` of `buf`.
pub(crate) struct Job {
    pub(crate) index: u64,
    pub(crate) last: bool,
    pub(crate) len: usize,
    pub(crate) buf: Vec<u8>,
}

/// What every chunk of one blob is sealed with; shared read-only by the pool.
pub(crate) struct Context {
    keys: DerivedKeys,
    pub(crate) header: [u8; HEADER_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    pub(crate) chunk_size: u32,
}

impl Context {
    /// Derives the keys and encodes the header of a new blob.
    pub(crate) fn new(
        params: &EncryptParams,
        data_key: &DataKey,
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Self {
        let keys = data_key.derive();
        let header = Header {
            chunk_size: params.chunk_size,
            nonce_prefix,
            key_commitment: keys.key_commitment,
        }
        .encode();
        Self {
            keys,
            header,
            nonce_prefix,
            chunk_size: params.chunk_size,
        }
    }

    /// An empty plaintext commitment for this blob.
    pub(crate) fn commitment(&self) -> CommitmentBuilder {
        CommitmentBuilder::new(self.keys.commitment_key.clone())
    }
}

/// Encrypts everything `reader` yields into a blob written to `writer`, under a fresh random
/// data key and nonce prefix, and returns the root, the plaintext commitment and the key.
///
/// Streams: memory stays flat whatever the size (see the crate docs), and the rayon pool seals
/// and hashes chunks while this thread reads and writes. The plaintext length need not be known
/// in advance. `writer` is flushed before returning; on error, what was written is garbage.
pub fn encrypt(reader: impl Read, writer: impl Write, params: &EncryptParams) -> Result<Summary> {
    encrypt_with(
        reader,
        writer,
        params,
        DataKey::generate(),
        util::random_array(),
    )
}

fn encrypt_with(
    reader: impl Read,
    writer: impl Write,
    params: &EncryptParams,
    data_key: DataKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
) -> Result<Summary> {
    let chunk_size = params.chunk_size;
    let ctx = Arc::new(Context::new(params, &data_key, nonce_prefix));
    let mut sink = Sink::new(writer, &ctx.header, ctx.commitment(), chunk_size);
    sink.write_raw(&ctx.header)?;
    let mut chunker = Chunker::new(BufReader::with_capacity(IO_BUFFER, reader), chunk_size);
    let mut ordered = Ordered::new();
    let batch = batch_len(chunk_size);

    loop {
        let mut jobs = Vec::with_capacity(batch);
        while jobs.len() < batch {
            match chunker.next(&mut sink.pool)? {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
        if jobs.is_empty() {
            break;
        }
        let ctx = Arc::clone(&ctx);
        let job = move || -> Vec<Result<Processed>> {
            jobs.into_par_iter()
                .map(|job| seal_chunk(&ctx, job))
                .collect()
        };
        if let Some(done) = ordered.submit(job) {
            sink.accept(done)?;
        }
    }
    while let Some(done) = ordered.next() {
        sink.accept(done)?;
    }
    Ok(sink.finish()?.into_summary(chunk_size, data_key))
}

/// Frames, commits, encrypts in place and hashes one chunk. Its buffer holds the plaintext at
/// `FRAME_LEN..FRAME_LEN + len` and leaves room for the framing and the tag.
pub(crate) fn seal_chunk(ctx: &Context, job: Job) -> Result<Processed> {
    let Job {
        index,
        last,
        len,
        mut buf,
    } = job;
    let counter = u32::try_from(index).map_err(|_| Error::TooManyChunks)?;
    buf[..FRAME_LEN].copy_from_slice(
        &Frame {
            last,
            len: len as u32,
        }
        .encode(),
    );
    let record_len = FRAME_LEN + len + TAG_LEN;
    let (text, tag_out) = buf[FRAME_LEN..record_len].split_at_mut(len);
    let digest = chunk_digest(
        &ctx.keys.commitment_key,
        index,
        ctx.chunk_size,
        index == 0 && last,
        text,
    );
    let nonce = format::chunk_nonce(&ctx.nonce_prefix, counter, last);
    let tag = ctx
        .keys
        .cipher
        .encrypt_inout_detached(&nonce.into(), &ctx.header, text.into())
        // Only inputs beyond GCM's 64 GiB limit fail; chunks are at most 16 MiB.
        .map_err(|_| Error::InvalidChunkSize(len as u64))?;
    tag_out.copy_from_slice(&tag);
    let leaf = leaf_hash(index + 1, &buf[..record_len]);
    Ok(Processed {
        buf,
        output: 0..record_len,
        plaintext_len: len,
        record_len,
        leaf,
        digest,
    })
}

/// Cuts the plaintext into chunks, reading one chunk ahead to know which one is final.
struct Chunker<R> {
    reader: R,
    chunk_size: usize,
    next_index: u64,
    ahead: Option<(Vec<u8>, usize)>,
    done: bool,
}

impl<R: Read> Chunker<R> {
    fn new(reader: R, chunk_size: u32) -> Self {
        Self {
            reader,
            chunk_size: chunk_size as usize,
            next_index: 0,
            ahead: None,
            done: false,
        }
    }

    fn fill(&mut self, pool: &mut BufPool) -> Result<(Vec<u8>, usize)> {
        let mut buf = pool.get();
        let len = read_full(
            &mut self.reader,
            &mut buf[FRAME_LEN..FRAME_LEN + self.chunk_size],
        )?;
        Ok((buf, len))
    }

    fn next(&mut self, pool: &mut BufPool) -> Result<Option<Job>> {
        if self.done {
            return Ok(None);
        }
        if self.next_index >= MAX_CHUNKS {
            return Err(Error::TooManyChunks);
        }
        let (buf, len) = match self.ahead.take() {
            Some(ahead) => ahead,
            None => self.fill(pool)?,
        };
        // A short read means the stream ended; a full one needs a look at what follows.
        let last = len < self.chunk_size || {
            let (next, next_len) = self.fill(pool)?;
            if next_len == 0 {
                pool.put(next);
                true
            } else {
                self.ahead = Some((next, next_len));
                false
            }
        };
        self.done = last;
        let index = self.next_index;
        self.next_index += 1;
        debug_assert!(buf.len() >= len + CHUNK_OVERHEAD);
        Ok(Some(Job {
            index,
            last,
            len,
            buf,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_given_key_and_prefix() {
        let params = EncryptParams::new(1024).unwrap_or_default();
        let data = vec![3u8; 3000];
        let run = || {
            let mut out = Vec::new();
            let summary = encrypt_with(
                &data[..],
                &mut out,
                &params,
                DataKey::from_bytes([1; 32]),
                [2; NONCE_PREFIX_LEN],
            );
            (out, summary.map(|s| s.root).ok())
        };
        let (a, root_a) = run();
        let (b, root_b) = run();
        assert_eq!(a, b);
        assert_eq!(root_a, root_b);
        assert_eq!(a.len(), HEADER_LEN + 3000 + 3 * CHUNK_OVERHEAD);
    }
}

#[cfg(test)]
mod golden {
    use super::*;

    fn field<'a>(vector: &'a str, name: &str) -> &'a str {
        vector
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
    }

    /// The encoder still produces the committed vector byte for byte.
    #[test]
    fn encoder_matches_golden_vector() {
        let vector = include_str!("../tests/vectors/v1.txt");
        let plaintext: Vec<u8> = (0..2100u32).map(|i| (i % 251) as u8).collect();
        let key = DataKey::from_hex(field(vector, "key")).unwrap_or_else(|_| DataKey::generate());
        let params = EncryptParams::new(1024).unwrap_or_default();
        let prefix = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];
        let mut out = Vec::new();
        let summary = encrypt_with(&plaintext[..], &mut out, &params, key, prefix).ok();
        assert_eq!(hex::encode(&out), field(vector, "blob"));
        assert_eq!(
            summary.as_ref().map(|s| s.root.to_hex()).as_deref(),
            Some(field(vector, "root"))
        );
        assert_eq!(
            summary.map(|s| s.plaintext_commitment.to_hex()).as_deref(),
            Some(field(vector, "commitment"))
        );
    }
}
