//! File-to-file helpers for the CLI: output appears at its path only when the whole operation
//! succeeded.
//!
//! Output goes to a temporary file in the destination's directory and is renamed over the
//! destination on success (an atomic replace on POSIX file systems); on any error the temporary
//! file is removed and the destination is untouched. Neither helper calls `fsync`: they
//! guarantee that a failed or tampered decryption leaves no plaintext behind, not durability
//! across a power loss.
//!
//! On Unix, when the source is a regular file, the workers read and write their own chunks with
//! positional I/O (see `positional.rs`); otherwise (a pipe, another platform) the streaming
//! [`encrypt`] and [`decrypt`] do the work. Both give the same blob format, root and errors.

use std::{fs::File, path::Path};

use crate::{
    decrypt::decrypt, digest::Root, encrypt::EncryptParams, encrypt::Summary, encrypt::encrypt,
    error::Result, keys::DataKey,
};

/// Encrypts the file `src` into the blob file `dst`.
pub fn encrypt_file(src: &Path, dst: &Path, params: &EncryptParams) -> Result<Summary> {
    write_atomically(dst, |out| encrypt_file_into(src, out, params))
}

/// Encrypts the file `src` into `out`, an empty file open for writing that the caller owns:
/// for a caller that already holds the file the blob must end up in (a staging file it will
/// rename itself), so that nothing is written twice or renamed over. On error `out` holds a
/// partial blob, chunks possibly out of order: the caller discards it.
pub fn encrypt_file_into(src: &Path, out: &mut File, params: &EncryptParams) -> Result<Summary> {
    let input = File::open(src)?;
    #[cfg(unix)]
    if input.metadata()?.is_file() {
        return crate::positional::encrypt(input, out, params);
    }
    encrypt(input, out, params)
}

/// Decrypts the blob file `src` into `dst`, which is created (or replaced) only if every chunk
/// authenticated, the stream was complete, and the root is `expected_root` when one is given.
/// Errors are those of [`decrypt`].
pub fn decrypt_file(
    src: &Path,
    dst: &Path,
    data_key: &DataKey,
    expected_root: Option<&Root>,
) -> Result<Summary> {
    let input = File::open(src)?;
    write_atomically(dst, |out| {
        #[cfg(unix)]
        if input.metadata()?.is_file() {
            use crate::error::Error;
            return match crate::positional::decrypt(input, out, data_key, expected_root) {
                Ok(summary) => Ok(summary),
                Err(err @ (Error::Io(_) | Error::WrongKey | Error::RootMismatch { .. })) => {
                    Err(err)
                }
                // Not a valid blob: let the streaming reader say exactly what is wrong and where.
                Err(err) => match decrypt(File::open(src)?, std::io::sink(), data_key, None) {
                    Err(precise) => Err(precise),
                    Ok(_) => Err(err),
                },
            };
        }
        decrypt(input, out, data_key, expected_root)
    })
}

fn write_atomically(
    dst: &Path,
    work: impl FnOnce(&mut File) -> Result<Summary>,
) -> Result<Summary> {
    let dir = match dst.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".lazai-")
        .suffix(".partial")
        .tempfile_in(dir)?;
    let summary = work(tmp.as_file_mut())?;
    tmp.persist(dst).map_err(|err| err.error)?;
    Ok(summary)
}
