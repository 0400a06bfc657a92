//! Object names: one flat level of conservative, URL-safe names.

use lazai_crypto::Root;

use crate::{error::Error, error::Result};

/// Longest object name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// Extension of blob objects (`<root-hex>.lzenc`).
pub const BLOB_EXTENSION: &str = "lzenc";

/// The conventional object name of the blob with ciphertext root `root`: 64 lowercase hex digits
/// (no `0x`) and `.lzenc`.
pub fn object_name(root: &Root) -> String {
    let hex = root.to_hex();
    let hex = hex.strip_prefix("0x").unwrap_or(&hex);
    format!("{hex}.{BLOB_EXTENSION}")
}

/// Checks an object name: 1 to [`MAX_NAME_LEN`] bytes of ASCII letters, digits, `.`, `_` and
/// `-`, not starting with `.` and without `..`.
///
/// So a name is never a path (no `/` or `\`), never escapes the store (no `..`), has no control
/// characters, and needs no escaping in a URL or on any filesystem.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("longer than 200 bytes")
    } else if name.contains('/') || name.contains('\\') {
        Some("contains a path separator")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else if name.contains("..") {
        Some("contains `..`")
    } else if name.starts_with('.') {
        Some("starts with `.`")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("only ASCII letters, digits, `.`, `_` and `-` are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}
