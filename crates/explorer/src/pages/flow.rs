//! A verification flow: its files, the quorum, each member's posted results root and whether
//! it agreed, the files' scores and reasons, and the anchored root.

use super::idao::parse_id;
use super::*;
use crate::index::Kind;
use lazai_abi as abi;

/// Short names of the reason codes verifiers post (0 = accepted).
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "accepted",
        1 => "unavailable",
        2 => "integrity",
        3 => "key rejected",
        4 => "encoding",
        5 => "schema mismatch",
        6 => "too few valid rows",
        7 => "too large",
        8 => "empty",
        9 => "duplicate",
        10 => "malformed",
        _ => "unknown",
    }
}

pub fn flow_status(s: u8) -> Markup {
    match s {
        abi::FLOW_PENDING => badge("pending", "warn"),
        abi::FLOW_VERIFIED => badge("verified", "ok"),
        abi::FLOW_DISPUTED => badge("disputed", "bad"),
        _ => badge("unknown", "warn"),
    }
}

fn file_state(s: u8) -> &'static str {
    match s {
        abi::FILE_IN_FLOW => "in flow",
        abi::FILE_VERIFIED => "verified",
        abi::FILE_REJECTED => "rejected",
        abi::FILE_DISPUTED => "disputed",
        abi::FILE_RESUBMITTED => "resubmitted",
        _ => "none",
    }
}

/// A quorum member's part in a flow.
pub struct Member {
    pub node: Address,
    pub root: B256,
}

impl Member {
    /// `Some(true)` agreed with the anchored root, `Some(false)` posted another, `None` silent.
    pub fn agreed(&self, anchored: &B256) -> Option<bool> {
        (!self.root.is_zero()).then(|| !anchored.is_zero() && self.root == *anchored)
    }
}

pub async fn page(state: &AppState, id: &str) -> PageResult {
    let id = parse_id(id)?;
    let rpc = &state.rpc;
    let flow = not_found_on_revert(
        rpc.view(abi::VSC_ADDRESS, abi::IVsc::getFlowCall { flowId: id })
            .await,
        || format!("no flow {id}"),
    )?;
    let files = rpc
        .view(abi::VSC_ADDRESS, abi::IVsc::flowFilesCall { flowId: id })
        .await
        .unwrap_or_default();
    let files: Vec<U256> = files.into_iter().take(PAGE_ROWS).collect();
    let status_calls: Vec<_> = files
        .iter()
        .map(|f| abi::IVsc::fileStatusCall { fileId: *f })
        .collect();
    let post_calls: Vec<_> = flow
        .quorum
        .iter()
        .map(|n| abi::IVsc::postedRootCall {
            flowId: id,
            node: *n,
        })
        .collect();
    let (statuses, posts) = tokio::try_join!(
        rpc.views(abi::VSC_ADDRESS, &status_calls),
        rpc.views(abi::VSC_ADDRESS, &post_calls)
    )?;
    let results = if flow.resultsRoot.is_zero() {
        Vec::new()
    } else {
        rpc.view(
            abi::VSC_ADDRESS,
            abi::IVsc::flowResultsCall {
                flowId: id,
                resultsRoot: flow.resultsRoot,
            },
        )
        .await
        .unwrap_or_default()
    };
    let members: Vec<Member> = flow
        .quorum
        .iter()
        .zip(posts)
        .map(|(node, root)| Member {
            node: *node,
            root: root.unwrap_or_default(),
        })
        .collect();
    let agreeing = members
        .iter()
        .filter(|m| m.agreed(&flow.resultsRoot) == Some(true))
        .count();
    let logs = state.index.object_logs(Kind::Flow, id, None, PAGE_ROWS)?;
    let body = html! {
        h1 { "Flow " (id) " " (flow_status(flow.status)) }
        (facts(vec![
            ("iDAO", object_link(state, "idao", flow.idaoId)),
            ("Submitter", addr_link(state, &flow.submitter)),
            ("Files", text(flow.fileCount.to_string())),
            ("Files root", mono(format!("{:#x}", flow.filesRoot))),
            ("Submitted at block", block_link(state, flow.submittedAt)),
            ("Deadline block", text(flow.deadline.to_string())),
            ("Fee per verifier", text(lazai(flow.feePerNode))),
            ("Threshold", text(format!("{} of {} ({} posted, best root has {} votes)", flow.threshold, flow.quorum.len(), flow.posted, flow.bestVotes))),
            ("Anchored results root", if flow.resultsRoot.is_zero() { text("none yet") } else { mono(format!("{:#x}", flow.resultsRoot)) }),
            ("DAT class", if flow.classId.is_zero() { text("—") } else { object_link(state, "class", flow.classId) }),
        ]))
        h2 { "Quorum agreement" }
        figure {
            (crate::svg::agreement(&members, &flow.resultsRoot))
            figcaption { (agreeing) " of " (members.len()) " members posted the anchored root; threshold " (flow.threshold) "." }
        }
        table class="list" {
            thead { tr { th scope="col" { "Verifier" } th scope="col" { "Posted root" } th scope="col" { "Verdict" } } }
            tbody {
                @for m in &members {
                    tr {
                        td { (addr_link(state, &m.node)) }
                        td class="mono" { @if m.root.is_zero() { "—" } @else { (short(&m.root)) } }
                        td { @match m.agreed(&flow.resultsRoot) {
                            Some(true) => (badge("agreed", "ok")),
                            Some(false) => (badge("dissented", "bad")),
                            None => (badge("silent", "warn")),
                        } }
                    }
                }
            }
        }
        h2 { "Files" }
        @if files.is_empty() { p class="muted" { "None." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "File" } th scope="col" { "State" } th scope="col" { "Score" } th scope="col" { "Reason" } th scope="col" { "DAT" } } }
                tbody {
                    @for (file, status) in files.iter().zip(&statuses) {
                        tr {
                            td { (file) }
                            @match status {
                                Ok(s) => {
                                    td { (file_state(s.state)) }
                                    td { (s.score) }
                                    td { (reason_name(s.reason)) }
                                    td { @if s.tokenId.is_zero() { "—" } @else { (object_link(state, "token", s.tokenId)) } }
                                }
                                Err(_) => { td colspan="4" { "unknown" } }
                            }
                        }
                    }
                }
            }
        }
        @if !results.is_empty() {
            h2 { "Anchored results" }
            table class="list" {
                thead { tr { th scope="col" { "File" } th scope="col" { "Score" } th scope="col" { "Reason" } } }
                tbody {
                    @for r in results.iter().take(PAGE_ROWS) {
                        tr { td { (r.fileId) } td { (r.score) } td { (reason_name(r.reason)) } }
                    }
                }
            }
        }
        h2 { "History" }
        (super::dat::history(state, &logs))
    };
    Ok(layout(state, &format!("Flow {id}"), body))
}
