//! LazAI's SDK path for files in this network's format: VerifiedComputing jobs assigned to
//! this worker whose file carries a data key sealed to it get a proof (`addProof`, EIP-191
//! over the `ProofData`, score from the same verification) and `completeJob`.

use super::{Worker, log_verdict};
use crate::sdk::proof_api::claim_job;
use alloy_primitives::{Bytes, U256};
use alloy_signer::SignerSync;
use anyhow::Result;
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, IDataRegistry as R, IVerifiedComputing as V, VERIFIED_COMPUTING_ADDRESS,
    proof_digest,
};
use std::collections::HashSet;
use std::sync::Arc;
use tracing::{info, warn};

impl Worker {
    pub(super) async fn poll_jobs(&mut self) -> Result<()> {
        let count = self
            .client
            .call(VERIFIED_COMPUTING_ADDRESS, V::jobsCountCall {})
            .await?;
        while self.next_job <= count {
            self.retry_jobs.insert(self.next_job);
            self.next_job += U256::from(1);
        }
        for job in std::mem::take(&mut self.retry_jobs) {
            match self.serve_job(job).await {
                Ok(true) => {}
                // Its file is not in this network's format yet: the SDK's `POST /proof`
                // serves it, or its owner grants this node a sealed key later.
                Ok(false) => {
                    self.retry_jobs.insert(job);
                }
                Err(e) => {
                    warn!(job = %job, error = %format!("{e:#}"), "job not served yet; will retry");
                    self.retry_jobs.insert(job);
                }
            }
        }
        Ok(())
    }

    /// Serves job `id` if it is this node's and open; `false` when it must wait (its file has
    /// no data key sealed to this node, or the proof API is serving it now).
    async fn serve_job(&mut self, id: U256) -> Result<bool> {
        let job = self
            .client
            .call(VERIFIED_COMPUTING_ADDRESS, V::getJobCall { jobId: id })
            .await?;
        if job.nodeAddress != self.me || job.status != V::JobStatus::Submitted {
            return Ok(true);
        }
        if !self.proved_jobs.contains(&id) {
            let sealed = self
                .client
                .call(
                    DATA_REGISTRY_ADDRESS,
                    R::getFilePermissionCall {
                        fileId: job.fileId,
                        account: self.me,
                    },
                )
                .await?;
            if sealed.is_empty() {
                return Ok(false);
            }
        }
        let busy = self.busy.clone();
        let Some(_busy) = claim_job(&busy, id) else {
            return Ok(false);
        };
        if !self.proved_jobs.contains(&id) && !self.prove_job(id, job.fileId).await? {
            return Ok(true);
        }
        // A retry after a failed `completeJob` starts here: its proof is already on chain,
        // and a second `addProof` for the job would be refused.
        self.client
            .send(
                VERIFIED_COMPUTING_ADDRESS,
                V::completeJobCall { jobId: id },
                U256::ZERO,
            )
            .await?;
        self.proved_jobs.remove(&id);
        info!(job = %id, file = %job.fileId, "job completed");
        Ok(true)
    }

    /// Verifies job `id`'s file and posts the signed proof; `false` when the file is rejected
    /// (a proof's score is at least 1), which leaves the job to its owner to cancel.
    async fn prove_job(&mut self, id: U256, file: U256) -> Result<bool> {
        let schema = Arc::new(self.schema().await?);
        let verdict = self
            .verify_file(
                file,
                self.me,
                &schema,
                &Arc::new(HashSet::new()),
                self.give_up(),
            )
            .await?;
        log_verdict(file, &verdict);
        if verdict.score == 0 {
            warn!(job = %id, file = %file, reason = %verdict.reason, "no proof for a rejected file; the job owner may cancel it");
            return Ok(false);
        }
        let url = self
            .client
            .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: file })
            .await?
            .url;
        let data = R::ProofData {
            id: file,
            score: U256::from(verdict.score),
            fileUrl: url,
            proofUrl: format!("lazai://job/{id}/worker/{}", self.me),
        };
        let (_, digest) = proof_digest(&data);
        let signature = self.cfg.signer.sign_hash_sync(&digest)?;
        let proof = R::Proof {
            signature: Bytes::from(signature.as_bytes().to_vec()),
            data,
        };
        self.client
            .send(
                DATA_REGISTRY_ADDRESS,
                R::addProofCall {
                    fileId: file,
                    proof,
                },
                U256::ZERO,
            )
            .await?;
        self.proved_jobs.insert(id);
        info!(job = %id, file = %file, score = verdict.score, "proof posted");
        Ok(true)
    }
}
