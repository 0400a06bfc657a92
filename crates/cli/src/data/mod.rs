//! `lazai idao`, `lazai data` and `lazai flow`: LazAI Flows from the command line.
//!
//! - `lazai idao …` registers an iDAO in the iDAO registry, declares how its data is verified
//!   in the VSC (`configure`: schema, worker key, blob store, quorum, threshold, deadline, fee,
//!   usage quota), manages its verifier nodes and makes worker keys (`keygen`).
//! - `lazai data …` contributes a file to an iDAO (check that it can be registered and paid
//!   for, encrypt, upload, register it and share the sealed data key with the iDAO's data
//!   address in one `addFileWithPermissions`, wait for the verdict; a failed registration
//!   removes what was uploaded), shows a file's status, its proof and its DAT, decrypts a file
//!   with the owner's data key, lists files, and resubmits a file rejected as unavailable.
//! - `lazai flow …` packages shared files into a flow (the iDAO owner) and shows a flow.
//!
//! Signers, `--rpc`, `--timeout`, `--json` and the error reports are those of `lazai dat`
//! (see [`crate::dat`] and [`crate::kit`]): 256-bit numbers are decimal strings in JSON, a reverted call names the
//! module's custom error.
//!
//! Progress lines (`encrypting and uploading 1.0 GiB… 2.3 s`, redrawn while it runs) go to
//! stderr, and only when stderr is a terminal.

mod common;
mod contribute;
mod files;
mod flow;
mod idao;

pub use self::common::{LIST_CAP, file_state_name, key_file_candidates, parse_root, store_of_url};
use self::contribute::{data_contribute, data_resubmit};
use self::files::{data_decrypt, data_list, data_status};

pub use self::contribute::{ContributeArgs, ResubmitArgs};
pub use self::files::{DecryptArgs, ListArgs, StatusArgs};
pub use self::flow::{FlowCommand, FlowStatusArgs, FlowSubmitArgs, flow_status_name, run_flow};
pub use self::idao::{
    ConfigureArgs, IdaoCommand, IdaoShowArgs, KeygenArgs, RegisterArgs, VerifierAddArgs,
    VerifierCommand, VerifierRemoveArgs, parse_roles, parse_worker_key, role_names, run_idao,
};

use crate::kit::client::block_on;
use anyhow::Result;
use clap::Subcommand;

/// File states and flow status codes of the VSC.
pub use lazai_abi::{
    FILE_DISPUTED, FILE_IN_FLOW, FILE_NONE, FILE_REJECTED, FILE_RESUBMITTED, FILE_VERIFIED,
    FLOW_DISPUTED, FLOW_PENDING, FLOW_VERIFIED, REASON_UNAVAILABLE,
};

// ---- arguments ----------------------------------------------------------------------------

#[derive(Subcommand)]
pub enum DataCommand {
    /// Encrypt a file, upload it, register it and share it with an iDAO; then wait for its
    /// verdict (unless --no-wait).
    Contribute(ContributeArgs),
    /// Show a file: record, verification state, proof, DAT.
    Status(StatusArgs),
    /// Decrypt a registered file (by id) or a local blob with the owner's data key.
    Decrypt(DecryptArgs),
    /// List files (the newest 10,000 at most), optionally of one owner or one iDAO.
    List(ListArgs),
    /// Put back a file of yours that was rejected as unavailable (its verifiers could not read
    /// its blob), for the iDAO's next flow. A rejection for any other reason is final.
    Resubmit(ResubmitArgs),
}

// ---- commands ------------------------------------------------------------------------------

pub fn run_data(cmd: DataCommand) -> Result<()> {
    block_on(async {
        match cmd {
            DataCommand::Contribute(a) => data_contribute(a).await,
            DataCommand::Status(a) => data_status(a).await,
            DataCommand::Decrypt(a) => data_decrypt(a).await,
            DataCommand::List(a) => data_list(a).await,
            DataCommand::Resubmit(a) => data_resubmit(a).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::common::{create_private, reason_text, write_key_file};
    use super::*;
    use lazai_abi::{ROLE_APPLICATION, ROLE_COMPUTE, ROLE_DATA, ROLE_MODEL};
    use lazai_crypto::DataKey;
    use lazai_crypto::generate_keypair;
    use std::path::{Path, PathBuf};

    #[test]
    fn parses_role_lists() {
        assert_eq!(parse_roles("data"), Ok(ROLE_DATA));
        assert_eq!(
            parse_roles("Data, model,compute,application"),
            Ok(ROLE_DATA | ROLE_MODEL | ROLE_COMPUTE | ROLE_APPLICATION)
        );
        assert_eq!(
            parse_roles("app,data,data"),
            Ok(ROLE_APPLICATION | ROLE_DATA)
        );
        assert_eq!(parse_roles("none"), Ok(0));
        assert_eq!(parse_roles(""), Ok(0));
        for bad in ["data,", "storage", "data,,model", "1"] {
            assert!(parse_roles(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(role_names(ROLE_DATA | ROLE_COMPUTE), ["data", "compute"]);
        assert_eq!(role_names(0), Vec::<String>::new());
        assert_eq!(role_names(0x10 | ROLE_MODEL), ["model", "0x10"]);
        for mask in 0..16u8 {
            assert_eq!(parse_roles(&role_names(mask).join(",")), Ok(mask));
        }
    }

    #[test]
    fn names_states() {
        assert_eq!(file_state_name(FILE_NONE), "none");
        assert_eq!(file_state_name(FILE_IN_FLOW), "in flow");
        assert_eq!(file_state_name(FILE_VERIFIED), "verified");
        assert_eq!(file_state_name(FILE_REJECTED), "rejected");
        assert_eq!(file_state_name(FILE_DISPUTED), "disputed");
        assert_eq!(file_state_name(FILE_RESUBMITTED), "resubmitted");
        assert_eq!(file_state_name(9), "unknown");
        assert_eq!(flow_status_name(FLOW_PENDING), "pending");
        assert_eq!(flow_status_name(FLOW_VERIFIED), "verified");
        assert_eq!(flow_status_name(FLOW_DISPUTED), "disputed");
        assert_eq!(flow_status_name(0), "unknown");
        assert_eq!(reason_text(FILE_NONE, 0), None);
        assert_eq!(reason_text(FILE_REJECTED, 8), Some("the file is empty"));
        assert_eq!(
            reason_text(FILE_REJECTED, 9),
            Some("every row of the file was already contributed")
        );
        assert_eq!(
            reason_text(FILE_REJECTED, 10),
            Some("the file is not CSV with a header or JSON lines")
        );
        assert_eq!(reason_text(FILE_VERIFIED, 0), Some("the file was accepted"));
    }

    #[test]
    fn finds_the_store_of_a_url() {
        assert_eq!(
            store_of_url("file:///srv/blobs/ab.lzenc").expect("ok"),
            "file:///srv/blobs"
        );
        assert_eq!(
            store_of_url("s3://bucket/prefix/ab.lzenc").expect("ok"),
            "s3://bucket/prefix"
        );
        assert!(store_of_url("memory:///ab.lzenc").is_err());
        assert!(store_of_url("ab.lzenc").is_err());
        assert!(store_of_url("file:///srv/blobs/").is_err());
    }

    #[test]
    fn parses_worker_keys_and_roots() {
        let (_, public) = generate_keypair();
        let parsed = parse_worker_key(&public.to_hex()).expect("ok");
        assert_eq!(parsed.0, public.to_bytes());
        assert!(parse_worker_key("0x1234").is_err());
        assert!(parse_worker_key(&"0".repeat(64)).is_err());
        let hex = "ab".repeat(32);
        let root = parse_root(&hex).expect("hex root");
        assert_eq!(parse_root(&format!("0x{hex}")).expect("0x root"), root);
        let hash = format!("lzenc1:{hex}:{}", "cd".repeat(32));
        assert_eq!(parse_root(&hash).expect("hash"), root);
        assert!(parse_root("lzenc1:00:00").is_err());
        assert!(parse_root("xyz").is_err());
    }

    #[test]
    fn key_files_go_next_to_the_input_then_here() {
        let c = key_file_candidates(Path::new("/data/wine.csv"), "0xabcdef0123456789ffff");
        assert_eq!(
            c,
            [
                PathBuf::from("/data/wine.csv.lazai-key"),
                PathBuf::from("/data/wine.csv.abcdef0123456789.lazai-key"),
                PathBuf::from("./wine.csv.lazai-key"),
                PathBuf::from("./wine.csv.abcdef0123456789.lazai-key"),
            ]
        );
        let here = key_file_candidates(Path::new("wine.csv"), "00");
        assert_eq!(
            here,
            [
                PathBuf::from("./wine.csv.lazai-key"),
                PathBuf::from("./wine.csv.00.lazai-key")
            ]
        );
    }

    #[test]
    fn writes_private_files_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        create_private(&path, "secret\n").expect("created");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "secret\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(create_private(&path, "other").is_err(), "never overwrites");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "secret\n");
        let key = DataKey::generate();
        let input = dir.path().join("wine.csv");
        let first = write_key_file(&input, None, &key, "0x0011").expect("first");
        assert_eq!(first, dir.path().join("wine.csv.lazai-key"));
        let second = write_key_file(&input, None, &key, "0x0011").expect("second");
        assert_eq!(second, dir.path().join("wine.csv.0011.lazai-key"));
        let text = std::fs::read_to_string(&second).expect("read");
        assert!(DataKey::from_hex(text.trim()).expect("hex") == key);
    }
}
