//! `lazai flow submit|status`: package shared files into a flow (the iDAO owner) and show a
//! flow with its quorum's posts.

use super::common::POLL;
use crate::kit::args::{ReadArgs, TxArgs};
use crate::kit::client::{block_on, signing};
use crate::kit::output::{print_json, print_tx_named, tx_json};
use crate::kit::units::{LAZAI_DECIMALS, format_lazai, format_units, parse_u256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use lazai_abi::{FLOW_DISPUTED, FLOW_PENDING, FLOW_VERIFIED, IVsc as V, VSC_ADDRESS};
use lazai_client::{Client, event, resolve_signer};
use lazai_worker::{Packager, describe_reason};
use serde_json::json;

#[derive(Subcommand)]
pub enum FlowCommand {
    /// Package files shared with an iDAO into a flow (the iDAO's owner only); pays quorum ×
    /// node fee.
    Submit(FlowSubmitArgs),
    /// Show a flow: status, quorum and posts, deadline, fee, and the results once verified.
    Status(FlowStatusArgs),
}

/// The name of a flow status (`Flow.status`).
pub fn flow_status_name(status: u8) -> &'static str {
    match status {
        FLOW_PENDING => "pending",
        FLOW_VERIFIED => "verified",
        FLOW_DISPUTED => "disputed",
        _ => "unknown",
    }
}

pub fn run_flow(cmd: FlowCommand) -> Result<()> {
    block_on(async {
        match cmd {
            FlowCommand::Submit(a) => flow_submit(a).await,
            FlowCommand::Status(a) => flow_status(a).await,
        }
    })
}

#[derive(Args)]
#[command(group(ArgGroup::new("which").required(true).args(["files", "pending"])))]
pub struct FlowSubmitArgs {
    /// The iDAO.
    #[arg(long, value_name = "ID", value_parser = parse_u256)]
    idao: U256,
    /// The files, comma-separated, in flow order.
    #[arg(long, value_name = "ID,ID,…", value_delimiter = ',', value_parser = parse_u256)]
    files: Vec<U256>,
    /// Every file shared with the iDAO's data address that is not in a flow yet.
    #[arg(long)]
    pending: bool,
    #[command(flatten)]
    tx: TxArgs,
}

#[derive(Args)]
pub struct FlowStatusArgs {
    /// Flow id.
    #[arg(value_name = "FLOW_ID", value_parser = parse_u256)]
    flow: U256,
    #[command(flatten)]
    read: ReadArgs,
}

// ---- pure helpers --------------------------------------------------------------------------

pub(super) async fn flow_submit(a: FlowSubmitArgs) -> Result<()> {
    if a.pending {
        let signer = resolve_signer(a.tx.key.as_deref(), a.tx.key_file.as_deref())?;
        let mut packager = Packager::new(&a.tx.rpc, signer, a.idao, POLL)?;
        let Some(flow_id) = packager.poll().await? else {
            if a.tx.json {
                return print_json(
                    json!({ "idaoId": a.idao.to_string(), "flowId": null }),
                    json!({}),
                );
            }
            println!(
                "no files shared with iDAO {} are waiting for a flow",
                a.idao
            );
            return Ok(());
        };
        let c = Client::read(&a.tx.rpc)?;
        let flow = c
            .call(VSC_ADDRESS, V::getFlowCall { flowId: flow_id })
            .await?;
        let files = c
            .call(VSC_ADDRESS, V::flowFilesCall { flowId: flow_id })
            .await?;
        return print_submitted(&a, None, &flow, &files);
    }
    if a.files.is_empty() {
        bail!("--files is empty");
    }
    let c = signing(&a.tx)?;
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: a.idao })
        .await?;
    let fee = lazai_worker::flow_fee(&config);
    let receipt = c
        .send(
            VSC_ADDRESS,
            V::submitFlowCall {
                idaoId: a.idao,
                fileIds: a.files.clone(),
            },
            fee,
        )
        .await?;
    let submitted = event::<V::FlowSubmitted>(&receipt, VSC_ADDRESS)?;
    let flow = c
        .call(
            VSC_ADDRESS,
            V::getFlowCall {
                flowId: submitted.flowId,
            },
        )
        .await?;
    print_submitted(&a, Some(&receipt), &flow, &a.files)
}

pub(super) fn print_submitted(
    a: &FlowSubmitArgs,
    receipt: Option<&TransactionReceipt>,
    flow: &V::Flow,
    files: &[U256],
) -> Result<()> {
    let fee = flow.feePerNode * U256::from(flow.quorum.len());
    if a.tx.json {
        return print_json(
            receipt.map(tx_json).unwrap_or_else(|| json!({})),
            json!({
                "flowId": flow.id.to_string(),
                "idaoId": flow.idaoId.to_string(),
                "files": files.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "filesRoot": flow.filesRoot.to_string(),
                "quorum": flow.quorum.iter().map(|q| q.to_string()).collect::<Vec<_>>(),
                "threshold": flow.threshold,
                "deadline": flow.deadline,
                "feePerNodeWei": flow.feePerNode.to_string(),
                "feeWei": fee.to_string(),
            }),
        );
    }
    if let Some(r) = receipt {
        print_tx_named("tx", r);
    }
    println!("flow id       {}", flow.id);
    println!(
        "files         {}",
        files
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("files root    {}", flow.filesRoot);
    for (i, node) in flow.quorum.iter().enumerate() {
        let label = if i == 0 { "quorum" } else { "" };
        println!("{label:<13} {node}");
    }
    println!("threshold     {}", flow.threshold);
    println!("deadline      block {}", flow.deadline);
    println!(
        "fee           {} ({} per node)",
        format_lazai(fee),
        format_lazai(flow.feePerNode)
    );
    Ok(())
}

/// Each quorum member of `flow` with the results root it posted (zero when it did not).
pub(super) async fn quorum_posts(c: &Client, flow: &V::Flow) -> Result<Vec<(Address, B256)>> {
    let mut posts = Vec::with_capacity(flow.quorum.len());
    for &node in &flow.quorum {
        let root = c
            .call(
                VSC_ADDRESS,
                V::postedRootCall {
                    flowId: flow.id,
                    node,
                },
            )
            .await?;
        posts.push((node, root));
    }
    Ok(posts)
}

pub(super) async fn flow_status(a: FlowStatusArgs) -> Result<()> {
    let c = Client::read(&a.read.rpc)?;
    let flow = c
        .call(VSC_ADDRESS, V::getFlowCall { flowId: a.flow })
        .await?;
    let files = c
        .call(VSC_ADDRESS, V::flowFilesCall { flowId: a.flow })
        .await?;
    let posts = quorum_posts(&c, &flow).await?;
    let results = if flow.status == FLOW_VERIFIED {
        c.call(
            VSC_ADDRESS,
            V::flowResultsCall {
                flowId: a.flow,
                resultsRoot: flow.resultsRoot,
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let head = c
        .provider()
        .get_block_number()
        .await
        .with_context(|| format!("eth_blockNumber (via {})", a.read.rpc))?;
    let agrees = |root: &B256| !root.is_zero() && *root == flow.resultsRoot;
    if a.read.json {
        return print_json(
            json!({
                "flowId": flow.id.to_string(),
                "status": flow_status_name(flow.status),
                "statusCode": flow.status,
                "idaoId": flow.idaoId.to_string(),
                "submitter": flow.submitter.to_string(),
                "filesRoot": flow.filesRoot.to_string(),
                "resultsRoot": (!flow.resultsRoot.is_zero()).then(|| flow.resultsRoot.to_string()),
                "files": files.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                "threshold": flow.threshold,
                "posted": flow.posted.to_string(),
                "quorum": posts.iter().map(|(node, root)| json!({
                    "node": node.to_string(),
                    "postedRoot": (!root.is_zero()).then(|| root.to_string()),
                    "agrees": agrees(root),
                })).collect::<Vec<_>>(),
                "submittedAt": flow.submittedAt,
                "deadline": flow.deadline,
                "currentBlock": head,
                "feePerNodeWei": flow.feePerNode.to_string(),
                "feePerNode": format_units(flow.feePerNode, LAZAI_DECIMALS),
                "results": results.iter().map(|r| json!({
                    "fileId": r.fileId.to_string(),
                    "score": r.score,
                    "reason": r.reason,
                    "reasonText": describe_reason(r.reason),
                })).collect::<Vec<_>>(),
            }),
            json!({}),
        );
    }
    println!("flow          {}", flow.id);
    println!("status        {}", flow_status_name(flow.status));
    println!("idao          {}", flow.idaoId);
    println!("submitter     {}", flow.submitter);
    println!(
        "files         {}",
        files
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("files root    {}", flow.filesRoot);
    if !flow.resultsRoot.is_zero() {
        println!("results root  {}", flow.resultsRoot);
    }
    println!(
        "quorum        {} nodes, threshold {}, {} posted",
        flow.quorum.len(),
        flow.threshold,
        flow.posted
    );
    for (node, root) in &posts {
        let what = if root.is_zero() {
            "not posted".to_string()
        } else if agrees(root) {
            format!("{root} (agrees)")
        } else if flow.status == FLOW_VERIFIED {
            format!("{root} (differs)")
        } else {
            root.to_string()
        };
        println!("              {node} {what}");
    }
    let when = if flow.status != FLOW_PENDING {
        String::new()
    } else if head > flow.deadline {
        " (passed: anyone may finalize it)".to_string()
    } else {
        format!(" ({} blocks left)", flow.deadline - head)
    };
    println!("deadline      block {}{when}", flow.deadline);
    println!("fee per node  {}", format_lazai(flow.feePerNode));
    for (i, r) in results.iter().enumerate() {
        let label = if i == 0 { "results" } else { "" };
        let verdict = if r.score > 0 {
            format!("score {}", r.score)
        } else {
            format!("rejected: {} ({})", describe_reason(r.reason), r.reason)
        };
        println!("{label:<13} file {} {verdict}", r.fileId);
    }
    Ok(())
}
