//! The crate's one error type.
//!
//! A missing object is not an oversized one, and neither is an object whose bytes do not match
//! the root the chain stores: each failure a caller may react to differently has its own variant.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while opening a store, writing, or fetching and verifying a blob.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A store location that cannot be used (an empty path, a `file://` URL with a host, an S3
    /// URL without a bucket, a path that is not UTF-8, a directory that cannot be created…).
    #[error("invalid blob store location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why it was refused.
        reason: String,
    },

    /// A `scheme://` location whose scheme this crate does not know.
    #[error(
        "unsupported blob store scheme {scheme:?} in {location:?}: use a filesystem path, file:///abs/dir, memory:// or s3://bucket/prefix"
    )]
    UnsupportedScheme {
        /// The scheme (before `://`).
        scheme: String,
        /// The location as given.
        location: String,
    },

    /// An `s3://` location in a build without S3 support.
    #[error(
        "blob store {location:?} needs S3 support, which is not compiled in: rebuild with `--features s3` (the `s3` feature of lazai-blob)"
    )]
    S3NotEnabled {
        /// The location as given.
        location: String,
    },

    /// An object name that is empty, too long, or not made of `[A-Za-z0-9._-]` (so no `/`, no
    /// `..`, no control characters), or that starts with a dot.
    #[error("invalid object name {name:?}: {reason}")]
    InvalidName {
        /// The name as given (or the part of a URL after the store's base URL).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A URL that is not an object of this store (or of any store a [`Fetcher`](crate::fetcher::Fetcher)
    /// trusts). Nothing was read.
    #[error("{url:?} is not an object of a trusted blob store")]
    ForeignUrl {
        /// The URL as given.
        url: String,
    },

    /// The object does not exist.
    #[error("blob {url} not found")]
    NotFound {
        /// The object's URL.
        url: String,
    },

    /// The object is larger than the caller allows.
    #[error("blob {url} is too large: {size} bytes or more, the limit is {max} bytes")]
    TooLarge {
        /// The object's URL.
        url: String,
        /// The object's size, or (if it grew while being read) the bytes read so far.
        size: u64,
        /// The limit.
        max: u64,
    },

    /// The fetched bytes are not a well-formed blob with the expected root (tampered, truncated,
    /// extended, or simply another blob): the inner error says which.
    #[error("blob failed verification against its root: {0}")]
    Integrity(lazai_crypto::Error),

    /// Local I/O failed (reading a file to upload, writing the destination of a fetch).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// The object store failed (network, permissions, configuration…).
    #[error("object store error: {0}")]
    Store(object_store::Error),
}

impl From<lazai_crypto::Error> for Error {
    /// Verification errors are [`Error::Integrity`], except failures to read the local copy.
    fn from(error: lazai_crypto::Error) -> Self {
        match error {
            lazai_crypto::Error::Io(io) => Self::Io(io),
            other => Self::Integrity(other),
        }
    }
}

impl Error {
    pub(crate) fn location(location: &str, reason: impl Into<String>) -> Self {
        Self::InvalidLocation {
            location: location.to_owned(),
            reason: reason.into(),
        }
    }

    /// Maps an object store error on the object at `url`.
    pub(crate) fn store(url: &str, error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => Self::NotFound {
                url: url.to_owned(),
            },
            other => Self::Store(other),
        }
    }
}
