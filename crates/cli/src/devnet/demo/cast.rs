//! The demo's cast (devnet accounts), its summary, and how amounts are printed.

use crate::kit::units::format_lazai;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::Result;
use lazai_client::Client;
use lazai_node::dev_account;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

pub(super) const TIMEOUT: Duration = Duration::from_secs(60);
/// The model class's share of the model's revenue (the rest goes to the data).
pub(super) const MODEL_SHARE_BPS: u16 = 2_000;
pub(super) const CONTRIBUTORS: [(&str, u32); 3] = [("Alice", 1), ("Bob", 2), ("Carol", 3)];
pub(super) const OWNER: u32 = 0;
pub(super) const CONSUMER: u32 = 4;
/// Erin, the iDAO's challenger of optimistic results.
pub(super) const CHALLENGER: u32 = 5;
pub(super) const MODEL_WORKER: u32 = 6;
pub(super) const VERIFIERS: [u32; 3] = [7, 8, 9];

/// One contributor's row of the summary.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributorRow {
    pub name: String,
    pub address: Address,
    pub file_id: u64,
    pub rows: u64,
    pub score: u16,
    pub token_id: u64,
    pub share_ratio: u64,
    /// Wei earned (claimed + unclaimed).
    pub earned: u128,
    pub claimed: u128,
    pub unclaimed: u128,
}

/// The demo's outcome (all amounts in wei).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub chain_id: u64,
    pub data_dir: PathBuf,
    pub idao_id: u64,
    pub dataset_class: u64,
    pub flow_id: u64,
    pub model_id: u64,
    pub model_class: u64,
    pub model_hash: B256,
    pub training_report_hash: B256,
    pub training_rows: u64,
    pub held_out_rows: u64,
    pub held_out_accuracy_int8: f64,
    pub held_out_accuracy_f32: f64,
    pub majority_baseline: f64,
    pub calls_bought: u64,
    pub calls_made: u64,
    pub calls_correct: u64,
    pub receipts_verified: u64,
    /// Calls proved in zero knowledge and verified by the chain's Verifier.
    #[serde(rename = "zk_verified_tasks")]
    pub zk_verified_tasks: u64,
    /// The optimistic step: results final, frauds proven, and where the slashed bond went.
    #[serde(flatten)]
    pub optimistic: super::optimistic::OptimisticOutcome,
    pub usage_batches: u64,
    pub usage_gas: u64,
    pub usage_gas_per_call: u64,
    pub price_per_call: u128,
    pub model_share_bps: u16,
    /// What the consumer paid for usage.
    pub paid: u128,
    /// What holders claimed.
    pub claimed: u128,
    /// What holders can still claim.
    pub unclaimed: u128,
    /// Sub-wei remainders the DAT keeps per class (`paid − claimed − unclaimed`).
    pub dust: u128,
    pub to_model: u128,
    pub to_data: u128,
    pub model_owner: Address,
    pub model_owner_claimed: u128,
    pub contributors: Vec<ContributorRow>,
    pub seconds: f64,
}

pub(super) fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

pub(super) fn signing(rpc: &str, i: u32) -> Result<Client> {
    Client::signing(rpc, account(i), TIMEOUT)
}

pub(super) fn lazai_text(wei: u128) -> String {
    format_lazai(U256::from(wei))
}

pub(super) fn u64_of(v: U256) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

pub(super) fn u128_of(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

pub(super) fn print_summary(s: &Summary) {
    println!();
    println!("Summary");
    println!("=======");
    println!(
        "Model {} (DAT class {}), trained on {} verified rows of iDAO {}: held-out accuracy {:.1}% (majority class {:.1}%)",
        s.model_id,
        s.model_class,
        s.training_rows + s.held_out_rows,
        s.idao_id,
        s.held_out_accuracy_int8 * 100.0,
        s.majority_baseline * 100.0
    );
    println!(
        "Usage: {} calls bought at {} each, {} made, {} receipts verified, {} proved in ZK and verified on chain; on chain in {} batch(es), {} gas per call",
        s.calls_bought,
        lazai_text(s.price_per_call),
        s.calls_made,
        s.receipts_verified,
        s.zk_verified_tasks,
        s.usage_batches,
        s.usage_gas_per_call
    );
    let o = &s.optimistic;
    println!(
        "Optimistic: {} result(s) final, {} fraud(s) proven; slashed {} = refunded {} + to the challenger {} + burned {}",
        o.optimistic_final,
        o.frauds_proven,
        lazai_text(o.slashed),
        lazai_text(o.refunded),
        lazai_text(o.to_challenger),
        lazai_text(o.burned)
    );
    println!();
    println!(
        "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  why",
        "holder", "address", "rows", "score", "DAT", "earned", "claimed"
    );
    let total_share: u64 = s.contributors.iter().map(|c| c.share_ratio).sum();
    for c in &s.contributors {
        println!(
            "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  share {}/{} of the data's {}%",
            c.name,
            c.address.to_string(),
            c.rows,
            c.score,
            c.token_id,
            lazai_text(c.earned),
            lazai_text(c.claimed),
            c.share_ratio,
            total_share,
            100 - s.model_share_bps / 100
        );
    }
    println!(
        "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  the model class's {}% (ownership DAT)",
        "iDAO",
        s.model_owner.to_string(),
        "",
        "",
        "",
        lazai_text(s.model_owner_claimed),
        lazai_text(s.model_owner_claimed),
        s.model_share_bps / 100
    );
    println!();
    println!(
        "paid {} wei = claimed {} + unclaimed {} + dust {} (sub-wei remainders kept by the DAT)",
        s.paid, s.claimed, s.unclaimed, s.dust
    );
    println!("({:.1} s)", s.seconds);
}
