//! A model trained on the wine data and registered by an attested model worker, on a running
//! devnet: where the inference benchmark (`lazai-bench inference`) and the services tests
//! start from.

use super::fixtures::{WINE, WINE_SCHEMA, dev_tee_idao};
use alloy_primitives::{B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result};
use lazai_abi::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, IVsc as V, MODEL_REGISTRY_ADDRESS,
    ROLE_MODEL, report_message,
};
use lazai_client::{Client, event};
use lazai_model::{Dataset, QuantizedMlp, TrainConfig, train};
use lazai_node::dev_account;
use lazai_types::DEVNET_CHAIN_ID;
use lazai_worker::{ModelWorker, WorkerConfig};
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn account(i: u32) -> Result<PrivateKeySigner> {
    dev_account(i).context("dev account")
}

/// The wine data (label: quality ≥ 6).
pub fn wine_dataset() -> Dataset {
    let mut d = Dataset {
        classes: 2,
        ..Default::default()
    };
    for line in WINE.lines().skip(1) {
        let v: Vec<f32> = line
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        if v.len() == 12 {
            d.features.push(v[..11].to_vec());
            d.labels.push(u32::from(v[11] >= 6.0));
        }
    }
    d
}

/// [`register_model`] of a model trained on the wine data with `seed`.
pub async fn registered_model(
    rpc: &str,
    dir: &Path,
    worker_index: u32,
    price: U256,
    seed: u64,
) -> Result<(ModelWorker, QuantizedMlp, M::Model)> {
    let data = wine_dataset();
    let model = tokio::task::spawn_blocking(move || {
        let f = train(
            &data,
            &TrainConfig {
                epochs: 5,
                seed,
                ..TrainConfig::default()
            },
        )?;
        Ok::<_, lazai_model::ModelError>(QuantizedMlp::quantize(&f, &data.features))
    })
    .await??;
    register_model(rpc, dir, worker_index, price, model).await
}

/// An iDAO (owner: account 1) with a dev-TEE policy, a dataset class, and `model` registered
/// by model worker `worker_index` (attested) at `price` per call, its lineage the dataset.
pub async fn register_model(
    rpc: &str,
    dir: &Path,
    worker_index: u32,
    price: U256,
    model: QuantizedMlp,
) -> Result<(ModelWorker, QuantizedMlp, M::Model)> {
    let owner = Client::signing(rpc, account(1)?, TIMEOUT)?;
    let (secret, public) = lazai_crypto::generate_keypair();
    let (idao, _) = dev_tee_idao(
        &owner,
        "bench-model",
        "ipfs://bench",
        ROLE_MODEL,
        V::DataParams {
            schema: WINE_SCHEMA.into(),
            workerKey: public.to_bytes().into(),
            storeUrl: String::new(),
            quorumSize: 1,
            threshold: 1,
            deadlineBlocks: 100,
            nodeFee: U256::ZERO,
            usageQuota: U256::from(1),
        },
    )
    .await?;
    let r = owner
        .send(
            DAT_ADDRESS,
            D::createClassCall {
                metadataURI: "ipfs://wine".into(),
                integrityHash: B256::ZERO,
                unitDecimals: 0,
                policyURI: String::new(),
            },
            U256::ZERO,
        )
        .await?;
    let dataset = event::<D::ClassCreated>(&r, DAT_ADDRESS)?.classId;
    owner
        .send(
            DAT_ADDRESS,
            D::mint_0Call {
                classId: dataset,
                to: account(2)?.address(),
                value: U256::from(1),
                shareRatio: U256::from(1),
                expireAt: 0,
            },
            U256::ZERO,
        )
        .await?;
    let cfg = WorkerConfig {
        tx_timeout: TIMEOUT,
        tee: lazai_attest::source::Source::Dev(lazai_attest::dev::Simulator::random()),
        ..WorkerConfig::new(
            rpc,
            idao,
            account(worker_index)?,
            secret,
            lazai_blob::Fetcher::new(Vec::new()),
            dir.join(format!("model-worker-{worker_index}")),
        )
    };
    let worker = ModelWorker::new(cfg).await?;
    let lineage = vec![M::Lineage {
        classId: dataset,
        weight: U256::from(1),
    }];
    let hash = B256::from(model.hash());
    let report = B256::repeat_byte(0x42);
    let msg = report_message(DEVNET_CHAIN_ID, idao, hash, report, &lineage);
    let sig = account(worker_index)?.sign_message_sync(msg.as_slice())?;
    let r = worker
        .client()
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::registerModelCall {
                idaoId: idao,
                modelHash: hash,
                reportHash: report,
                uri: String::new(),
                lineage,
                pricePerCall: price,
                modelShareBps: 2_000,
                reportSignature: sig.as_bytes().to_vec().into(),
            },
            U256::ZERO,
        )
        .await?;
    let id = event::<M::ModelRegistered>(&r, MODEL_REGISTRY_ADDRESS)?.modelId;
    let record = worker
        .client()
        .call(MODEL_REGISTRY_ADDRESS, M::getModelCall { modelId: id })
        .await?;
    Ok((worker, model, record))
}
