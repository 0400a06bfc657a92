//! Blob storage for encrypted LazAI data contributions.
//!
//! A contributor encrypts a file with `lazai_crypto`, uploads the ciphertext ("blob") to a
//! [`BlobStore`] and registers its URL and ciphertext [`Root`](lazai_crypto::Root) on chain. A
//! worker fetches the blob through a [`Fetcher`] and gets it only if it matches the root.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use lazai_blob::{BlobStore, Fetcher, object_name};
//! use lazai_crypto::{EncryptParams, encrypt};
//!
//! let mut blob = Vec::new();
//! let summary = encrypt(&b"a data contribution"[..], &mut blob, &EncryptParams::default())?;
//!
//! let store = BlobStore::open("memory://")?;
//! let url = store.put_bytes(&object_name(&summary.root), blob.into()).await?;
//!
//! let dir = tempfile::tempdir()?;
//! let dest = dir.path().join("blob");
//! let fetcher = Fetcher::new(vec![store]);
//! let info = fetcher.fetch_verified(&url, &summary.root, 1 << 30, &dest).await?;
//! assert_eq!(info.root, summary.root);
//! # Ok(())
//! # }
//! ```
//!
//! # Locations and URLs
//!
//! [`BlobStore::open`] takes:
//!
//! | location | store | base URL |
//! |---|---|---|
//! | `data/blobs`, `/srv/blobs` | local directory (created if missing, canonicalised, fsynced writes) | `file:///srv/blobs` |
//! | `file:///srv/blobs` | the same | `file:///srv/blobs` |
//! | `memory://` | a fresh in-memory store (tests) | `memory://` |
//! | `s3://bucket/prefix` | S3 or any S3-compatible store (feature `s3`) | `s3://bucket/prefix` |
//!
//! Objects are flat names checked by [`validate_name`] (`[A-Za-z0-9._-]`, at most 200 bytes, no
//! leading dot, no `..`); blobs are conventionally named [`object_name`]`(root)`, i.e.
//! `<64 hex digits>.lzenc`. An object's URL is `base_url + "/" + name`, e.g.
//! `file:///srv/blobs/ab12….lzenc`, `memory:///ab12….lzenc`, `s3://bucket/prefix/ab12….lzenc`.
//! Base URLs are compared as strings, so every party must open a store with the same location
//! (after canonicalisation) to agree on its URLs.
//!
//! # The verification rule
//!
//! Content is verified against the expected root on **every** read:
//! [`BlobStore::fetch_verified`] and [`Fetcher::fetch_verified`] refuse URLs outside the trusted
//! stores ([`Error::ForeignUrl`]; a worker never reads a `file://` path or bucket that a stranger
//! names on chain), refuse objects over the caller's size limit ([`Error::TooLarge`], from the
//! object's metadata and again while streaming), stream the object to a temporary file next to
//! the destination, check it with [`lazai_crypto::verify_root`] ([`Error::Integrity`]) and only
//! then rename it to the destination. On any error nothing is left at the destination. The one
//! unverified read, [`BlobStore::get_raw`], is for tests and tools.
//!
//! Uploads ([`BlobStore::put_file`], [`BlobStore::put_reader`]) stream in
//! [`PART_SIZE`] multipart parts, so memory stays flat for a 10 GiB file.
//!
//! # S3 configuration
//!
//! With the `s3` feature (off by default: it pulls an HTTP and TLS stack), `s3://bucket/prefix`
//! is configured from the environment like the AWS tools:
//!
//! - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (or instance, container
//!   and web-identity credentials);
//! - `AWS_REGION` or `AWS_DEFAULT_REGION`;
//! - `AWS_ENDPOINT_URL` or `AWS_ENDPOINT` for S3-compatible stores (MinIO, R2, Ceph, …), and
//!   `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint;
//! - `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true` for virtual-hosted-style addressing (path style is
//!   the default).
//!
//! Without the feature, `s3://` locations fail with [`Error::S3NotEnabled`], which says to
//! rebuild with `--features s3`.

mod error;
mod fetcher;
mod location;
mod name;
mod store;

pub use error::{Error, Result};
pub use fetcher::Fetcher;
pub use name::{BLOB_EXTENSION, MAX_NAME_LEN, object_name, validate_name};
pub use store::{BlobStore, PART_SIZE, UPLOAD_CONCURRENCY};
