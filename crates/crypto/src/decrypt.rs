//! Streaming decryption: blob in, plaintext out, each chunk written only once it authenticated.
//!
//! A stream cannot know it is complete until it ends, so chunks that authenticated are written
//! before a later failure is found. Callers must treat the output of a failed [`decrypt`] as
//! garbage and discard it; [`decrypt_file`](crate::file::decrypt_file) does so for files.

use std::{
    io::{BufReader, Read, Write},
    sync::Arc,
};

use aes_gcm::AeadInOut;
use rayon::prelude::*;

use crate::{
    commitment::{CommitmentBuilder, chunk_digest},
    digest::Root,
    encrypt::Summary,
    error::Error,
    error::Result,
    format::{self, FRAME_LEN, Frame, HEADER_LEN, Header, TAG_LEN},
    keys::DataKey,
    keys::DerivedKeys,
    merkle::leaf_hash,
    pipeline::{IO_BUFFER, Ordered, Processed, Sink, batch_len},
    records::RecordReader,
};

/// How far from its position a failed chunk is tried, to tell moved or repeated chunks from
/// modified ones. Only runs on failure; a failed try costs one GHASH pass over the chunk.
const DIAGNOSE_WINDOW: u64 = 32;

/// One sealed chunk on its way through the pool: the record at the front of `buf`.
pub(crate) struct Job {
    pub(crate) index: u64,
    pub(crate) frame: Frame,
    pub(crate) buf: Vec<u8>,
}

/// What every chunk of one blob is opened with; shared read-only by the pool.
pub(crate) struct Context {
    keys: DerivedKeys,
    pub(crate) header: Header,
    header_bytes: [u8; HEADER_LEN],
}

impl Context {
    /// Decodes the header and checks `data_key` against its key commitment.
    pub(crate) fn new(header_bytes: [u8; HEADER_LEN], data_key: &DataKey) -> Result<Self> {
        let header = Header::decode(&header_bytes)?;
        let keys = data_key.derive();
        if keys.key_commitment != header.key_commitment {
            return Err(Error::WrongKey);
        }
        Ok(Self {
            keys,
            header,
            header_bytes,
        })
    }

    /// An empty plaintext commitment for this blob.
    pub(crate) fn commitment(&self) -> CommitmentBuilder {
        CommitmentBuilder::new(self.keys.commitment_key.clone())
    }

    /// The header's exact bytes.
    pub(crate) fn header_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.header_bytes
    }
}

/// [`Error::RootMismatch`] unless `actual` is the expected root (when there is one).
pub(crate) fn check_root(expected: Option<&Root>, actual: Root) -> Result<()> {
    match expected {
        Some(expected) if *expected != actual => Err(Error::RootMismatch {
            expected: *expected,
            actual,
        }),
        _ => Ok(()),
    }
}

/// Decrypts the blob `reader` yields with `data_key`, writing the plaintext to `writer`.
///
/// Returns the blob's [`Summary`] (root, plaintext commitment, sizes). With `expected_root`,
/// fails with [`Error::RootMismatch`] unless the blob's root is that one.
///
/// Every chunk is authenticated before its plaintext is written, and chunks are written in
/// order; at the first failure nothing more is written and a specific error says what and
/// where: [`Error::WrongKey`] (before any output), [`Error::ChunkTampered`],
/// [`Error::ChunkOutOfOrder`], [`Error::DuplicateChunk`], [`Error::Truncated`],
/// [`Error::TruncatedChunk`], [`Error::TrailingData`], [`Error::MalformedChunk`],
/// [`Error::RootMismatch`], or a header error. **On any error the plaintext already written is
/// incomplete or not the file the root names, and must be discarded.**
pub fn decrypt(
    reader: impl Read,
    writer: impl Write,
    data_key: &DataKey,
    expected_root: Option<&Root>,
) -> Result<Summary> {
    let mut records = RecordReader::new(BufReader::with_capacity(IO_BUFFER, reader));
    let (header_bytes, _) = records.read_header()?;
    let ctx = Arc::new(Context::new(header_bytes, data_key)?);
    let chunk_size = ctx.header.chunk_size;
    let mut sink = Sink::new(writer, &header_bytes, ctx.commitment(), chunk_size);
    let mut ordered = Ordered::new();
    let batch = batch_len(chunk_size);
    let mut next_index = 0u64;
    // An error the reader finds ranks after every chunk before it; those may still be in
    // flight and fail first.
    let mut stream_error = None;

    while stream_error.is_none() {
        let mut jobs = Vec::with_capacity(batch);
        let mut end = false;
        while !end && jobs.len() < batch {
            let index = next_index;
            let mut buf = sink.pool.get();
            match records.next_record(&ctx.header, index, &mut buf) {
                Ok(frame) => {
                    jobs.push(Job { index, frame, buf });
                    next_index += 1;
                    if frame.last {
                        end = true;
                        stream_error = records.expect_end(index).err();
                    }
                }
                Err(err) => {
                    end = true;
                    stream_error = Some(err);
                }
            }
        }
        if !jobs.is_empty() {
            let ctx = Arc::clone(&ctx);
            let job = move || -> Vec<Result<Processed>> {
                jobs.into_par_iter()
                    .map(|job| open_chunk(&ctx, job))
                    .collect()
            };
            if let Some(done) = ordered.submit(job) {
                sink.accept(done)?;
            }
        }
        if end {
            break;
        }
    }
    while let Some(done) = ordered.next() {
        sink.accept(done)?;
    }
    let totals = sink.finish()?;
    if let Some(err) = stream_error {
        return Err(err);
    }
    check_root(expected_root, totals.root)?;
    Ok(totals.into_summary(chunk_size, data_key.clone()))
}

/// Hashes, authenticates and decrypts one sealed chunk in place.
pub(crate) fn open_chunk(ctx: &Context, job: Job) -> Result<Processed> {
    let Job {
        index,
        frame,
        mut buf,
    } = job;
    let len = frame.len as usize;
    let record_len = FRAME_LEN + len + TAG_LEN;
    let leaf = leaf_hash(index + 1, &buf[..record_len]);
    let counter = u32::try_from(index).map_err(|_| Error::TooManyChunks)?;
    let (text, tag) = buf[FRAME_LEN..record_len].split_at_mut(len);
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(tag);
    if try_open(ctx, counter, frame.last, text, &tag_bytes).is_err() {
        return Err(diagnose(ctx, index, frame, text, &tag_bytes));
    }
    let digest = chunk_digest(
        &ctx.keys.commitment_key,
        index,
        ctx.header.chunk_size,
        index == 0 && frame.last,
        text,
    );
    Ok(Processed {
        buf,
        output: FRAME_LEN..FRAME_LEN + len,
        plaintext_len: len,
        record_len,
        leaf,
        digest,
    })
}

fn try_open(
    ctx: &Context,
    counter: u32,
    last: bool,
    text: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> std::result::Result<(), aes_gcm::Error> {
    let nonce = format::chunk_nonce(&ctx.header.nonce_prefix, counter, last);
    ctx.keys.cipher.decrypt_inout_detached(
        &nonce.into(),
        &ctx.header_bytes,
        text.into(),
        tag.into(),
    )
}

/// Says why chunk `index` did not authenticate, by trying the positions and flags it could have
/// been sealed with. AES-GCM checks the tag before decrypting, so a failed try leaves `text`
/// untouched.
fn diagnose(
    ctx: &Context,
    index: u64,
    frame: Frame,
    text: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Error {
    let Ok(counter) = u32::try_from(index) else {
        return Error::TooManyChunks;
    };
    // Same position, other flag: the framing's final flag was flipped.
    if try_open(ctx, counter, !frame.last, text, tag).is_ok() {
        return if frame.last {
            // Sealed as not final: whatever followed it was cut off.
            Error::Truncated { chunks: index + 1 }
        } else {
            Error::TrailingData { after_chunk: index }
        };
    }
    let low = index.saturating_sub(DIAGNOSE_WINDOW);
    let high = (index + DIAGNOSE_WINDOW).min(u64::from(u32::MAX));
    for other in (low..=high).filter(|&other| other != index) {
        let Ok(other_counter) = u32::try_from(other) else {
            continue;
        };
        for last in [frame.last, !frame.last] {
            if try_open(ctx, other_counter, last, text, tag).is_ok() {
                // Every chunk before `index` authenticated at its own position, so a chunk
                // sealed earlier is a second copy; one sealed later was moved.
                return if other < index {
                    Error::DuplicateChunk {
                        position: index,
                        duplicate_of: other,
                    }
                } else {
                    Error::ChunkOutOfOrder {
                        position: index,
                        sealed_as: other,
                    }
                };
            }
        }
    }
    Error::ChunkTampered { chunk: index }
}
