//! File-to-file encryption and decryption with positional I/O on the worker threads.
//!
//! When both ends are regular files, every chunk's place in the input and the output is known
//! from the chunk size and the input's length, so each worker reads its chunk with `pread`,
//! seals or opens it, and writes it with `pwrite`: the copying in and out of the page cache is
//! spread over all cores instead of being done by one thread, which on two cores is the
//! difference between the I/O thread and the cryptography taking turns and both running at
//! once. The calling thread only hands out batches and folds the digests in order, so the root
//! and the commitment are exactly those of the streaming path, and memory stays as flat.
//!
//! Output chunks land out of order and a failed decryption may have written chunks after the
//! failing one, so these functions only ever write to the temporary file of
//! [`decrypt_file`](crate::file::decrypt_file) and [`encrypt_file`](crate::file::encrypt_file), which is
//! deleted on error. Decryption here checks the layout the length implies and stops at the
//! first failure without explaining it; `decrypt_file` then asks the streaming reader for the
//! precise error.

use std::{fs::File, io, os::unix::fs::FileExt, sync::Arc};

use rayon::prelude::*;

use crate::{
    decrypt::{self, check_root, open_chunk},
    digest::Root,
    encrypt::EncryptParams,
    encrypt::Summary,
    encrypt::{self, seal_chunk},
    error::Error,
    error::Result,
    format::{CHUNK_OVERHEAD, FRAME_LEN, Frame, HEADER_LEN, MAX_CHUNKS, TAG_LEN},
    keys::DataKey,
    pipeline::{Ordered, Processed, Sink, batch_len},
    util,
};

/// Encrypts the regular file `src` into `dst` (empty, owned by the caller).
pub(crate) fn encrypt(src: File, dst: &File, params: &EncryptParams) -> Result<Summary> {
    let len = src.metadata()?.len();
    let chunk_size = params.chunk_size();
    let size = u64::from(chunk_size);
    let chunks = len.div_ceil(size).max(1);
    if chunks > MAX_CHUNKS {
        return Err(Error::TooManyChunks);
    }
    let data_key = DataKey::generate();
    let ctx = Arc::new(encrypt::Context::new(
        params,
        &data_key,
        util::random_array(),
    ));
    dst.write_all_at(&ctx.header, 0)?;
    let mut sink = Sink::new(io::sink(), &ctx.header, ctx.commitment(), chunk_size);
    let src = Arc::new(src);
    let dst = Arc::new(dst.try_clone()?);
    let mut ordered = Ordered::new();
    let batch = batch_len(chunk_size) as u64;

    let mut next = 0u64;
    while next < chunks {
        let end = (next + batch).min(chunks);
        let jobs: Vec<encrypt::Job> = (next..end)
            .map(|index| {
                let last = index + 1 == chunks;
                let len = if last { len - index * size } else { size };
                encrypt::Job {
                    index,
                    last,
                    len: len as usize,
                    buf: sink.pool.get(),
                }
            })
            .collect();
        let (ctx, src, dst) = (Arc::clone(&ctx), Arc::clone(&src), Arc::clone(&dst));
        let work = move || -> Vec<Result<Processed>> {
            jobs.into_par_iter()
                .map(|mut job| {
                    let at = job.index * size;
                    src.read_exact_at(&mut job.buf[FRAME_LEN..FRAME_LEN + job.len], at)?;
                    let out_at = HEADER_LEN as u64 + job.index * (size + CHUNK_OVERHEAD as u64);
                    let mut sealed = seal_chunk(&ctx, job)?;
                    dst.write_all_at(&sealed.buf[sealed.output.clone()], out_at)?;
                    sealed.output = 0..0;
                    Ok(sealed)
                })
                .collect()
        };
        if let Some(done) = ordered.submit(work) {
            sink.accept(done)?;
        }
        next = end;
    }
    while let Some(done) = ordered.next() {
        sink.accept(done)?;
    }
    if src.metadata()?.len() != len {
        return Err(io::Error::other("the input file changed size while it was encrypted").into());
    }
    Ok(sink.finish()?.into_summary(chunk_size, data_key))
}

/// Decrypts the regular file `src` into `dst` (empty, owned by the caller). Any error other than
/// I/O, a wrong key or a wrong root means "not a valid blob" without saying precisely why.
pub(crate) fn decrypt(
    src: File,
    dst: &File,
    data_key: &DataKey,
    expected_root: Option<&Root>,
) -> Result<Summary> {
    let len = src.metadata()?.len();
    let mut header_bytes = [0u8; HEADER_LEN];
    if len < HEADER_LEN as u64 {
        return Err(Error::TruncatedHeader { got: len as usize });
    }
    src.read_exact_at(&mut header_bytes, 0)?;
    let ctx = Arc::new(decrypt::Context::new(header_bytes, data_key)?);
    let chunk_size = ctx.header.chunk_size;
    let size = u64::from(chunk_size);
    let record = size + CHUNK_OVERHEAD as u64;

    // The layout the length implies: full chunks, then one final chunk of 1..=size bytes (or
    // a lone empty one).
    let body = len - HEADER_LEN as u64;
    let chunks = body.div_ceil(record);
    let last_len = body
        .checked_sub(chunks.saturating_sub(1) * record + CHUNK_OVERHEAD as u64)
        .filter(|&last| chunks > 0 && (last > 0 || chunks == 1))
        .ok_or(Error::Truncated { chunks: 0 })?;
    if chunks > MAX_CHUNKS {
        return Err(Error::TooManyChunks);
    }

    let mut sink = Sink::new(io::sink(), ctx.header_bytes(), ctx.commitment(), chunk_size);
    let src = Arc::new(src);
    let dst = Arc::new(dst.try_clone()?);
    let mut ordered = Ordered::new();
    let batch = batch_len(chunk_size) as u64;

    let mut next = 0u64;
    while next < chunks {
        let end = (next + batch).min(chunks);
        let jobs: Vec<decrypt::Job> = (next..end)
            .map(|index| {
                let last = index + 1 == chunks;
                let len = if last { last_len } else { size };
                decrypt::Job {
                    index,
                    frame: Frame {
                        last,
                        len: len as u32,
                    },
                    buf: sink.pool.get(),
                }
            })
            .collect();
        let (ctx, src, dst) = (Arc::clone(&ctx), Arc::clone(&src), Arc::clone(&dst));
        let work = move || -> Vec<Result<Processed>> {
            jobs.into_par_iter()
                .map(|mut job| {
                    let record_len = FRAME_LEN + job.frame.len as usize + TAG_LEN;
                    let at = HEADER_LEN as u64 + job.index * record;
                    src.read_exact_at(&mut job.buf[..record_len], at)?;
                    if job.buf[..FRAME_LEN] != job.frame.encode() {
                        return Err(Error::MalformedChunk {
                            chunk: job.index,
                            reason: "framing disagrees with the blob's length",
                        });
                    }
                    let out_at = job.index * size;
                    let mut opened = open_chunk(&ctx, job)?;
                    dst.write_all_at(&opened.buf[opened.output.clone()], out_at)?;
                    opened.output = 0..0;
                    Ok(opened)
                })
                .collect()
        };
        if let Some(done) = ordered.submit(work) {
            sink.accept(done)?;
        }
        next = end;
    }
    while let Some(done) = ordered.next() {
        sink.accept(done)?;
    }
    if src.metadata()?.len() != len {
        return Err(io::Error::other("the blob changed size while it was decrypted").into());
    }
    let totals = sink.finish()?;
    check_root(expected_root, totals.root)?;
    Ok(totals.into_summary(chunk_size, data_key.clone()))
}
