//! What the `data`, `flow` and `idao` commands share: file states and their reasons, blob
//! URLs and ciphertext roots, the owner's data key file, and how often to poll.

use anyhow::{Context as _, Result, anyhow, bail};
use lazai_abi::{
    FILE_DISPUTED, FILE_IN_FLOW, FILE_NONE, FILE_REJECTED, FILE_RESUBMITTED, FILE_VERIFIED,
};
use lazai_crypto::{DataKey, Root};
use lazai_worker::{FileHash, describe_reason};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `data list` reads at most this many files (the newest).
pub const LIST_CAP: u64 = 10_000;
/// How often `data contribute` polls for the verdict.
pub(super) const POLL: Duration = Duration::from_millis(500);
/// Extension of the owner's data key file.
pub(super) const KEY_EXTENSION: &str = "lazai-key";

/// The name of a file state (`FileStatus.state`).
pub fn file_state_name(state: u8) -> &'static str {
    match state {
        FILE_NONE => "none",
        FILE_IN_FLOW => "in flow",
        FILE_VERIFIED => "verified",
        FILE_REJECTED => "rejected",
        FILE_DISPUTED => "disputed",
        FILE_RESUBMITTED => "resubmitted",
        _ => "unknown",
    }
}

/// The reason text of a file status: for a file with a verdict, what its code means.
pub(super) fn reason_text(state: u8, reason: u8) -> Option<&'static str> {
    matches!(state, FILE_VERIFIED | FILE_REJECTED).then(|| describe_reason(reason))
}

/// The blob store location of an object URL: the URL without its last `/name`.
pub fn store_of_url(url: &str) -> Result<&str> {
    let bad = || anyhow!("{url:?} is not a blob URL (scheme://…/name)");
    let (base, name) = url.rsplit_once('/').ok_or_else(bad)?;
    if name.is_empty() || !base.contains("://") {
        return Err(bad());
    }
    if base.to_ascii_lowercase().starts_with("memory:") {
        bail!("{url} is in an in-memory store, which only the process that wrote it can read");
    }
    Ok(base)
}

/// A ciphertext root given as 64 hex digits (`0x` optional) or as a whole `lzenc1:` hash.
pub fn parse_root(s: &str) -> Result<Root> {
    let t = s.trim();
    if t.contains(':') {
        return Ok(t.parse::<FileHash>()?.root);
    }
    Root::from_hex(t).with_context(|| format!("--root {s:?}: expected 64 hex digits"))
}

/// Where `data contribute` may write the data key of `input`, in order of preference: next to
/// the input (`FILE.lazai-key`, then `FILE.<root>.lazai-key` if taken), then the same names in
/// the current directory.
pub fn key_file_candidates(input: &Path, root_hex: &str) -> Vec<PathBuf> {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "contribution".to_string());
    let short: String = root_hex.trim_start_matches("0x").chars().take(16).collect();
    let next_to = match input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut out = Vec::new();
    for dir in [next_to, PathBuf::from(".")] {
        for file in [
            format!("{name}.{KEY_EXTENSION}"),
            format!("{name}.{short}.{KEY_EXTENSION}"),
        ] {
            let path = dir.join(file);
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// Creates `path` (which must not exist) readable and writable by its owner only, holding
/// `contents`.
pub(super) fn create_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Writes the data key to `explicit`, or to the first free, writable candidate.
pub(super) fn write_key_file(
    input: &Path,
    explicit: Option<&Path>,
    key: &DataKey,
    root_hex: &str,
) -> Result<PathBuf> {
    let text = format!("{}\n", key.to_hex());
    if let Some(path) = explicit {
        create_private(path, &text)
            .with_context(|| format!("write the data key to {}", path.display()))?;
        return Ok(path.to_path_buf());
    }
    let mut errors = Vec::new();
    for path in key_file_candidates(input, root_hex) {
        match create_private(&path, &text) {
            Ok(()) => return Ok(path),
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    bail!(
        "could not write the data key anywhere ({}); give --key-out",
        errors.join("; ")
    )
}
