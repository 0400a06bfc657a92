//! Client-side envelope encryption of LazAI data contributions.
//!
//! A contributor encrypts a file before it leaves the machine; the chain only ever sees a root
//! and a sealed key:
//!
//! 1. [`encrypt`] streams the file through AES-256-GCM in chunks (the STREAM construction: the
//!    chunk index and a last-chunk flag are in each nonce) under a fresh random [`DataKey`], and
//!    returns a [`Summary`] with the ciphertext [`Root`] (a BLAKE3 Merkle root over the blob,
//!    which the chain stores) and a keyed [`PlaintextCommitment`].
//! 2. [`seal_data_key`] seals the data key with HPKE (RFC 9180, X25519) to the public key of the
//!    iDAO's attested TEE worker, bound to the root; the [`SealedKey`] is stored as a `0x` string.
//! 3. The worker [`open_data_key`]s with its secret key and the root, then [`decrypt`]s (or
//!    [`decrypt_file`]s) the blob, checking it against the root.
//!
//! Anyone can check a blob against its root without a key ([`verify_root`]).
//!
//! ```
//! use lazai_crypto::{EncryptParams, decrypt, encrypt, generate_keypair, open_data_key, seal_data_key};
//!
//! let plaintext = b"a data contribution".repeat(1000);
//! let mut blob = Vec::new();
//! let summary = encrypt(&plaintext[..], &mut blob, &EncryptParams::default())?;
//!
//! let (worker_sk, worker_pk) = generate_keypair();
//! let sealed = seal_data_key(&worker_pk, &summary.data_key, &summary.root)?;
//! let permission = sealed.to_hex(); // what the DataRegistry stores
//!
//! let sealed = permission.parse()?;
//! let key = open_data_key(&worker_sk, &sealed, &summary.root)?;
//! let mut out = Vec::new();
//! let opened = decrypt(&blob[..], &mut out, &key, Some(&summary.root))?;
//! assert_eq!(out, plaintext);
//! assert_eq!(opened.plaintext_commitment, summary.plaintext_commitment);
//! # Ok::<(), lazai_crypto::Error>(())
//! ```
//!
//! # Streaming, memory and threads
//!
//! [`encrypt`] and [`decrypt`] take any [`Read`](std::io::Read) and
//! [`Write`](std::io::Write) and never hold the file: the calling thread reads and writes while
//! the rayon pool encrypts (or authenticates and decrypts) and hashes batches of chunks in
//! parallel; results are written in order, and at most a few batches are in flight (about
//! `4 × max(8 MiB, threads × chunk size)` of buffers), so memory is flat for a 10 GiB file.
//! Each chunk's share of the plaintext commitment is a BLAKE3 subtree hashed on the same thread
//! that encrypts it, so nothing is hashed twice or on one core only. [`encrypt_file`] and
//! [`decrypt_file`] go further on Unix: each worker reads and writes its own chunks with
//! positional I/O, so the copying in and out of the page cache is spread over the cores too.
//!
//! # Failure
//!
//! [`decrypt`] writes a chunk's plaintext only after that chunk authenticated, and stops at the
//! first failure with an error naming it and the chunk: [`Error::WrongKey`],
//! [`Error::ChunkTampered`], [`Error::ChunkOutOfOrder`], [`Error::DuplicateChunk`],
//! [`Error::Truncated`] (the final chunk is missing), [`Error::TruncatedChunk`],
//! [`Error::TrailingData`], [`Error::RootMismatch`], header errors. A stream cannot know it is
//! complete before it ends, so **on error the output already written must be discarded**;
//! [`decrypt_file`] writes to a temporary file and renames it only on success.
//!
#![doc = include_str!("../FORMAT.md")]

pub mod format;

mod commitment;
mod decrypt;
mod digest;
mod encrypt;
mod error;
mod file;
mod hex;
mod keys;
mod layout;
mod merkle;
mod pipeline;
#[cfg(unix)]
mod positional;
mod records;
mod seal;
mod util;

pub use commitment::{commit_plaintext, commit_plaintext_bytes};
pub use decrypt::decrypt;
pub use digest::{PlaintextCommitment, Root};
pub use encrypt::{EncryptParams, Summary, encrypt};
pub use error::{Error, Result};
pub use file::{decrypt_file, encrypt_file, encrypt_file_into};
pub use format::{DEFAULT_CHUNK_SIZE, HEADER_LEN, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
pub use keys::DataKey;
pub use merkle::{BlobInfo, compute_root, read_header, verify_root};
pub use seal::{
    PublicKey, SEAL_INFO, SEALED_KEY_LEN, SealedKey, SecretKey, generate_keypair, open_data_key,
    seal_data_key,
};
