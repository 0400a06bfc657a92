//! `lazai data contribute` and `lazai data resubmit`: check that a file can be registered and
//! paid for, encrypt and upload it, register and share it in one transaction (removing what was
//! uploaded if that fails), wait for the verdict; resubmit a file rejected as unavailable.

use super::common::{POLL, file_state_name, write_key_file};
use super::files::{check_file, file_status_json, print_file_status};
use crate::kit::args::TxArgs;
use crate::kit::client::signing;
use crate::kit::output::{Progress, print_json, print_tx_named, tx_json};
use crate::kit::units::{format_lazai, human_bytes, megabytes_per_second, parse_u256};
use alloy_primitives::U256;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, FILE_NONE, FILE_REJECTED, FILE_VERIFIED, IDataRegistry as R, IVsc as V,
    REASON_UNAVAILABLE, VSC_ADDRESS,
};
use lazai_blob::BlobStore;
use lazai_client::Client;
use lazai_crypto::{EncryptParams, PublicKey};
use lazai_worker::{
    ContributeProgress, Destination, Encrypted, Registered, Unaffordable, contribute_and_register,
    describe_reason,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ContributeArgs {
    /// The file to contribute.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The iDAO to contribute to.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: U256,
    /// Upload to this blob store instead of the iDAO's (its workers must trust it).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Plaintext bytes per encrypted chunk: a power of two from 1024 to 16777216 (default
    /// 1 MiB).
    #[arg(long, value_name = "BYTES")]
    chunk_size: Option<u32>,
    /// Return once the file is registered and shared, without waiting for its verdict.
    #[arg(long)]
    no_wait: bool,
    /// Where to write the file's data key (default: FILE.lazai-key next to FILE, else in the
    /// current directory). Never overwritten.
    #[arg(long, value_name = "FILE")]
    key_out: Option<PathBuf>,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct ResubmitArgs {
    /// File id (DataRegistry).
    #[arg(value_name = "FILE_ID", value_parser = parse_u256)]
    file: U256,
    #[command(flatten)]
    tx: TxArgs,
}

/// What `data contribute` shows and keeps on the way: a ticking line while the file is
/// encrypted, and the owner's data key file.
struct Steps<'a> {
    progress: &'a Progress,
    file: &'a Path,
    key_out: Option<&'a Path>,
}

impl ContributeProgress for Steps<'_> {
    fn encrypting<T>(
        &self,
        plaintext_bytes: u64,
        work: impl std::future::Future<Output = T>,
    ) -> impl std::future::Future<Output = T> {
        let label = format!("encrypting {}…", human_bytes(plaintext_bytes));
        async move { self.progress.ticking(&label, work).await }
    }

    fn encrypted(&mut self, encrypted: &Encrypted) -> Result<Option<PathBuf>> {
        let root_hex = encrypted.summary.root.to_hex();
        write_key_file(
            self.file,
            self.key_out,
            &encrypted.summary.data_key,
            &root_hex,
        )
        .map(Some)
    }

    fn registering(&self) {
        self.progress.step("uploading and registering…");
    }
}

/// The pre-check's refusal, with amounts in LAZAI.
fn unaffordable(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Unaffordable>() {
        Ok(u) => anyhow!(
            "{} holds {}, but registering the file may cost up to {} in gas ({} gas): fund \
             the account first; nothing was encrypted or uploaded",
            u.account,
            format_lazai(u.balance),
            format_lazai(u.max_cost),
            u.gas_limit
        ),
        Err(e) => e,
    }
}

pub(super) async fn data_contribute(a: ContributeArgs) -> Result<()> {
    let progress = Progress::new();
    let c = signing(&a.tx)?;
    let meta = std::fs::metadata(&a.file).with_context(|| format!("{}", a.file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", a.file.display());
    }
    if let Some(path) = &a.key_out
        && path.exists()
    {
        bail!(
            "--key-out {} already exists; a data key file is never overwritten",
            path.display()
        );
    }
    let params = match a.chunk_size {
        Some(n) => EncryptParams::new(n).context("--chunk-size")?,
        None => EncryptParams::default(),
    };
    // Everything that can be checked is checked before the store is written to.
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: a.idao })
        .await
        .with_context(|| {
            format!(
                "iDAO {} takes no contributions (it does not exist, or its owner has not \
                 configured it with `lazai idao configure`); nothing was uploaded",
                a.idao
            )
        })?;
    let recipient = PublicKey::from_bytes(config.workerKey.as_slice())
        .with_context(|| format!("iDAO {}'s worker key", a.idao))?;
    let location = match &a.store {
        Some(s) => s.clone(),
        None if config.storeUrl.is_empty() => {
            bail!("iDAO {} declares no blob store; give --store", a.idao)
        }
        None => config.storeUrl.clone(),
    };
    let store =
        BlobStore::open(&location).with_context(|| format!("open the blob store {location:?}"))?;
    let mut steps = Steps {
        progress: &progress,
        file: &a.file,
        key_out: a.key_out.as_deref(),
    };
    let to = Destination {
        idao: a.idao,
        recipient: &recipient,
        store: &store,
    };
    let work_dir = std::env::temp_dir();
    let Registered {
        file_id,
        contribution,
        receipt: added,
        data_address,
        elapsed,
        key_file,
    } = contribute_and_register(&c, &to, &a.file, &work_dir, params, &mut steps)
        .await
        .map_err(unaffordable)?;
    let key_file = key_file.unwrap_or_default();
    let hash = contribution.hash.to_string();
    let root_hex = contribution.summary.root.to_hex();
    let summary = &contribution.summary;
    let throughput = megabytes_per_second(summary.plaintext_size, elapsed);
    if !a.tx.json {
        println!("file id       {file_id}");
        println!("url           {}", contribution.url);
        println!("hash          {hash}");
        println!(
            "size          {} bytes plaintext, {} bytes ciphertext ({} chunks of {} bytes)",
            summary.plaintext_size,
            summary.ciphertext_size,
            summary.chunk_count,
            summary.chunk_size
        );
        println!(
            "throughput    {throughput:.1} MB/s of plaintext (encrypt + upload, {} ms)",
            elapsed.as_millis()
        );
        println!(
            "data key      {} (keep it: it decrypts the file)",
            key_file.display()
        );
        println!("idao          {} (data address {data_address})", a.idao);
        // One transaction registers the file and shares its sealed key with the iDAO.
        print_tx_named("tx register", &added);
    }
    let mut out = json!({
        "fileId": file_id.to_string(),
        "url": contribution.url,
        "hash": hash,
        "root": root_hex,
        "plaintextSize": summary.plaintext_size,
        "ciphertextSize": summary.ciphertext_size,
        "chunkCount": summary.chunk_count,
        "chunkSize": summary.chunk_size,
        "elapsedMs": elapsed.as_millis() as u64,
        "throughputMBps": (throughput * 10.0).round() / 10.0,
        "keyFile": key_file.display().to_string(),
        "idaoId": a.idao.to_string(),
        "dataAddress": data_address.to_string(),
        "addFileTx": added.transaction_hash.to_string(),
        "shareTx": added.transaction_hash.to_string(),
    });

    let status = if a.no_wait {
        c.call(VSC_ADDRESS, V::fileStatusCall { fileId: file_id })
            .await?
    } else {
        wait_for_verdict(&c, &a, file_id, &progress, &out).await?
    };
    if a.tx.json {
        if let (Some(o), Value::Object(extra)) = (out.as_object_mut(), file_status_json(&status)) {
            o.extend(extra);
        }
        return print_json(out, json!({}));
    }
    print_file_status(&status);
    Ok(())
}

/// Polls file `file_id`'s verification state until a verdict or `--timeout`, showing each
/// state it passes through; on timeout prints what is known (`registered`, as JSON with
/// `--json`) and says how to look again.
async fn wait_for_verdict(
    c: &Client,
    a: &ContributeArgs,
    file_id: U256,
    progress: &Progress,
    registered: &Value,
) -> Result<V::FileStatus> {
    progress.step("waiting for verification…");
    let deadline = Instant::now() + Duration::from_secs(a.tx.timeout);
    let mut last_state = FILE_NONE;
    loop {
        let st = c
            .call(VSC_ADDRESS, V::fileStatusCall { fileId: file_id })
            .await?;
        if matches!(st.state, FILE_VERIFIED | FILE_REJECTED) {
            return Ok(st);
        }
        if st.state != last_state {
            last_state = st.state;
            progress.step(&format!(
                "{} (flow {})…",
                file_state_name(st.state),
                st.flowId
            ));
        }
        if Instant::now() >= deadline {
            let state = file_state_name(st.state);
            if a.tx.json {
                print_json(registered.clone(), file_status_json(&st))?;
            } else {
                println!("state         {state}");
            }
            bail!(
                "file {file_id} is registered and shared with iDAO {}, but no verdict within {} \
                 s (state: {state}); it may still be verified: check with `lazai data status \
                 {file_id}`",
                a.idao,
                a.tx.timeout
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

pub(super) async fn data_resubmit(a: ResubmitArgs) -> Result<()> {
    let c = signing(&a.tx)?;
    check_file(&c, a.file).await?;
    let (file, st) = tokio::try_join!(
        c.call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: a.file }),
        c.call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file }),
    )?;
    // The module refuses all of these too; here they get a sentence.
    if file.ownerAddress != c.from() {
        bail!(
            "file {} belongs to {}: only its owner may resubmit it",
            a.file,
            file.ownerAddress
        );
    }
    if st.state != FILE_REJECTED {
        bail!(
            "file {} is {}: only a file rejected as unavailable can be resubmitted",
            a.file,
            file_state_name(st.state)
        );
    }
    if st.reason != REASON_UNAVAILABLE {
        bail!(
            "file {} was rejected because {} (reason {}): a verdict on its data is final; only \
             a file its verifiers could not read (reason {REASON_UNAVAILABLE}) can be resubmitted",
            a.file,
            describe_reason(st.reason),
            st.reason
        );
    }
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::resubmitFileCall { fileId: a.file },
            U256::ZERO,
        )
        .await?;
    let st = c
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: a.file })
        .await?;
    if a.tx.json {
        let mut out = tx_json(&receipt);
        if let Some(o) = out.as_object_mut() {
            o.insert("fileId".into(), a.file.to_string().into());
        }
        return print_json(out, file_status_json(&st));
    }
    print_tx_named("tx", &receipt);
    println!(
        "file {} is back for iDAO {}'s next flow (see `lazai data status {}`)",
        a.file, st.idaoId, a.file
    );
    print_file_status(&st);
    Ok(())
}
