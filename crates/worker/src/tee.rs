//! The worker's side of attestation: evidence from the platform (or the dev TEE), bound to
//! the worker's signing address, HPKE key and (as a VerifiedComputing node) RSA key, registered with VerifiedComputing for its iDAO
//! and refreshed before it ages out of the iDAO's TEE policy.

use alloy_primitives::{Address, B256, Bytes, U256};
use anyhow::{Context, Result, anyhow, bail};
use lazai_abi::{
    IDAO_REGISTRY_ADDRESS, ITeeRegistry as T, IVerifiedComputing as V, VERIFIED_COMPUTING_ADDRESS,
};
use lazai_attest::source::Source;
use lazai_attest::{Options, Policy, TcbStatus, binding};
use lazai_client::Client;
use std::sync::Arc;
use tracing::info;

use crate::sdk::node_key::NodeKey;

/// What a successful attestation established.
#[derive(Clone, Debug)]
pub struct Attested {
    /// `dev` for the simulated TEE.
    pub platform: &'static str,
    pub measurement_hash: B256,
    /// When the chain stops accepting it (Unix seconds).
    pub expires_at: u64,
    /// When the worker refreshes it: halfway through its life.
    pub refresh_at: u64,
}

/// Attests a worker for an iDAO.
#[derive(Clone, Debug)]
pub struct Attestor {
    pub source: Source,
    pub idao: U256,
    pub hpke: [u8; 32],
    /// The URL registered with the node record.
    pub url: String,
    /// Also be a VerifiedComputing node (LazAI SDK jobs) when governance allows the iDAO's
    /// nodes to register; otherwise only attest for the iDAO (its flows).
    pub register_node: bool,
    /// The node's RSA key, bound into the evidence and published as its `publicKey` when it
    /// registers as a node (LazAI's SDK wraps passwords to it).
    pub rsa_key: Option<Arc<NodeKey>>,
}

use alloy::providers::Provider as _;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Attestor {
    /// Gets fresh evidence, checks it as the chain will, and registers it
    /// (`VerifiedComputing.registerAttestedNode`). Refuses to use the dev TEE on a chain that
    /// does not accept it, and never falls back to dev when a hardware source fails.
    pub async fn attest(&self, client: &Client, chain_id: u64, me: Address) -> Result<Attested> {
        let policy = client
            .call(
                IDAO_REGISTRY_ADDRESS,
                T::teePolicyCall { idaoId: self.idao },
            )
            .await
            .with_context(|| {
                format!(
                    "read iDAO {}'s TEE policy (its owner sets one with `lazai attest policy set`)",
                    self.idao
                )
            })?;
        let dev_enabled = client
            .call(IDAO_REGISTRY_ADDRESS, T::devTeeEnabledCall {})
            .await?;
        if self.source.is_dev() && !dev_enabled {
            bail!(
                "no TEE platform found (checked {}, {}, {}, {}) and this chain does not accept \
                 the dev TEE (its genesis has no `dev_tee`): run the worker inside a TDX, \
                 SEV-SNP or Nitro TEE",
                lazai_attest::source::CONFIGFS_TSM,
                lazai_attest::source::DSTACK_SOCKET,
                lazai_attest::source::SEV_GUEST,
                lazai_attest::source::NSM
            );
        }
        // The chain checks the evidence's age against block time: take the latest block's
        // time, not this machine's clock (which may run ahead).
        let issued = match client
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
        {
            Ok(Some(block)) => block.header.timestamp,
            _ => unix_now(),
        };
        let as_node = self.register_node
            && client
                .call(
                    VERIFIED_COMPUTING_ADDRESS,
                    V::nodeIdaoAllowedCall { idaoId: self.idao },
                )
                .await?;
        // The RSA key is bound only where it is published: in a node registration.
        let rsa = self.rsa_key.as_ref().filter(|_| as_node);
        let rsa_hash = rsa.map(|k| k.public_key_hash());
        let report_data =
            binding::report_data_with_rsa(chain_id, me, &self.hpke, rsa_hash.as_ref(), issued);
        let source = self.source.clone();
        let evidence = tokio::task::spawn_blocking(move || source.evidence(&report_data))
            .await
            .map_err(|e| anyhow!("evidence task failed: {e}"))?
            .with_context(|| format!("get TEE evidence from {}", self.source.name()))?;
        // Checked here as the chain will check it, for a clear error before any gas is spent.
        let local = lazai_attest::verify(
            &evidence.evidence,
            &evidence.collateral,
            issued,
            Options {
                allow_dev: dev_enabled,
            },
        )
        .with_context(|| format!("the {} evidence does not verify", self.source.name()))?;
        let policy = Policy {
            platforms: policy.platforms,
            measurements: policy.measurements.clone(),
            min_tcb_status: TcbStatus::from_code(policy.minTcbStatus).unwrap_or_default(),
            max_age: policy.maxEvidenceAge,
        };
        policy
            .check(&local, &report_data, issued)
            .with_context(|| {
                format!(
                    "iDAO {}'s TEE policy refuses this worker's {} evidence (measurement {})",
                    self.idao, local.platform, local.measurement_hash
                )
            })?;
        let receipt = if as_node {
            client
                .send(
                    VERIFIED_COMPUTING_ADDRESS,
                    V::registerAttestedNodeCall {
                        idaoId: self.idao,
                        url: self.url.clone(),
                        hpkePublicKey: B256::from(self.hpke),
                        rsaPublicKey: rsa.map(|k| k.public_pem().to_string()).unwrap_or_default(),
                        evidence: Bytes::from(evidence.evidence),
                        collateral: Bytes::from(evidence.collateral),
                    },
                    U256::ZERO,
                )
                .await
                .context("register the attested node")?
        } else {
            client
                .send(
                    IDAO_REGISTRY_ADDRESS,
                    T::submitAttestationCall {
                        idaoId: self.idao,
                        hpkePublicKey: B256::from(self.hpke),
                        evidence: Bytes::from(evidence.evidence),
                        collateral: Bytes::from(evidence.collateral),
                    },
                    U256::ZERO,
                )
                .await
                .context("submit the attestation")?
        };
        let event = lazai_client::event::<T::NodeAttested>(&receipt, IDAO_REGISTRY_ADDRESS)?;
        let life = event.expiresAt.saturating_sub(issued);
        let attested = Attested {
            platform: local.platform.name(),
            measurement_hash: local.measurement_hash,
            expires_at: event.expiresAt,
            refresh_at: issued + life / 2,
        };
        info!(
            tee = attested.platform,
            idao = %self.idao,
            node = %me,
            measurement = %attested.measurement_hash,
            tcb = %local.tcb_status,
            expires_at = attested.expires_at,
            gas = receipt.gas_used,
            sdk_node = as_node,
            "attested: TEE evidence registered on chain"
        );
        Ok(attested)
    }

    /// When to try again after a failed refresh.
    pub fn retry_at() -> u64 {
        unix_now() + 60
    }

    /// Whether it is time to refresh.
    pub fn due(attested: &Attested) -> bool {
        unix_now() >= attested.refresh_at
    }
}
