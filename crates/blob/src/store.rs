//! [`BlobStore`]: one object store, one base URL, flat object names.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use lazai_crypto::{BlobInfo, Root};
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
    local::LocalFileSystem, memory::InMemory, path::Path as ObjectPath,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::{
    error::Error,
    error::Result,
    location::{Location, file_url},
    name::validate_name,
};

/// Size of the parts of a multipart upload (S3 wants at least 5 MiB for all but the last).
pub const PART_SIZE: usize = 8 << 20;

/// Parts of one upload in flight at once. Memory of an upload is about
/// `(UPLOAD_CONCURRENCY + 1) × PART_SIZE`, whatever the file's size.
pub const UPLOAD_CONCURRENCY: usize = 4;

/// Buffer between the network and the destination file of a fetch.
const WRITE_BUFFER: usize = 1 << 20;

/// A blob store: an [`ObjectStore`] under a canonical base URL, holding flat, validated object
/// names. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    base_url: String,
    /// The canonical directory of a local store.
    local_dir: Option<PathBuf>,
}

impl BlobStore {
    /// Opens the store at `location`:
    ///
    /// - a filesystem path, relative or absolute, or `file:///abs/dir`: the directory is created
    ///   if missing and canonicalised; the base URL is `file:///canonical/dir` (percent-encoded);
    ///   writes are fsynced;
    /// - `memory://`: a fresh, empty in-memory store (for tests);
    /// - `s3://bucket/prefix` (prefix optional): an S3 or S3-compatible bucket, configured from
    ///   the `AWS_*` environment (see the crate docs); needs the `s3` feature, otherwise
    ///   [`Error::S3NotEnabled`].
    ///
    /// Any other `scheme://` is [`Error::UnsupportedScheme`].
    pub fn open(location: &str) -> Result<Self> {
        match Location::parse(location)? {
            Location::Local(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::location(location, format!("cannot create {}: {e}", dir.display()))
                })?;
                let dir = std::fs::canonicalize(&dir).map_err(|e| {
                    Error::location(
                        location,
                        format!("cannot canonicalise {}: {e}", dir.display()),
                    )
                })?;
                if !dir.is_dir() {
                    return Err(Error::location(location, "not a directory"));
                }
                let base_url = file_url(location, &dir)?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| Error::location(location, e.to_string()))?
                    .with_fsync(true);
                Ok(Self {
                    store: Arc::new(store),
                    base_url,
                    local_dir: Some(dir),
                })
            }
            Location::Memory => Ok(Self {
                store: Arc::new(InMemory::new()),
                base_url: "memory://".to_owned(),
                local_dir: None,
            }),
            Location::S3 { bucket, prefix } => open_s3(location, &bucket, prefix.as_deref()),
        }
    }

    /// The canonical base URL: `file:///abs/dir`, `memory://` or `s3://bucket/prefix`. An
    /// object's URL is `base_url + "/" + name`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL of object `name` (checked with [`validate_name`]).
    pub fn url_for(&self, name: &str) -> Result<String> {
        validate_name(name)?;
        Ok(format!("{}/{name}", self.base_url))
    }

    /// The object name of `url`: [`Error::ForeignUrl`] unless `url` is `base_url + "/" + rest`,
    /// then [`Error::InvalidName`] unless `rest` is a valid name.
    pub fn name_of<'a>(&self, url: &'a str) -> Result<&'a str> {
        let name = url
            .strip_prefix(self.base_url.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| Error::ForeignUrl {
                url: url.to_owned(),
            })?;
        validate_name(name)?;
        Ok(name)
    }

    /// Stores `bytes` as object `name` (replacing any object of that name) and returns its URL.
    pub async fn put_bytes(&self, name: &str, bytes: Bytes) -> Result<String> {
        let url = self.url_for(name)?;
        self.store
            .put(&ObjectPath::from(name), PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| Error::store(&url, e))?;
        Ok(url)
    }

    /// Where to write a file that will be handed to [`move_file`](Self::move_file), so that
    /// the move is a rename rather than a copy: the store's own directory for a local store
    /// (staging names start with a dot, which no object name does), `None` for other stores.
    pub fn staging_dir(&self) -> Option<&Path> {
        self.local_dir.as_deref()
    }

    /// Makes the file at `path` object `name` and returns its URL; `path` is gone afterwards.
    /// A file in [`staging_dir`](Self::staging_dir) of a local store is fsynced and renamed
    /// into place (the object appears whole or not at all); anything else is uploaded with
    /// [`put_file`](Self::put_file) and then removed.
    pub async fn move_file(&self, name: &str, path: &Path) -> Result<String> {
        let url = self.url_for(name)?;
        if let Some(dir) = &self.local_dir
            && path.parent() == Some(dir.as_path())
        {
            let (path, dest, dir) = (path.to_owned(), dir.join(name), dir.clone());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&path)?.sync_all()?;
                std::fs::rename(&path, &dest)?;
                std::fs::File::open(&dir)?.sync_all()
            })
            .await
            .map_err(std::io::Error::other)??;
            return Ok(url);
        }
        self.put_file(name, path).await?;
        tokio::fs::remove_file(path).await?;
        Ok(url)
    }

    /// Streams the file at `path` into object `name` and returns its URL. See
    /// [`put_reader`](Self::put_reader).
    pub async fn put_file(&self, name: &str, path: &Path) -> Result<String> {
        validate_name(name)?;
        let file = tokio::fs::File::open(path).await?;
        self.put_reader(name, file).await
    }

    /// Streams `reader` to its end into object `name` and returns its URL.
    ///
    /// Up to [`PART_SIZE`] bytes go in one request; anything longer is a multipart upload of
    /// [`PART_SIZE`] parts, at most [`UPLOAD_CONCURRENCY`] in flight, so memory stays flat for a
    /// 10 GiB file. The object appears only when the upload completes (S3 completes multipart
    /// uploads atomically; the local store writes a staging file and renames it); on error the
    /// upload is aborted.
    pub async fn put_reader<R>(&self, name: &str, mut reader: R) -> Result<String>
    where
        R: AsyncRead + Unpin + Send,
    {
        let url = self.url_for(name)?;
        let location = ObjectPath::from(name);
        let first = read_part(&mut reader).await?;
        if first.len() < PART_SIZE {
            return self.put_bytes(name, first).await;
        }

        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|e| Error::store(&url, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        writer.put(first);
        let streamed: Result<()> = async {
            loop {
                let part = read_part(&mut reader).await?;
                if part.is_empty() {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(UPLOAD_CONCURRENCY)
                    .await
                    .map_err(|e| Error::store(&url, e))?;
                let last = part.len() < PART_SIZE;
                writer.put(part);
                if last {
                    return Ok(());
                }
            }
        }
        .await;
        match streamed {
            Ok(()) => {
                writer.finish().await.map_err(|e| Error::store(&url, e))?;
                Ok(url)
            }
            Err(e) => {
                // The original error matters more than a failed clean-up.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Fetches the object at `url` into the file `dest` and verifies it against `expected_root`
    /// (the root the chain stores), returning what the blob's structure says.
    ///
    /// In order: [`Error::ForeignUrl`] / [`Error::InvalidName`] unless `url` is an object of this
    /// store; [`Error::NotFound`]; [`Error::TooLarge`] if the object's size is over `max_size`
    /// (checked before reading, and again by counting bytes while streaming); the object is
    /// streamed to a temporary file next to `dest` and checked with
    /// [`lazai_crypto::verify_root`] — [`Error::Integrity`] if it is malformed, truncated or has
    /// another root. Only a verified blob is renamed to `dest`.
    ///
    /// **On any error nothing is left at `dest`**: the temporary file is deleted and a file
    /// already at `dest` is removed too, so an existing `dest` always holds a verified blob.
    pub async fn fetch_verified(
        &self,
        url: &str,
        expected_root: &Root,
        max_size: u64,
        dest: &Path,
    ) -> Result<BlobInfo> {
        let result = self.fetch_inner(url, expected_root, max_size, dest).await;
        if result.is_err() {
            remove_if_exists(dest).await;
        }
        result
    }

    async fn fetch_inner(
        &self,
        url: &str,
        expected_root: &Root,
        max_size: u64,
        dest: &Path,
    ) -> Result<BlobInfo> {
        let location = ObjectPath::from(self.name_of(url)?);
        let too_large = |size| Error::TooLarge {
            url: url.to_owned(),
            size,
            max: max_size,
        };

        let meta = self
            .store
            .head(&location)
            .await
            .map_err(|e| Error::store(url, e))?;
        if meta.size > max_size {
            return Err(too_large(meta.size));
        }
        let got = self
            .store
            .get(&location)
            .await
            .map_err(|e| Error::store(url, e))?;
        if got.meta.size > max_size {
            return Err(too_large(got.meta.size));
        }

        let dir = match dest.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".lazai-blob-")
            .suffix(".partial")
            .tempfile_in(dir)?;
        let out = temp.as_file().try_clone()?;
        // Read at most one byte more than allowed: enough to tell that the object is too large.
        let limit = max_size.saturating_add(1);

        let size = match got.payload {
            // A local file: copy it in the kernel where possible.
            GetResultPayload::File(mut file, _) => {
                let start = got.range.start;
                tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
                    let mut out = out;
                    file.seek(SeekFrom::Start(start))?;
                    std::io::copy(&mut file.take(limit), &mut out)
                })
                .await
                .map_err(std::io::Error::other)??
            }
            GetResultPayload::Stream(mut stream) => {
                let mut out = tokio::io::BufWriter::with_capacity(
                    WRITE_BUFFER,
                    tokio::fs::File::from_std(out),
                );
                let mut size = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| Error::store(url, e))?;
                    size = size.saturating_add(chunk.len() as u64);
                    if size > max_size {
                        return Err(too_large(size));
                    }
                    out.write_all(&chunk).await?;
                }
                out.flush().await?;
                size
            }
        };
        if size > max_size {
            return Err(too_large(size));
        }

        let dest = dest.to_owned();
        let expected = *expected_root;
        tokio::task::spawn_blocking(move || -> Result<BlobInfo> {
            temp.as_file().sync_all()?;
            let info = lazai_crypto::verify_root(File::open(temp.path())?, &expected)?;
            temp.persist(&dest).map_err(|e| e.error)?;
            Ok(info)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Whether the object at `url` exists.
    pub async fn exists(&self, url: &str) -> Result<bool> {
        let location = ObjectPath::from(self.name_of(url)?);
        match self.store.head(&location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::store(url, e)),
        }
    }

    /// Deletes the object at `url`. Deleting a missing object is not an error.
    pub async fn delete(&self, url: &str) -> Result<()> {
        let location = ObjectPath::from(self.name_of(url)?);
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::store(url, e)),
        }
    }

    /// The URLs of all objects in the store, sorted. Entries that are not valid object names
    /// (nested keys, staging files of uploads in progress) are skipped.
    pub async fn list(&self) -> Result<Vec<String>> {
        let mut listing = self.store.list(None);
        let mut urls = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| Error::store(&self.base_url, e))?;
            if let Ok(url) = self.url_for(meta.location.as_ref()) {
                urls.push(url);
            }
        }
        urls.sort();
        Ok(urls)
    }

    /// The object at `url`, whole, **unverified**: for tests and tools only. Anything that acts
    /// on a blob must use [`fetch_verified`](Self::fetch_verified).
    pub async fn get_raw(&self, url: &str) -> Result<Bytes> {
        let location = ObjectPath::from(self.name_of(url)?);
        let got = self
            .store
            .get(&location)
            .await
            .map_err(|e| Error::store(url, e))?;
        got.bytes().await.map_err(|e| Error::store(url, e))
    }
}

/// Reads up to [`PART_SIZE`] bytes; fewer only at the end of the stream.
async fn read_part<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Bytes> {
    let mut part = BytesMut::with_capacity(PART_SIZE);
    while part.len() < PART_SIZE {
        if reader.read_buf(&mut part).await? == 0 {
            break;
        }
    }
    Ok(part.freeze())
}

async fn remove_if_exists(path: &Path) {
    // Best effort: the error being returned is the one that matters.
    let _ = tokio::fs::remove_file(path).await;
}

#[cfg(feature = "s3")]
fn open_s3(location: &str, bucket: &str, prefix: Option<&str>) -> Result<BlobStore> {
    use object_store::{aws::AmazonS3Builder, prefix::PrefixStore};

    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map_err(|e| Error::location(location, e.to_string()))?;
    let (store, base_url): (Arc<dyn ObjectStore>, String) = match prefix {
        Some(prefix) => (
            Arc::new(PrefixStore::new(s3, ObjectPath::from(prefix))),
            format!("s3://{bucket}/{prefix}"),
        ),
        None => (Arc::new(s3), format!("s3://{bucket}")),
    };
    Ok(BlobStore {
        store,
        base_url,
        local_dir: None,
    })
}

#[cfg(not(feature = "s3"))]
fn open_s3(location: &str, _bucket: &str, _prefix: Option<&str>) -> Result<BlobStore> {
    Err(Error::S3NotEnabled {
        location: location.to_owned(),
    })
}
