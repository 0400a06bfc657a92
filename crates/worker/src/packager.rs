//! [`Packager`] is the iDAO's side: it watches `PermissionGranted` events naming the iDAO's
//! data address (and `FileResubmitted` events naming the iDAO), packages the files shared with
//! it into flows (`submitFlow`, paying [`flow_fee`]), and closes its flows that pass their
//! deadline (`finalizeFlow`).

use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::Result;
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, FILE_DISPUTED, FILE_NONE, FILE_RESUBMITTED, FLOW_DISPUTED, FLOW_PENDING,
    IDataRegistry as R, IVsc, VSC_ADDRESS, idao_data_address,
};
use lazai_client::Client;
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::{info, warn};

/// Blocks per `eth_getLogs` request (the node refuses ranges of 10,000 or more by default).
const LOG_SCAN_BLOCKS: u64 = 5_000;

/// What `submitFlow` must pay for a flow of iDAO whose data configuration is `config`:
/// `nodeFee × quorumSize` (saturating; the module refuses any other value).
pub fn flow_fee(config: &IVsc::DataConfig) -> U256 {
    config.nodeFee.saturating_mul(U256::from(config.quorumSize))
}

/// The iDAO's side (see the module docs).
pub struct Packager {
    client: Client,
    idao: U256,
    data_address: Address,
    poll: Duration,
    next_block: u64,
    pending: BTreeSet<U256>,
    open_flows: BTreeSet<U256>,
}

impl Packager {
    /// A packager signing with the iDAO owner's key.
    pub fn new(rpc: &str, owner: PrivateKeySigner, idao: U256, poll: Duration) -> Result<Self> {
        Ok(Self {
            client: Client::signing(rpc, owner, Duration::from_secs(60))?,
            idao,
            data_address: idao_data_address(idao),
            poll,
            next_block: 0,
            pending: BTreeSet::new(),
            open_flows: BTreeSet::new(),
        })
    }

    /// Polls until `stop` resolves.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        info!(idao = %self.idao, data_address = %self.data_address, "flow packager started");
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.poll().await {
                warn!(error = %format!("{e:#}"), "packager poll failed; retrying");
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Picks up newly shared files, submits them as one flow, and finalizes expired flows.
    /// Returns the flow it submitted, if any.
    pub async fn poll(&mut self) -> Result<Option<U256>> {
        let head = self.client.provider().get_block_number().await?;
        // In chunks under the node's `eth_getLogs` range limit; each chunk read is kept.
        while self.next_block <= head {
            let to = head.min(self.next_block + LOG_SCAN_BLOCKS - 1);
            let filter = Filter::new()
                .address(DATA_REGISTRY_ADDRESS)
                .event_signature(R::PermissionGranted::SIGNATURE_HASH)
                .topic2(self.data_address.into_word())
                .from_block(self.next_block)
                .to_block(to);
            for log in self.client.provider().get_logs(&filter).await? {
                if let Ok(e) = log.log_decode::<R::PermissionGranted>() {
                    self.pending.insert(e.inner.data.fileId);
                }
            }
            // Files their owners put back after a rejection as unavailable.
            let resubmitted = Filter::new()
                .address(VSC_ADDRESS)
                .event_signature(IVsc::FileResubmitted::SIGNATURE_HASH)
                .topic2(B256::from(self.idao))
                .from_block(self.next_block)
                .to_block(to);
            for log in self.client.provider().get_logs(&resubmitted).await? {
                if let Ok(e) = log.log_decode::<IVsc::FileResubmitted>() {
                    self.pending.insert(e.inner.data.fileId);
                }
            }
            self.next_block = to + 1;
        }
        self.finalize_expired(head).await?;
        // Statuses are read before anything leaves `pending`, so a failed read loses nothing.
        let mut ready = Vec::new();
        let mut taken = Vec::new();
        for &file in &self.pending {
            let status = self
                .client
                .call(VSC_ADDRESS, IVsc::fileStatusCall { fileId: file })
                .await?;
            if matches!(status.state, FILE_NONE | FILE_DISPUTED | FILE_RESUBMITTED) {
                ready.push(file);
            } else {
                taken.push(file);
            }
        }
        for file in taken {
            self.pending.remove(&file);
        }
        if ready.is_empty() {
            return Ok(None);
        }
        let batch: Vec<U256> = ready.into_iter().take(lazai_abi::MAX_FLOW_FILES).collect();
        for file in &batch {
            self.pending.remove(file);
        }
        self.submit(batch).await.map(Some)
    }

    /// Submits `files` as one flow, paying `k × nodeFee`.
    pub async fn submit(&mut self, files: Vec<U256>) -> Result<U256> {
        let config = self
            .client
            .call(VSC_ADDRESS, IVsc::dataConfigCall { idaoId: self.idao })
            .await?;
        let fee = flow_fee(&config);
        let n = files.len();
        let receipt = match self
            .client
            .send(
                VSC_ADDRESS,
                IVsc::submitFlowCall {
                    idaoId: self.idao,
                    fileIds: files.clone(),
                },
                fee,
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // Keep them for the next poll (a verifier may be missing for now).
                self.pending.extend(files);
                return Err(e);
            }
        };
        let submitted = lazai_client::event::<IVsc::FlowSubmitted>(&receipt, VSC_ADDRESS)?;
        info!(flow = %submitted.flowId, files = n, quorum = ?submitted.quorum, deadline = submitted.deadline, "flow submitted");
        self.open_flows.insert(submitted.flowId);
        Ok(submitted.flowId)
    }

    async fn finalize_expired(&mut self, head: u64) -> Result<()> {
        for id in self.open_flows.clone() {
            let flow = self
                .client
                .call(VSC_ADDRESS, IVsc::getFlowCall { flowId: id })
                .await?;
            if flow.status == FLOW_PENDING && head > flow.deadline {
                self.client
                    .send(
                        VSC_ADDRESS,
                        IVsc::finalizeFlowCall { flowId: id },
                        U256::ZERO,
                    )
                    .await?;
                warn!(flow = %id, "flow passed its deadline without agreement; disputed");
            } else if flow.status != FLOW_DISPUTED {
                if flow.status != FLOW_PENDING {
                    self.open_flows.remove(&id);
                }
                continue;
            }
            // A disputed flow's files go into a later flow.
            let files = self
                .client
                .call(VSC_ADDRESS, IVsc::flowFilesCall { flowId: id })
                .await?;
            self.pending.extend(files);
            self.open_flows.remove(&id);
        }
        Ok(())
    }
}
