//! The machinery shared by [`encrypt`](crate::encrypt) and [`decrypt`](crate::decrypt): batches
//! of chunks processed on the rayon pool, results handed back in order, buffers recycled, and a
//! hard bound on what is in flight.
//!
//! The calling thread does all I/O (so readers and writers need not be `Send`): it reads batch
//! `k + 1` and writes batch `k - 1` while the pool seals or opens batch `k`. At most
//! [`MAX_BATCHES_IN_FLIGHT`] batches are queued or being processed, plus the one being read and
//! the one being written, each of [`batch_len`] chunks, so memory is about
//! `4 × max(8 MiB, threads × chunk_size)` whatever the file size.

use std::{
    collections::VecDeque,
    io::{BufWriter, Write},
    ops::Range,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::mpsc,
};

use crate::{
    commitment::{ChunkDigest, CommitmentBuilder},
    digest::PlaintextCommitment,
    digest::Root,
    encrypt::Summary,
    error::Result,
    format::{CHUNK_OVERHEAD, HEADER_LEN},
    keys::DataKey,
    merkle::MerkleBuilder,
};

/// Batches queued or being processed by the pool at once.
pub(crate) const MAX_BATCHES_IN_FLIGHT: usize = 2;
/// Bytes of plaintext a batch aims at (more chunks than threads keeps both cores busy).
const TARGET_BATCH_BYTES: usize = 8 << 20;
/// I/O buffer for small reads (chunk framing) and small writes (small chunk sizes).
pub(crate) const IO_BUFFER: usize = 64 << 10;

/// Chunks per batch for `chunk_size`.
pub(crate) fn batch_len(chunk_size: u32) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (TARGET_BATCH_BYTES / chunk_size as usize).max(threads)
}

/// Recycled chunk buffers of `chunk_size + CHUNK_OVERHEAD` bytes.
pub(crate) struct BufPool {
    free: Vec<Vec<u8>>,
    len: usize,
}

impl BufPool {
    pub(crate) fn new(chunk_size: u32) -> Self {
        Self {
            free: Vec::new(),
            len: chunk_size as usize + CHUNK_OVERHEAD,
        }
    }

    pub(crate) fn get(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_else(|| vec![0u8; self.len])
    }

    pub(crate) fn put(&mut self, buf: Vec<u8>) {
        self.free.push(buf);
    }
}

/// Runs jobs on the rayon pool and returns their results in submission order, with at most
/// [`MAX_BATCHES_IN_FLIGHT`] outstanding. A job that panics re-raises its panic on the caller.
pub(crate) struct Ordered<T> {
    pending: VecDeque<Pending<T>>,
}

enum Pending<T> {
    Spawned(mpsc::Receiver<std::thread::Result<T>>),
    Done(T),
}

impl<T: Send + 'static> Ordered<T> {
    pub(crate) fn new() -> Self {
        Self {
            pending: VecDeque::with_capacity(MAX_BATCHES_IN_FLIGHT + 1),
        }
    }

    /// Queues `job`. If that makes too many outstanding, first waits for and returns the oldest.
    pub(crate) fn submit(&mut self, job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let ready = if self.pending.len() >= MAX_BATCHES_IN_FLIGHT {
            self.next()
        } else {
            None
        };
        if rayon::current_thread_index().is_some() {
            // Called from inside the pool: blocking this worker on a channel could starve the
            // pool, so run the job here (its own parallel iterators still use the pool).
            self.pending.push_back(Pending::Done(job()));
        } else {
            let (tx, rx) = mpsc::sync_channel(1);
            rayon::spawn(move || {
                // The receiver may be gone if the caller already failed; nothing to do then.
                let _ = tx.send(catch_unwind(AssertUnwindSafe(job)));
            });
            self.pending.push_back(Pending::Spawned(rx));
        }
        ready
    }

    /// Waits for the oldest outstanding job; `None` if there is none.
    pub(crate) fn next(&mut self) -> Option<T> {
        match self.pending.pop_front()? {
            Pending::Done(value) => Some(value),
            Pending::Spawned(rx) => match rx.recv() {
                Ok(Ok(value)) => Some(value),
                Ok(Err(panic)) => resume_unwind(panic),
                // The job always sends before its sender drops, unless rayon itself is torn down.
                Err(_) => panic!("rayon job vanished without a result"),
            },
        }
    }
}

/// A chunk the pool is done with.
pub(crate) struct Processed {
    /// The chunk buffer, back for reuse.
    pub(crate) buf: Vec<u8>,
    /// The bytes of `buf` to write out.
    pub(crate) output: Range<usize>,
    /// Plaintext bytes in the chunk.
    pub(crate) plaintext_len: usize,
    /// Sealed bytes of the chunk (framing, ciphertext, tag).
    pub(crate) record_len: usize,
    /// Its Merkle leaf hash.
    pub(crate) leaf: [u8; 32],
    /// Its part of the plaintext commitment.
    pub(crate) digest: ChunkDigest,
}

/// The in-order end of the pipeline: writes chunks, grows both trees, counts.
pub(crate) struct Sink<W: Write> {
    writer: BufWriter<W>,
    tree: MerkleBuilder,
    commitment: CommitmentBuilder,
    pub(crate) pool: BufPool,
    plaintext: u64,
    ciphertext: u64,
    chunks: u64,
}

/// What the sink counted, once every chunk went through.
pub(crate) struct Totals {
    pub(crate) root: Root,
    pub(crate) plaintext_commitment: PlaintextCommitment,
    pub(crate) plaintext_size: u64,
    pub(crate) ciphertext_size: u64,
    pub(crate) chunk_count: u64,
}

impl Totals {
    pub(crate) fn into_summary(self, chunk_size: u32, data_key: DataKey) -> Summary {
        Summary {
            root: self.root,
            plaintext_commitment: self.plaintext_commitment,
            plaintext_size: self.plaintext_size,
            ciphertext_size: self.ciphertext_size,
            chunk_count: self.chunk_count,
            chunk_size,
            data_key,
        }
    }
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(
        writer: W,
        header: &[u8; HEADER_LEN],
        commitment: CommitmentBuilder,
        chunk_size: u32,
    ) -> Self {
        Self {
            writer: BufWriter::with_capacity(IO_BUFFER, writer),
            tree: MerkleBuilder::with_header(header),
            commitment,
            pool: BufPool::new(chunk_size),
            plaintext: 0,
            ciphertext: HEADER_LEN as u64,
            chunks: 0,
        }
    }

    /// Writes raw bytes (the header, when encrypting).
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        Ok(self.writer.write_all(bytes)?)
    }

    /// Takes a batch in order; stops at the first failed chunk and returns its error.
    pub(crate) fn accept<E>(&mut self, batch: Vec<Result<Processed, E>>) -> Result<(), E>
    where
        E: From<std::io::Error>,
    {
        for chunk in batch {
            let chunk = chunk?;
            self.writer.write_all(&chunk.buf[chunk.output.clone()])?;
            self.tree.push(chunk.leaf);
            self.commitment.push(chunk.digest);
            self.plaintext += chunk.plaintext_len as u64;
            self.ciphertext += chunk.record_len as u64;
            self.chunks += 1;
            self.pool.put(chunk.buf);
        }
        Ok(())
    }

    /// Flushes the writer and finishes both trees.
    pub(crate) fn finish(mut self) -> Result<Totals> {
        self.writer.flush()?;
        Ok(Totals {
            root: self.tree.finish(),
            plaintext_commitment: self.commitment.finish(),
            plaintext_size: self.plaintext,
            ciphertext_size: self.ciphertext,
            chunk_count: self.chunks,
        })
    }
}
