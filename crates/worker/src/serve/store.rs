//! What the inference server keeps on disk so that a restart neither serves a request twice
//! nor loses a served call: each caller's last accepted nonce, the calls served and not yet
//! recorded on chain (usage token, counter, receipt hash), and, per token, the batch being
//! recorded (the usage recorded before it and its calls' counters, to tell after a crash
//! whether it reached the chain).
//!
//! Every write goes through one thread that commits all the writes waiting at once (group
//! commit): a served call is durable before it is answered, and concurrent calls share one
//! sync to disk.

use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, anyhow};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

/// Caller → its last accepted nonce.
const NONCES: TableDefinition<&[u8; 20], &[u8; 32]> = TableDefinition::new("nonces");
/// Usage token ‖ counter (big-endian) → the receipt hash of a served, unrecorded call.
const PENDING: TableDefinition<&[u8; 40], &[u8; 32]> = TableDefinition::new("pending");
/// Usage token → the usage recorded before its batch in flight (big-endian u64) and the
/// counters of the batch's calls (big-endian u64 each).
const IN_FLIGHT: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("in_flight");

/// Most writes committed together.
const GROUP: usize = 1024;

/// A batch being recorded for one token: the usage recorded before it, its calls' counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct InFlight {
    pub recorded_before: u64,
    pub counters: Vec<u64>,
}

/// What a previous run left.
#[derive(Debug, Default)]
pub(super) struct Restored {
    pub nonces: HashMap<Address, U256>,
    /// Per token, its unrecorded calls (counter, receipt hash) in counter order.
    pub pending: BTreeMap<U256, Vec<(u64, B256)>>,
    pub in_flight: BTreeMap<U256, InFlight>,
}

type Write = Box<dyn FnOnce(&WriteTransaction) -> Result<(), redb::Error> + Send>;

struct Job {
    write: Write,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The server's durable state (see the module docs).
pub(super) struct Store {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn pending_key(token: U256, counter: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&token.to_be_bytes::<32>());
    k[32..].copy_from_slice(&counter.to_be_bytes());
    k
}

fn encode_in_flight(f: &InFlight) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 * (f.counters.len() + 1));
    v.extend_from_slice(&f.recorded_before.to_be_bytes());
    for c in &f.counters {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

fn decode_in_flight(bytes: &[u8]) -> Option<InFlight> {
    if bytes.len() < 8 || !bytes.len().is_multiple_of(8) {
        return None;
    }
    let mut words = bytes
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()));
    Some(InFlight {
        recorded_before: words.next()?,
        counters: words.collect(),
    })
}

fn read(db: &Database) -> Result<Restored, redb::Error> {
    let tx = db.begin_read()?;
    let mut out = Restored::default();
    for row in tx.open_table(NONCES)?.iter()? {
        let (k, v) = row?;
        out.nonces
            .insert(Address::from(*k.value()), U256::from_be_bytes(*v.value()));
    }
    for row in tx.open_table(PENDING)?.iter()? {
        let (k, v) = row?;
        let k = k.value();
        let token = U256::from_be_slice(&k[..32]);
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&k[32..]);
        out.pending
            .entry(token)
            .or_default()
            .push((u64::from_be_bytes(counter), B256::from(*v.value())));
    }
    for row in tx.open_table(IN_FLIGHT)?.iter()? {
        let (k, v) = row?;
        // A marker that does not decode is dropped: its calls stay pending.
        if let Some(f) = decode_in_flight(v.value()) {
            out.in_flight.insert(U256::from_be_bytes(*k.value()), f);
        }
    }
    Ok(out)
}

impl Store {
    /// Opens (or creates) the store at `path` and returns what it holds.
    pub(super) fn open(path: &Path) -> Result<(Store, Restored)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let db = Database::create(path).with_context(|| format!("open {}", path.display()))?;
        let tx = db.begin_write()?;
        tx.open_table(NONCES)?;
        tx.open_table(PENDING)?;
        tx.open_table(IN_FLIGHT)?;
        tx.commit()?;
        let restored = read(&db).with_context(|| format!("read {}", path.display()))?;
        let (send, recv) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("inference-store".into())
            .spawn(move || commit_loop(db, recv))?;
        Ok((
            Store {
                jobs: Mutex::new(Some(send)),
                thread: Mutex::new(Some(thread)),
            },
            restored,
        ))
    }

    /// Runs `write` in the next group commit; returns once it is durable.
    async fn write(
        &self,
        write: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error> + Send + 'static,
    ) -> Result<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let job = Job {
            write: Box::new(write),
            done,
        };
        self.jobs
            .lock()
            .expect("store jobs")
            .as_ref()
            .ok_or_else(|| anyhow!("the server's store is closed"))?
            .send(job)
            .map_err(|_| anyhow!("the server's store stopped"))?;
        wait.await
            .map_err(|_| anyhow!("the server's store stopped"))?
            .map_err(|e| anyhow!("store write failed: {e}"))
    }

    /// A call was served: the caller's nonce and the call's receipt.
    pub(super) async fn served(
        &self,
        user: Address,
        nonce: U256,
        token: U256,
        counter: u64,
        receipt: B256,
    ) -> Result<()> {
        self.write(move |tx| {
            tx.open_table(NONCES)?
                .insert(&user.into_array(), &nonce.to_be_bytes::<32>())?;
            tx.open_table(PENDING)?
                .insert(&pending_key(token, counter), &receipt.0)?;
            Ok(())
        })
        .await
    }

    /// A batch is about to be sent.
    pub(super) async fn batch_sent(&self, batch: Vec<(U256, InFlight)>) -> Result<()> {
        self.write(move |tx| {
            let mut t = tx.open_table(IN_FLIGHT)?;
            for (token, f) in &batch {
                t.insert(&token.to_be_bytes::<32>(), encode_in_flight(f).as_slice())?;
            }
            Ok(())
        })
        .await
    }

    /// A batch is settled: for each token, the calls that are no longer pending (recorded,
    /// or dropped as unpayable); its in-flight marker goes.
    pub(super) async fn batch_settled(&self, done: Vec<(U256, Vec<u64>)>) -> Result<()> {
        self.write(move |tx| {
            let mut pending = tx.open_table(PENDING)?;
            let mut in_flight = tx.open_table(IN_FLIGHT)?;
            for (token, counters) in &done {
                for &c in counters {
                    pending.remove(&pending_key(*token, c))?;
                }
                in_flight.remove(&token.to_be_bytes::<32>())?;
            }
            Ok(())
        })
        .await
    }

    /// Stops the commit thread once every write sent is committed, releasing the file.
    pub(super) fn close(&self) {
        drop(self.jobs.lock().expect("store jobs").take());
        if let Some(t) = self.thread.lock().expect("store thread").take() {
            let _ = t.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn commit_loop(db: Database, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let (writes, waiters): (Vec<Write>, Vec<_>) =
            group.into_iter().map(|j| (j.write, j.done)).unzip();
        let result = commit(&db, writes).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::warn!(error = %e, "inference server store write failed");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}

fn commit(db: &Database, writes: Vec<Write>) -> Result<(), redb::Error> {
    let tx = db.begin_write()?;
    for w in writes {
        w(&tx)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_written_is_restored_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let user = Address::repeat_byte(7);
        let token = U256::from(9);
        {
            let (store, restored) = Store::open(&path).expect("open");
            assert!(restored.nonces.is_empty() && restored.pending.is_empty());
            for c in 1..=3u64 {
                store
                    .served(
                        user,
                        U256::from(10 + c),
                        token,
                        c,
                        B256::repeat_byte(c as u8),
                    )
                    .await
                    .expect("served");
            }
            let f = InFlight {
                recorded_before: 5,
                counters: vec![1, 2],
            };
            store
                .batch_sent(vec![(token, f.clone())])
                .await
                .expect("sent");
            store.close();
            let (_store, restored) = Store::open(&path).expect("reopen");
            assert_eq!(restored.nonces.get(&user), Some(&U256::from(13)));
            assert_eq!(
                restored.pending[&token],
                vec![
                    (1, B256::repeat_byte(1)),
                    (2, B256::repeat_byte(2)),
                    (3, B256::repeat_byte(3))
                ]
            );
            assert_eq!(restored.in_flight[&token], f);
            _store
                .batch_settled(vec![(token, vec![1, 2])])
                .await
                .expect("settled");
        }
        let (_store, restored) = Store::open(&path).expect("reopen");
        assert_eq!(restored.pending[&token], vec![(3, B256::repeat_byte(3))]);
        assert!(restored.in_flight.is_empty());
    }

    #[test]
    fn in_flight_markers_round_trip_and_garbage_is_refused() {
        let f = InFlight {
            recorded_before: u64::MAX,
            counters: vec![0, 1, u64::MAX],
        };
        assert_eq!(decode_in_flight(&encode_in_flight(&f)), Some(f));
        assert_eq!(decode_in_flight(&[]), None);
        assert_eq!(decode_in_flight(&[1, 2, 3]), None);
    }
}
