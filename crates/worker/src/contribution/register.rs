//! The contributor's whole client: check that the registration can be paid for, encrypt and
//! seal, then upload the ciphertext and register the file with its sealed key in one
//! `addFileWithPermissions` transaction — taking back what was written when nothing got
//! registered.

use super::{Contribution, Encrypted, FileHash, encrypt_for};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_abi::{DATA_REGISTRY_ADDRESS, IDataRegistry as R, idao_data_address};
use lazai_blob::BlobStore;
use lazai_client::{Client, Prepared, event};
use lazai_crypto::{
    EncryptParams, PlaintextCommitment, PublicKey, Root, SEALED_KEY_LEN, SealedKey,
};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a contribution goes.
#[derive(Clone, Copy)]
pub struct Destination<'a> {
    /// The iDAO it is shared with (through the iDAO's data address).
    pub idao: U256,
    /// The iDAO's worker key (VSC `dataConfig`), which the data key is sealed to.
    pub recipient: &'a PublicKey,
    /// The blob store the ciphertext goes to (the iDAO's, or one its workers trust).
    pub store: &'a BlobStore,
}

/// What the caller sees of a contribution on its way; every method has a silent default.
pub trait ContributeProgress {
    /// Runs `work`, the encryption of `plaintext_bytes` (a command line redraws a line while it
    /// runs).
    fn encrypting<T>(
        &self,
        plaintext_bytes: u64,
        work: impl Future<Output = T>,
    ) -> impl Future<Output = T> {
        let _ = plaintext_bytes;
        work
    }

    /// Called once the file is encrypted, before the store is written to or anything is sent:
    /// the file it returns (the owner's copy of the data key) is removed again if the file is
    /// certainly not registered.
    fn encrypted(&mut self, encrypted: &Encrypted) -> Result<Option<PathBuf>> {
        let _ = encrypted;
        Ok(None)
    }

    /// Called as the upload and the registration start.
    fn registering(&self) {}
}

impl ContributeProgress for () {}

/// A contribution registered and shared with its iDAO.
#[derive(Debug)]
pub struct Registered {
    pub file_id: U256,
    /// What was stored: URL, hash, sealed key and the encryption summary.
    pub contribution: Contribution,
    /// The `addFileWithPermissions` transaction's receipt.
    pub receipt: TransactionReceipt,
    /// The iDAO's data address, which the sealed key was granted to.
    pub data_address: Address,
    /// From the start of the encryption to the ciphertext being stored.
    pub elapsed: Duration,
    /// What [`ContributeProgress::encrypted`] wrote.
    pub key_file: Option<PathBuf>,
}

/// The signer cannot pay for the registration: nothing was encrypted or uploaded.
#[derive(Debug, thiserror::Error)]
#[error(
    "{account} holds {balance} wei, but registering the file may cost up to {max_cost} wei in \
     gas ({gas_limit} gas): fund the account first; nothing was encrypted or uploaded"
)]
pub struct Unaffordable {
    pub account: Address,
    pub balance: U256,
    pub max_cost: U256,
    pub gas_limit: u64,
}

/// Prices the registration of a contribution shared with `data_address` — one
/// `addFileWithPermissions` carrying the sealed key — from arguments of the real ones' sizes,
/// and refuses a signer whose balance could not pay for it ([`Unaffordable`]): run before
/// anything is encrypted or uploaded, so that a registration that cannot succeed leaves
/// nothing in the store.
pub async fn price_registration(
    c: &Client,
    store: &BlobStore,
    idao: U256,
    data_address: Address,
) -> Result<Prepared> {
    // Non-zero bytes throughout: calldata costs more per non-zero byte.
    let root = Root::from_hex(&"ff".repeat(32))?;
    let hash = FileHash {
        root,
        commitment: PlaintextCommitment::from_hex(&"ff".repeat(32))?,
    };
    let sealed = SealedKey::from_bytes(&[0xff; SEALED_KEY_LEN])?;
    let placeholder = R::addFileWithPermissionsCall {
        url: store.url_for(&lazai_blob::object_name(&root))?,
        hash: hash.to_string(),
        ownerAddress: c.from(),
        permissions: vec![R::Permission {
            account: data_address,
            key: sealed.to_hex(),
        }],
    };
    let (balance, prepared) = tokio::try_join!(
        async {
            c.provider()
                .get_balance(c.from())
                .await
                .context("read the signer's balance")
        },
        c.prepare(DATA_REGISTRY_ADDRESS, placeholder, U256::ZERO),
    )
    .with_context(|| format!("check that a file can be registered for iDAO {idao}"))?;
    if balance < prepared.max_cost {
        return Err(Unaffordable {
            account: c.from(),
            balance,
            max_cost: prepared.max_cost,
            gas_limit: prepared.gas_limit,
        }
        .into());
    }
    Ok(prepared)
}

/// Contributes `file` to `to.idao` as `c`'s signer: checks that the registration can be paid
/// for ([`price_registration`]), encrypts the file in `work_dir` (or a local store's own
/// directory) and seals its data key to the iDAO ([`encrypt_for`]), then stores the ciphertext
/// and registers the file with the sealed key granted to the iDAO's data address in one
/// `addFileWithPermissions` transaction.
///
/// Into a local store the registration goes out while the ciphertext is flushed and renamed (a
/// worker retries a blob that is not there yet); into any other store the upload comes first.
/// When the file is certainly not registered, the ciphertext and the key file are removed; the
/// error says what is left otherwise.
pub async fn contribute_and_register(
    c: &Client,
    to: &Destination<'_>,
    file: &Path,
    work_dir: &Path,
    params: EncryptParams,
    progress: &mut impl ContributeProgress,
) -> Result<Registered> {
    let store = to.store;
    let data_address = idao_data_address(to.idao);
    let registration = price_registration(c, store, to.idao, data_address).await?;

    let plaintext_bytes = std::fs::metadata(file)
        .with_context(|| format!("{}", file.display()))?
        .len();
    let started = Instant::now();
    let encrypted = progress
        .encrypting(
            plaintext_bytes,
            encrypt_for(file, store, to.recipient, work_dir, params),
        )
        .await?;
    let key_file = progress.encrypted(&encrypted)?;
    let url = encrypted.url.clone();
    let registration = registration.with_call(R::addFileWithPermissionsCall {
        url: url.clone(),
        hash: encrypted.hash.to_string(),
        ownerAddress: c.from(),
        permissions: vec![R::Permission {
            account: data_address,
            key: encrypted.sealed_key.to_hex(),
        }],
    });

    progress.registering();
    let upload = async {
        let stored = encrypted.store(store).await;
        (stored, started.elapsed())
    };
    let ((stored, elapsed), registered) = if store.staging_dir().is_some() {
        tokio::join!(upload, c.send_prepared(registration))
    } else {
        let (stored, elapsed) = upload.await;
        if let Err(e) = stored {
            let what = match &key_file {
                Some(path) => {
                    let _ = std::fs::remove_file(path);
                    "nothing was registered, and the key file was removed"
                }
                None => "nothing was registered",
            };
            return Err(anyhow!(e)).context(what);
        }
        ((stored, elapsed), c.send_prepared(registration).await)
    };
    let (contribution, receipt) = match (stored, registered) {
        (Ok(contribution), Ok(receipt)) => (contribution, receipt),
        (stored, Err(failure)) if failure.changed_nothing() => {
            // Nothing is registered: take back what was written.
            if stored.is_ok() {
                let _ = store.delete(&url).await;
            }
            let what = match &key_file {
                Some(path) => {
                    let _ = std::fs::remove_file(path);
                    "the file was not registered; its ciphertext and key file were removed"
                }
                None => "the file was not registered; its ciphertext was removed",
            };
            return Err(anyhow!(failure)).context(what);
        }
        (_, Err(unknown)) => {
            let key = key_file
                .as_ref()
                .map(|path| format!(" and the data key in {}", path.display()))
                .unwrap_or_default();
            bail!(
                "{unknown}; the ciphertext stays at {url}{key}: see `lazai data list --owner {}` \
                 once the transaction is settled",
                c.from()
            )
        }
        (Err(e), Ok(receipt)) => {
            let file_id = event::<R::FileAdded>(&receipt, DATA_REGISTRY_ADDRESS)
                .map(|e| e.fileId.to_string())
                .unwrap_or_else(|_| "?".into());
            bail!(
                "file {file_id} is registered, but its ciphertext could not be stored ({e}); \
                 its verifiers will reject it as unavailable: contribute the file again"
            );
        }
    };
    let file_id = event::<R::FileAdded>(&receipt, DATA_REGISTRY_ADDRESS)?.fileId;
    Ok(Registered {
        file_id,
        contribution,
        receipt,
        data_address,
        elapsed,
        key_file,
    })
}
