//! `lazai data status|decrypt|list`: a file's verdict, proof and DAT; decrypting with the
//! owner's data key; listing files.

use super::common::{LIST_CAP, file_state_name, parse_root, reason_text, store_of_url};
use super::flow::quorum_posts;
use crate::kit::args::ReadArgs;
use crate::kit::output::{dash_if_zero, opt_u256, print_json};
use crate::kit::units::parse_u256;
use alloy_primitives::{Address, U256};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{ArgGroup, Args};
use lazai_abi::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, FILE_REJECTED, FILE_VERIFIED, IDataAnchoringToken as D,
    IDataRegistry as R, IVsc as V, VSC_ADDRESS, idao_data_address, proof_signer,
};
use lazai_blob::BlobStore;
use lazai_client::Client;
use lazai_crypto::{DataKey, decrypt_file};
use lazai_worker::{FileHash, describe_reason};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args)]
pub struct StatusArgs {
    /// File id (DataRegistry).
    #[arg(value_name = "FILE_ID", value_parser = parse_u256)]
    file: U256,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("key").required(true).args(["key_file", "data_key"])))]
pub struct DecryptArgs {
    /// A file id, or (with --root) the path of a local blob.
    #[arg(value_name = "FILE_ID_OR_BLOB_PATH")]
    target: String,
    /// A file holding the data key in hex (what `data contribute` wrote).
    #[arg(long, value_name = "KEYFILE")]
    key_file: Option<PathBuf>,
    /// The data key in hex (visible to other local users: prefer --key-file).
    #[arg(long, value_name = "HEX")]
    data_key: Option<String>,
    /// Where to write the plaintext (replaced only when decryption succeeds).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// The blob store to fetch from (default: the store the file's URL names).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// For a local blob: its ciphertext root (64 hex digits) or its lzenc1 hash.
    #[arg(long, value_name = "HEX")]
    root: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only files of this owner.
    #[arg(long, value_name = "ADDR")]
    owner: Option<Address>,
    /// Only files shared with, or verified through, this iDAO.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: Option<U256>,
    #[command(flatten)]
    read: ReadArgs,
}

/// The verification fields of a file status, as in `data status --json`.
pub(super) fn file_status_json(st: &V::FileStatus) -> Value {
    json!({
        "state": file_state_name(st.state),
        "stateCode": st.state,
        "idaoId": opt_u256(st.idaoId),
        "flowId": opt_u256(st.flowId),
        "score": st.score,
        "reason": st.reason,
        "reasonText": reason_text(st.state, st.reason),
        "tokenId": opt_u256(st.tokenId),
    })
}

pub(super) fn print_file_status(st: &V::FileStatus) {
    println!("state         {}", file_state_name(st.state));
    if !st.idaoId.is_zero() {
        println!("idao          {}", st.idaoId);
    }
    if !st.flowId.is_zero() {
        println!("flow          {}", st.flowId);
    }
    if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) {
        println!("score         {} / 10000", st.score);
        println!(
            "reason        {} ({})",
            st.reason,
            describe_reason(st.reason)
        );
    }
    println!("DAT token     {}", dash_if_zero(st.tokenId));
}

/// Whether file `id` exists: ids are 1..=filesCount.
pub(super) async fn check_file(c: &Client, id: U256) -> Result<()> {
    let count = c.call(DATA_REGISTRY_ADDRESS, R::filesCountCall {}).await?;
    if id.is_zero() || id > count {
        bail!("no file {id}: the DataRegistry holds files 1 to {count}");
    }
    Ok(())
}

pub(super) async fn data_status(a: StatusArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    check_file(&c, a.file).await?;
    let file = c
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: a.file })
        .await?;
    let st = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file })
        .await?;

    // The flow that gave the verdict, and who posted its anchored root.
    let mut flow_proof = None;
    if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) && !st.flowId.is_zero() {
        let flow = c
            .call(VSC_ADDRESS, V::getFlowCall { flowId: st.flowId })
            .await?;
        let posts = quorum_posts(&c, &flow).await?;
        flow_proof = Some((flow, posts));
    }
    // LazAI's SDK path: the DataRegistry's first proof.
    let registry_proof = c
        .call(
            DATA_REGISTRY_ADDRESS,
            R::getFileProofCall {
                fileId: a.file,
                index: U256::from(1),
            },
        )
        .await
        .ok();
    let dat = if st.tokenId.is_zero() {
        None
    } else {
        Some(
            c.call(
                DAT_ADDRESS,
                D::tokenInfoCall {
                    tokenId: st.tokenId,
                },
            )
            .await?,
        )
    };

    if a.read.json {
        let flow_json = flow_proof.as_ref().map(|(flow, posts)| {
            json!({
                "flowId": flow.id.to_string(),
                "resultsRoot": flow.resultsRoot.to_string(),
                "filesRoot": flow.filesRoot.to_string(),
                "threshold": flow.threshold,
                "quorum": posts.iter().map(|(node, root)| json!({
                    "node": node.to_string(),
                    "postedRoot": (!root.is_zero()).then(|| root.to_string()),
                    "agrees": *root == flow.resultsRoot && !root.is_zero(),
                })).collect::<Vec<_>>(),
            })
        });
        let registry_json = registry_proof.as_ref().map(|p| {
            json!({
                "index": "1",
                "score": p.data.score.to_string(),
                "signer": proof_signer(p).map(|s| s.to_string()),
                "proofUrl": p.data.proofUrl,
                "rewardProofIndex": opt_u256(file.proofIndex),
                "rewardAmount": file.rewardAmount.to_string(),
            })
        });
        let proof = if flow_json.is_none() && registry_json.is_none() {
            Value::Null
        } else {
            json!({ "flow": flow_json, "registry": registry_json })
        };
        let dat_json = dat.as_ref().map(|t| {
            json!({
                "tokenId": t.id.to_string(),
                "classId": t.classId.to_string(),
                "owner": t.owner.to_string(),
                "value": t.value.to_string(),
                "shareRatio": t.shareRatio.to_string(),
            })
        });
        return print_json(
            json!({
                "fileId": a.file.to_string(),
                "owner": file.ownerAddress.to_string(),
                "url": file.url,
                "hash": file.hash,
            }),
            {
                let mut v = file_status_json(&st);
                if let Some(o) = v.as_object_mut() {
                    o.insert("proof".into(), proof);
                    o.insert("dat".into(), dat_json.unwrap_or(Value::Null));
                }
                v
            },
        );
    }
    println!("file          {}", a.file);
    println!("owner         {}", file.ownerAddress);
    println!("url           {}", file.url);
    println!("hash          {}", file.hash);
    print_file_status(&st);
    if let Some((flow, posts)) = &flow_proof {
        println!("results root  {} (flow {})", flow.resultsRoot, flow.id);
        println!(
            "quorum        {} nodes, threshold {}",
            flow.quorum.len(),
            flow.threshold
        );
        for (node, root) in posts {
            let what = if root.is_zero() {
                "did not post"
            } else if *root == flow.resultsRoot {
                "posted it"
            } else {
                "posted another root"
            };
            println!("              {node} {what}");
        }
    }
    if let Some(p) = &registry_proof {
        let signer = proof_signer(p)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "invalid signature".to_string());
        println!("proof 1       score {} by {signer}", p.data.score);
    }
    if let Some(t) = &dat {
        println!(
            "DAT           class {}, owner {}, value {}, share {}",
            t.classId, t.owner, t.value, t.shareRatio
        );
    }
    Ok(())
}

pub(super) async fn data_decrypt(a: DecryptArgs) -> Result<()> {
    let key = match (&a.key_file, &a.data_key) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read the key file {}", path.display()))?;
            DataKey::from_hex(text.trim())
                .with_context(|| format!("the key file {} holds no data key", path.display()))?
        }
        (None, Some(hex)) => DataKey::from_hex(hex.trim()).context("--data-key")?,
        (None, None) => bail!("give --key-file KEYFILE or --data-key HEX"),
    };
    let mut fetched_dir = None;
    let (blob, root, commitment, file_id, url) = match &a.root {
        Some(root) => (
            PathBuf::from(&a.target),
            parse_root(root)?,
            None,
            None,
            None,
        ),
        None => {
            let id = parse_u256(&a.target).map_err(|_| {
                anyhow!(
                    "{:?} is not a file id; to decrypt a local blob, give --root (its ciphertext \
                     root or lzenc1 hash)",
                    a.target
                )
            })?;
            let c = Client::read(&a.read.rpc)?;
            check_file(&c, id).await?;
            let file = c
                .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: id })
                .await?;
            let hash: FileHash = file
                .hash
                .parse()
                .with_context(|| format!("file {id}'s on-chain hash {:?}", file.hash))?;
            let location = match &a.store {
                Some(s) => s.clone(),
                None => store_of_url(&file.url)?.to_string(),
            };
            let store = BlobStore::open(&location)
                .with_context(|| format!("open the blob store {location:?}"))?;
            let dir = tempfile::Builder::new()
                .prefix(".lazai-decrypt-")
                .tempdir()
                .context("make a temporary directory")?;
            let dest = dir.path().join("blob");
            store
                .fetch_verified(&file.url, &hash.root, u64::MAX, &dest)
                .await
                .with_context(|| format!("fetch file {id}"))?;
            fetched_dir = Some(dir);
            (
                dest,
                hash.root,
                Some(hash.commitment),
                Some(id),
                Some(file.url),
            )
        }
    };
    let out = a.out.clone();
    let src = blob.clone();
    let summary = tokio::task::spawn_blocking(move || decrypt_file(&src, &out, &key, Some(&root)))
        .await
        .context("the decryption task failed")?
        .map_err(|e| anyhow!("decrypt {}: {e}", a.target))?;
    drop(fetched_dir);
    if let Some(expected) = commitment
        && expected != summary.plaintext_commitment
    {
        bail!(
            "{} was decrypted to {}, but its plaintext commitment {} is not the one on chain ({})",
            a.target,
            a.out.display(),
            summary.plaintext_commitment.to_hex(),
            expected.to_hex()
        );
    }
    if a.read.json {
        return print_json(
            json!({
                "fileId": file_id.map(|id| id.to_string()),
                "url": url,
                "out": a.out.display().to_string(),
                "root": summary.root.to_hex(),
                "plaintextSize": summary.plaintext_size,
                "ciphertextSize": summary.ciphertext_size,
                "commitmentChecked": commitment.is_some(),
            }),
            json!({}),
        );
    }
    println!(
        "decrypted     {} bytes to {}",
        summary.plaintext_size,
        a.out.display()
    );
    println!("root          {}", summary.root.to_hex());
    if commitment.is_some() {
        println!("commitment    matches the chain");
    }
    Ok(())
}

/// One line of `data list`.
struct Row {
    id: U256,
    owner: Address,
    status: V::FileStatus,
    shared: bool,
}

async fn list_row(c: Client, id: U256, shared_with: Option<Address>) -> Result<Row> {
    let file = c
        .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: id })
        .await?;
    let status = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: id })
        .await?;
    let shared = match shared_with {
        Some(account) => !c
            .call(
                DATA_REGISTRY_ADDRESS,
                R::getFilePermissionCall {
                    fileId: id,
                    account,
                },
            )
            .await?
            .is_empty(),
        None => false,
    };
    Ok(Row {
        id,
        owner: file.ownerAddress,
        status,
        shared,
    })
}

pub(super) async fn data_list(a: ListArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let count = c.call(DATA_REGISTRY_ADDRESS, R::filesCountCall {}).await?;
    let first = if count > U256::from(LIST_CAP) {
        eprintln!("note: {count} files; reading the newest {LIST_CAP}");
        count - U256::from(LIST_CAP) + U256::from(1)
    } else {
        U256::from(1)
    };
    let data_address = a.idao.map(idao_data_address);
    let mut rows = Vec::new();
    let mut next = first;
    while next <= count {
        let mut batch = Vec::new();
        while next <= count && batch.len() < 32 {
            batch.push(tokio::spawn(list_row(c.clone(), next, data_address)));
            next += U256::from(1);
        }
        for task in batch {
            let row = task.await.context("a list task failed")??;
            let keep = a.owner.is_none_or(|o| o == row.owner)
                && a.idao.is_none_or(|i| row.status.idaoId == i || row.shared);
            if keep {
                rows.push(row);
            }
        }
    }
    if a.read.json {
        let files: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "fileId": r.id.to_string(),
                    "owner": r.owner.to_string(),
                    "state": file_state_name(r.status.state),
                    "idaoId": opt_u256(r.status.idaoId),
                    "score": r.status.score,
                    "tokenId": opt_u256(r.status.tokenId),
                })
            })
            .collect();
        return print_json(
            json!({ "filesCount": count.to_string(), "files": files }),
            json!({}),
        );
    }
    if rows.is_empty() {
        println!("no files");
        return Ok(());
    }
    println!(
        "{:<8} {:<42} {:<9} {:>5} {:>6}",
        "id", "owner", "state", "score", "token"
    );
    for r in &rows {
        let score = if matches!(r.status.state, FILE_VERIFIED | FILE_REJECTED) {
            r.status.score.to_string()
        } else {
            "-".to_string()
        };
        println!(
            "{:<8} {:<42} {:<9} {:>5} {:>6}",
            r.id.to_string(),
            r.owner.to_string(),
            file_state_name(r.status.state),
            score,
            dash_if_zero(r.status.tokenId)
        );
    }
    Ok(())
}

// ---- flow ----------------------------------------------------------------------------------
