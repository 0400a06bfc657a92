//! What a contribution puts on chain, and the client side of making one: encrypt, commit,
//! seal the data key to the iDAO ([`encrypt_for`]), upload the ciphertext
//! ([`Encrypted::store`]); with the registration, [`contribute_and_register`].
//!
//! A file registered in the DataRegistry carries:
//!
//! - `url`: where its ciphertext (a `lazai_crypto` blob) is, in a blob store;
//! - `hash`: [`FileHash`] as text — `lzenc1:<ciphertext root>:<plaintext commitment>` (each 64
//!   lowercase hex digits). The root is what every read is verified against and what the
//!   sealed key is bound to; the keyed plaintext commitment lets the owner prove what the
//!   plaintext was without allowing a dictionary attack on it;
//! - a permission for the iDAO's data address holding the data key sealed with HPKE to the
//!   iDAO's worker key (`0x` and 160 hex digits).

pub mod register;

use lazai_blob::{BlobStore, object_name};
use lazai_crypto::{
    DataKey, EncryptParams, PlaintextCommitment, PublicKey, Root, SealedKey, SecretKey, Summary,
    encrypt_file_into, open_data_key, seal_data_key,
};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Prefix of the on-chain hash string of a `lazai_crypto` blob, version 1.
pub const FILE_HASH_PREFIX: &str = "lzenc1";

/// The on-chain `hash` of a contributed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHash {
    /// Merkle root of the ciphertext.
    pub root: Root,
    /// Keyed commitment to the plaintext.
    pub commitment: PlaintextCommitment,
}

fn bare_hex(hex: String) -> String {
    hex.strip_prefix("0x").map(str::to_string).unwrap_or(hex)
}

impl fmt::Display for FileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{FILE_HASH_PREFIX}:{}:{}",
            bare_hex(self.root.to_hex()),
            bare_hex(self.commitment.to_hex())
        )
    }
}

/// Why a hash string is not a [`FileHash`].
#[derive(Debug, thiserror::Error)]
#[error("not a lazai file hash (expected {FILE_HASH_PREFIX}:<64 hex>:<64 hex>): {0}")]
pub struct FileHashError(String);

impl FromStr for FileHash {
    type Err = FileHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        let (Some(prefix), Some(root), Some(commitment), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(FileHashError("wrong number of fields".into()));
        };
        if prefix != FILE_HASH_PREFIX {
            return Err(FileHashError(format!("unknown version {prefix:?}")));
        }
        let hex64 = |t: &str| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(root) || !hex64(commitment) {
            return Err(FileHashError("fields must be 64 hex digits".into()));
        }
        Ok(FileHash {
            root: Root::from_hex(root).map_err(|e| FileHashError(e.to_string()))?,
            commitment: PlaintextCommitment::from_hex(commitment)
                .map_err(|e| FileHashError(e.to_string()))?,
        })
    }
}

/// A file encrypted, sealed to an iDAO and uploaded: what to register on chain.
#[derive(Debug)]
pub struct Contribution {
    /// The ciphertext's URL in the blob store.
    pub url: String,
    /// The on-chain hash.
    pub hash: FileHash,
    /// The data key sealed to the iDAO's worker key (permission `key`, hex).
    pub sealed_key: SealedKey,
    /// The encryption summary (sizes, chunk count, and the data key itself — the owner's to
    /// keep for `lazai data decrypt`, and nobody else's).
    pub summary: Summary,
}

/// Errors of [`contribute`].
#[derive(Debug, thiserror::Error)]
pub enum ContributeError {
    #[error("encrypt {path}: {source}")]
    Encrypt {
        path: String,
        source: lazai_crypto::Error,
    },
    #[error("seal the data key: {0}")]
    Seal(lazai_crypto::Error),
    #[error("upload the ciphertext: {0}")]
    Upload(lazai_blob::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A file encrypted and its data key sealed, the ciphertext still in a staging file that
/// [`store`](Self::store) moves into the blob store (and that is removed if it never is): the
/// URL, hash and sealed key to register are known before the store holds anything.
#[derive(Debug)]
pub struct Encrypted {
    staged: tempfile::TempPath,
    /// The URL the ciphertext will have in the blob store.
    pub url: String,
    /// The on-chain hash.
    pub hash: FileHash,
    /// The data key sealed to the iDAO's worker key.
    pub sealed_key: SealedKey,
    /// The encryption summary (see [`Contribution::summary`]).
    pub summary: Summary,
}

/// Encrypts `path` (streaming, both cores) into a staging file — in a local store's own
/// directory (a hidden name, never an object), else under `work_dir` — and seals the data key
/// to `recipient` bound to the ciphertext root. The object it will become is
/// `<root>.lzenc` in `store`.
pub async fn encrypt_for(
    path: &Path,
    store: &BlobStore,
    recipient: &PublicKey,
    work_dir: &Path,
    params: EncryptParams,
) -> Result<Encrypted, ContributeError> {
    // Encrypt straight into a local store's directory, so the upload is a rename.
    let mut staged = tempfile::Builder::new()
        .prefix(".lazai-contribution-")
        .tempfile_in(store.staging_dir().unwrap_or(work_dir))?;
    let src = path.to_path_buf();
    // The local store will fsync the ciphertext before it becomes an object: write it back
    // while it is being encrypted rather than all at the end.
    let flusher = match store.staging_dir() {
        Some(_) => Some(Flusher::start(staged.as_file().try_clone()?)),
        None => None,
    };
    // Straight into the staging file: encrypting elsewhere and renaming over it would make
    // the file system flush the whole ciphertext before the rename returns.
    let (summary, staged) = tokio::task::spawn_blocking(move || {
        let summary = encrypt_file_into(&src, staged.as_file_mut(), &params);
        drop(flusher);
        (summary, staged.into_temp_path())
    })
    .await
    .map_err(std::io::Error::other)?;
    let summary = summary.map_err(|source| ContributeError::Encrypt {
        path: path.display().to_string(),
        source,
    })?;
    let sealed_key = seal_data_key(recipient, &summary.data_key, &summary.root)
        .map_err(ContributeError::Seal)?;
    let url = store
        .url_for(&object_name(&summary.root))
        .map_err(ContributeError::Upload)?;
    Ok(Encrypted {
        staged,
        url,
        hash: FileHash {
            root: summary.root,
            commitment: summary.plaintext_commitment,
        },
        sealed_key,
        summary,
    })
}

/// Writes a file being written back to disk as it grows, on a thread of its own, until
/// dropped: the durability a later `fsync` asks for is then mostly paid while the file is
/// still being produced. The thread ends by itself after its current flush; an error only
/// stops it (the final `fsync` reports what matters).
struct Flusher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Flusher {
    /// Pause between flushes that found little to write.
    const IDLE: std::time::Duration = std::time::Duration::from_millis(20);

    fn start(file: std::fs::File) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("lazai-flush".into())
            .spawn(move || {
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    let began = std::time::Instant::now();
                    if file.sync_data().is_err() {
                        return;
                    }
                    if began.elapsed() < Self::IDLE {
                        std::thread::sleep(Self::IDLE);
                    }
                }
            });
        // Without the thread the final fsync simply does all the work.
        drop(spawned);
        Self { stop }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Encrypted {
    /// Moves the ciphertext into `store` (the store [`encrypt_for`] was given) as
    /// `<root>.lzenc`: a rename for a local store, an upload otherwise. On error the staging
    /// file is removed and the store holds no such object.
    pub async fn store(self, store: &BlobStore) -> Result<Contribution, ContributeError> {
        let Encrypted {
            staged,
            url,
            hash,
            sealed_key,
            summary,
        } = self;
        let name = object_name(&summary.root);
        let stored = store.move_file(&name, &staged).await;
        // Already moved: dropping the path removes nothing, or a leftover after an error.
        drop(staged);
        if let Err(e) = stored {
            // A multipart upload is aborted and a rename is all or nothing, but be sure.
            let _ = store.delete(&url).await;
            return Err(ContributeError::Upload(e));
        }
        Ok(Contribution {
            url,
            hash,
            sealed_key,
            summary,
        })
    }
}

/// [`encrypt_for`] then [`Encrypted::store`]: the ciphertext is in `store` when it returns.
/// The staging file is removed whatever happens.
pub async fn contribute(
    path: &Path,
    store: &BlobStore,
    recipient: &PublicKey,
    work_dir: &Path,
    params: EncryptParams,
) -> Result<Contribution, ContributeError> {
    encrypt_for(path, store, recipient, work_dir, params)
        .await?
        .store(store)
        .await
}

/// Opens a permission's sealed key (hex) for the file with ciphertext root `root`.
pub fn unseal(secret: &SecretKey, sealed_hex: &str, root: &Root) -> lazai_crypto::Result<DataKey> {
    let sealed = SealedKey::from_hex(sealed_hex.trim())?;
    open_data_key(secret, &sealed, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_round_trips_and_rejects_garbage() {
        let h = FileHash {
            root: Root::from_hex(&"ab".repeat(32)).expect("hex"),
            commitment: PlaintextCommitment::from_hex(&"cd".repeat(32)).expect("hex"),
        };
        let text = h.to_string();
        assert_eq!(
            text,
            format!("lzenc1:{}:{}", "ab".repeat(32), "cd".repeat(32))
        );
        assert_eq!(text.parse::<FileHash>().expect("parses"), h);
        for bad in [
            "",
            "lzenc1",
            "lzenc2:00:00",
            &format!("lzenc1:{}", "ab".repeat(32)),
            &format!("lzenc1:{}:{}:x", "ab".repeat(32), "cd".repeat(32)),
            &format!("lzenc1:{}:{}", "zz".repeat(32), "cd".repeat(32)),
            &format!("lzenc1:0x{}:{}", "ab".repeat(31), "cd".repeat(32)),
        ] {
            assert!(bad.parse::<FileHash>().is_err(), "{bad:?}");
        }
    }
}
