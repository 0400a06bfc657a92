//! The demo's fixtures, which tests and benchmarks start from too: the wine-quality data set
//! and its schema, a contributed file, an iDAO with a dev-TEE policy, a flow's verdict.

use alloy_primitives::U256;
use anyhow::{Result, anyhow, bail};
use lazai_abi::{
    IDAO_REGISTRY_ADDRESS, IIdaoRegistry as G, ITeeRegistry, IVsc as V, TeePolicy, VSC_ADDRESS,
};
use lazai_blob::BlobStore;
use lazai_client::{Client, event};
use lazai_crypto::EncryptParams;
use lazai_worker::{Destination, contribute_and_register};
use std::path::Path;
use std::time::{Duration, Instant};

/// The wine-quality data set (UCI, red), shipped with the worker's tests.
pub const WINE: &str = include_str!("../../../../worker/testdata/winequality-red.csv");
/// Its schema, as the iDAO declares it.
pub const WINE_SCHEMA: &str =
    include_str!("../../../../worker/testdata/winequality-red.schema.json");

/// Header plus data rows `range` of the wine file.
pub fn wine_slice(range: std::ops::Range<usize>) -> String {
    let mut lines = WINE.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    let mut out = format!("{header}\n");
    for row in &rows[range] {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// Encrypts and uploads `text` for `idao`, registers it and shares it with the iDAO in one
/// transaction; returns the file id.
pub async fn submit_file(
    c: &Client,
    store: &BlobStore,
    idao: U256,
    dir: &Path,
    text: &str,
) -> Result<U256> {
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: idao })
        .await?;
    let recipient = lazai_crypto::PublicKey::from_bytes(config.workerKey.as_slice())
        .map_err(|e| anyhow!("the iDAO's worker key: {e}"))?;
    let path = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::write(&path, text)?;
    let to = Destination {
        idao,
        recipient: &recipient,
        store,
    };
    let registered =
        contribute_and_register(c, &to, &path, dir, EncryptParams::default(), &mut ()).await?;
    Ok(registered.file_id)
}

/// Registers an iDAO as `owner`, declares how its data is verified (`params`) and sets a
/// dev-TEE policy (any measurement, an hour of evidence age); its id and data configuration.
pub async fn dev_tee_idao(
    owner: &Client,
    name: &str,
    metadata_uri: &str,
    roles: u8,
    params: V::DataParams,
) -> Result<(U256, V::DataConfig)> {
    let r = owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            G::registerIdao_1Call {
                name: name.into(),
                metadataUri: metadata_uri.into(),
                roles,
            },
            U256::ZERO,
        )
        .await?;
    let idao = event::<G::IdaoRegistered>(&r, IDAO_REGISTRY_ADDRESS)?.idaoId;
    owner
        .send(
            VSC_ADDRESS,
            V::configureIdaoCall {
                idaoId: idao,
                params,
            },
            U256::ZERO,
        )
        .await?;
    owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            ITeeRegistry::setTeePolicyCall {
                idaoId: idao,
                policy: TeePolicy {
                    platforms: lazai_attest::Platform::Dev.bit(),
                    measurements: Vec::new(),
                    minTcbStatus: 0,
                    maxEvidenceAge: 3_600,
                },
            },
            U256::ZERO,
        )
        .await?;
    let config = owner
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: idao })
        .await?;
    Ok((idao, config))
}

/// Waits until flow `flow` is no longer pending.
pub async fn wait_flow(c: &Client, flow: U256, timeout: Duration) -> Result<V::Flow> {
    let deadline = Instant::now() + timeout;
    loop {
        let f = c.call(VSC_ADDRESS, V::getFlowCall { flowId: flow }).await?;
        if f.status != 1 {
            return Ok(f);
        }
        if Instant::now() > deadline {
            bail!("flow {flow} still pending after {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
