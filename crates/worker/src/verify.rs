//! Verifying one contributed file inside the worker: fetch the ciphertext (checked against its
//! on-chain root), unseal the data key, decrypt and score the plaintext as it streams — the
//! plaintext goes from the decryptor to the scorer through a bounded in-memory pipe and is
//! never written anywhere, logged or returned.

use crate::contribution::{FileHash, unseal};
use crate::schema::Schema;
use crate::score::{Evaluation, Limits, Reason, RowHash, evaluate};
use lazai_blob::Fetcher;
use lazai_crypto::{DataKey, SecretKey, decrypt};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;
use tokio::time::Instant;

/// What the chain says about one file, and its sealed key for this worker.
#[derive(Clone, Debug)]
pub struct FileInput {
    pub url: String,
    /// The on-chain hash string (parsed here; a malformed one rejects the file).
    pub hash: String,
    /// The permission's sealed key (hex); empty when there is none.
    pub sealed_key: String,
}

/// A verdict on one file.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub score: u16,
    pub reason: Reason,
    /// A short explanation that never quotes the content.
    pub detail: String,
    /// The evaluation's counts and the hashes of its new rows (empty when rejected before
    /// scoring).
    pub evaluation: Option<Evaluation>,
}

impl Verdict {
    fn reject(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            score: 0,
            reason,
            detail: detail.into(),
            evaluation: None,
        }
    }

    /// The hashes of the rows this file adds to the accepted set when accepted.
    pub fn new_rows(&self) -> &[RowHash] {
        match &self.evaluation {
            Some(e) if self.score > 0 => &e.new_rows,
            _ => &[],
        }
    }
}

/// Why [`fetch`] gave no blob.
#[derive(Debug)]
pub enum FetchFailure {
    /// A verdict on the file itself: every honest worker reaches the same one.
    Reject(Verdict),
    /// A failure of this worker's I/O or of the store's service (a timeout, a disk error, a
    /// blob not there yet): retry later rather than reject the file for what may be a
    /// passing outage (see [`fetch_retrying`]).
    Retry(String),
}

impl From<Verdict> for FetchFailure {
    fn from(v: Verdict) -> Self {
        FetchFailure::Reject(v)
    }
}

/// Fetches `file`'s ciphertext into `work_dir` (verified against its root, at most `max_blob`
/// bytes) and returns where it is, with the root and key; or why not.
pub async fn fetch(
    fetcher: &Fetcher,
    secret: &SecretKey,
    file: &FileInput,
    work_dir: &Path,
    max_blob: u64,
) -> Result<(PathBuf, DataKey, FileHash), FetchFailure> {
    let hash: FileHash = file
        .hash
        .parse()
        .map_err(|e| Verdict::reject(Reason::Integrity, format!("{e}")))?;
    if file.sealed_key.is_empty() {
        return Err(Verdict::reject(Reason::KeyRejected, "no sealed key for this worker").into());
    }
    let key = unseal(secret, &file.sealed_key, &hash.root).map_err(|e| {
        Verdict::reject(
            Reason::KeyRejected,
            format!("cannot unseal the data key: {e}"),
        )
    })?;
    let dest = work_dir.join(format!(
        "fetch-{}",
        hash.root.to_hex().trim_start_matches("0x")
    ));
    match fetcher
        .fetch_verified(&file.url, &hash.root, max_blob, &dest)
        .await
    {
        Ok(_) => Ok((dest, key, hash)),
        Err(e) => {
            use lazai_blob::Error as E;
            let reason = match &e {
                E::Integrity(_) => Reason::Integrity,
                E::TooLarge { .. } => Reason::TooLarge,
                // A blob missing now may be uploaded late or be back after a store outage.
                E::NotFound { .. } | E::Io(_) | E::Store(_) => {
                    return Err(FetchFailure::Retry(e.to_string()));
                }
                // A URL outside the trusted stores will not become readable by waiting.
                _ => Reason::Unavailable,
            };
            Err(Verdict::reject(reason, e.to_string()).into())
        }
    }
}

/// The waits of [`fetch_retrying`] between attempts: the first is [`FIRST_RETRY_DELAY`], each
/// next one twice as long, at most [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
/// The longest wait between two attempts of [`fetch_retrying`].
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);

/// [`fetch`], retried with exponential backoff while it fails with [`FetchFailure::Retry`]
/// and the next attempt can start before `give_up`. When it cannot, the file is rejected as
/// [`Reason::Unavailable`] — the one reason its owner may resubmit the file for. Verdicts on
/// the file itself (a root mismatch, a key that does not open) are returned at once.
pub async fn fetch_retrying(
    fetcher: &Fetcher,
    secret: &SecretKey,
    file: &FileInput,
    work_dir: &Path,
    max_blob: u64,
    give_up: Instant,
) -> Result<(PathBuf, DataKey, FileHash), Verdict> {
    let started = Instant::now();
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempts = 1u32;
    loop {
        let why = match fetch(fetcher, secret, file, work_dir, max_blob).await {
            Ok(fetched) => return Ok(fetched),
            Err(FetchFailure::Reject(verdict)) => return Err(verdict),
            Err(FetchFailure::Retry(why)) => why,
        };
        let next = Instant::now() + delay;
        if next > give_up {
            return Err(Verdict::reject(
                Reason::Unavailable,
                format!(
                    "the blob could not be read in {attempts} attempts over {} ms: {why}",
                    started.elapsed().as_millis()
                ),
            ));
        }
        tracing::debug!(url = %file.url, attempts, ?delay, error = %why, "blob unreadable; retrying");
        tokio::time::sleep_until(next).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
        attempts += 1;
    }
}

/// Decrypts the verified blob at `blob` with `key` and scores the plaintext against `schema`
/// with `seen` (blocking: run it off the async runtime). A decryption failure (a tampered,
/// truncated or reordered chunk, a wrong key, a plaintext that does not match its commitment)
/// rejects the file whatever the score would have been.
pub fn score_blob(
    blob: &Path,
    key: &DataKey,
    hash: &FileHash,
    schema: &Schema,
    seen: &(impl Fn(&RowHash) -> bool + Sync),
    limits: &Limits,
) -> Verdict {
    let file = match std::fs::File::open(blob) {
        Ok(f) => f,
        Err(e) => return Verdict::reject(Reason::Unavailable, format!("open the blob: {e}")),
    };
    let (tx, rx) = sync_channel::<Vec<u8>>(PIPE_DEPTH);
    let (decrypted, mut evaluation) = std::thread::scope(|s| {
        let decryptor = s.spawn(move || decrypt(file, PipeWriter::new(tx), key, Some(&hash.root)));
        let mut reader = PipeReader::new(rx);
        let evaluation = evaluate(BufReader::new(&mut reader), schema, seen, limits);
        // Let the decryptor finish so its verdict on the whole blob is known.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        drop(reader);
        let decrypted = decryptor
            .join()
            .unwrap_or_else(|_| Err(lazai_crypto::Error::Io(std::io::Error::other("panicked"))));
        (decrypted, evaluation)
    });
    match decrypted {
        Err(lazai_crypto::Error::WrongKey) => {
            Verdict::reject(Reason::KeyRejected, "the data key does not open the blob")
        }
        Err(e) => Verdict::reject(Reason::Integrity, format!("decryption failed: {e}")),
        Ok(summary) if summary.plaintext_commitment != hash.commitment => Verdict::reject(
            Reason::Integrity,
            "the plaintext does not match its on-chain commitment",
        ),
        Ok(_) => {
            if evaluation.score == 0 {
                evaluation.new_rows.clear();
            }
            Verdict {
                score: evaluation.score,
                reason: evaluation.reason,
                detail: evaluation.detail.clone(),
                evaluation: Some(evaluation),
            }
        }
    }
}

/// Chunks in flight between the decryptor and the scorer (each at most one write).
const PIPE_DEPTH: usize = 8;
/// Largest buffer the pipe writer accumulates before sending.
const PIPE_CHUNK: usize = 256 * 1024;

struct PipeWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl PipeWriter {
    fn new(tx: SyncSender<Vec<u8>>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(PIPE_CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PIPE_CHUNK));
        self.tx
            .send(full)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "scorer stopped"))
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIPE_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

struct PipeReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl PipeReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        Self {
            rx,
            current: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
