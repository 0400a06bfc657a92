//! `lazai keys`: validator consensus key files.

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use lazai_consensus::keys::{self, PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate a new ed25519 consensus key and write it to a key file (mode 0600).
    Generate {
        /// Key file to write.
        #[arg(long, default_value = "validator.key")]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a key file.
    Show {
        /// Key file to read.
        file: PathBuf,
    },
}

/// The key file format.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    /// Always `ed25519`.
    pub kind: String,
    /// Hex of the 32-byte private key. Keep this file secret.
    pub private_key: String,
    /// Hex of the 32-byte public key (the genesis `consensus_key`).
    pub public_key: String,
}

/// Reads a key file and checks that its public key matches its private key.
pub fn read_key(path: &Path) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read key file {}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .with_context(|| format!("parse key file {}", path.display()))?;
    if file.kind != "ed25519" {
        bail!(
            "key file {}: unsupported key kind {:?}",
            path.display(),
            file.kind
        );
    }
    let key = keys::private_key_from_hex(&file.private_key)
        .with_context(|| format!("key file {}", path.display()))?;
    let public = keys::public_key_to_hex(&keys::public_key(&key));
    if !public.eq_ignore_ascii_case(file.public_key.trim_start_matches("0x")) {
        bail!(
            "key file {}: public key does not match the private key",
            path.display()
        );
    }
    Ok(key)
}

/// Writes `contents` to `path`, readable by the owner only.
pub fn write_secret(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Generates a new consensus key, writes it to the key file `path` (overwriting it) and
/// returns its public key.
pub fn generate_key_file(path: &Path) -> Result<PublicKey> {
    let key = keys::generate_key();
    let public = keys::public_key(&key);
    let file = KeyFile {
        kind: "ed25519".into(),
        private_key: keys::private_key_to_hex(&key),
        public_key: keys::public_key_to_hex(&public),
    };
    write_secret(path, &serde_json::to_string_pretty(&file)?)?;
    Ok(public)
}

pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Generate { out, force } => {
            if out.exists() && !force {
                bail!("{} exists; pass --force to overwrite it", out.display());
            }
            let public = generate_key_file(&out)?;
            println!("wrote {}", out.display());
            println!("public key: {}", keys::public_key_to_hex(&public));
        }
        KeysCommand::Show { file } => {
            let key = read_key(&file)?;
            println!("{}", keys::public_key_to_hex(&keys::public_key(&key)));
        }
    }
    Ok(())
}
