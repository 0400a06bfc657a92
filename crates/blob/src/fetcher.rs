//! [`Fetcher`]: verified reads from a fixed set of trusted stores.

use std::path::Path;

use lazai_crypto::{BlobInfo, Root};

use crate::{error::Error, error::Result, store::BlobStore};

/// The stores a worker trusts, and verified reads from them.
///
/// A URL on chain is written by whoever registered the data; a worker resolves it only against
/// the stores it was configured with, never by opening whatever the URL names (a stranger's
/// `file:///etc/...` or an arbitrary bucket).
#[derive(Clone, Debug, Default)]
pub struct Fetcher {
    stores: Vec<BlobStore>,
}

impl Fetcher {
    /// A fetcher over `stores`.
    pub fn new(stores: Vec<BlobStore>) -> Self {
        Self { stores }
    }

    /// The trusted stores.
    pub fn stores(&self) -> &[BlobStore] {
        &self.stores
    }

    /// The store `url` belongs to: the one with the longest base URL that is a prefix of `url`
    /// followed by `/` (a path-segment boundary: `s3://b/p` does not own `s3://b/px/...`).
    pub fn store_for(&self, url: &str) -> Option<&BlobStore> {
        self.stores
            .iter()
            .filter(|store| {
                url.strip_prefix(store.base_url())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|store| store.base_url().len())
    }

    /// [`BlobStore::fetch_verified`] on the store `url` belongs to ([`store_for`](Self::store_for));
    /// [`Error::ForeignUrl`] if none does. As there, on any error nothing is left at `dest`.
    pub async fn fetch_verified(
        &self,
        url: &str,
        expected_root: &Root,
        max_size: u64,
        dest: &Path,
    ) -> Result<BlobInfo> {
        match self.store_for(url) {
            Some(store) => {
                store
                    .fetch_verified(url, expected_root, max_size, dest)
                    .await
            }
            None => {
                // Keep the promise that a failed fetch leaves nothing at `dest`.
                let _ = tokio::fs::remove_file(dest).await;
                Err(Error::ForeignUrl {
                    url: url.to_owned(),
                })
            }
        }
    }
}
