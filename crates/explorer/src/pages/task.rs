//! A verification task: its mode (TEE, ZK, optimistic), the proof or the disputes with their
//! moves and clocks, and a countdown to the end of the challenge window.

use super::idao::parse_id;
use super::*;
use crate::index::Kind;
use lazai_abi as abi;
use lazai_abi::verifier as v;

pub fn mode_name(mode: u8) -> &'static str {
    match mode {
        abi::MODE_TEE => "TEE",
        abi::MODE_ZK => "ZK",
        abi::MODE_OPTIMISTIC => "optimistic",
        _ => "unknown",
    }
}

pub fn task_status(s: u8) -> Markup {
    match s {
        abi::TASK_PENDING => badge("pending", "warn"),
        abi::TASK_VERIFIED => badge("verified", "ok"),
        abi::TASK_REJECTED => badge("rejected", "bad"),
        abi::TASK_CHALLENGED => badge("challenged", "warn"),
        abi::TASK_FRAUD => badge("fraud proven", "bad"),
        _ => badge("unknown", "warn"),
    }
}

fn dispute_status(s: u8) -> Markup {
    match s {
        v::DISPUTE_OPEN => badge("open", "warn"),
        v::DISPUTE_WORKER_WON => badge("worker won", "ok"),
        v::DISPUTE_CHALLENGER_WON => badge("challenger won", "bad"),
        v::DISPUTE_MOOT => badge("moot", "warn"),
        _ => badge("unknown", "warn"),
    }
}

pub async fn page(state: &AppState, id: &str) -> PageResult {
    let id = parse_id(id)?;
    let rpc = &state.rpc;
    let task = not_found_on_revert(
        rpc.view(
            abi::VERIFIER_ADDRESS,
            abi::IVerifier::getTaskCall { taskId: id },
        )
        .await,
        || format!("no verification task {id}"),
    )?;
    let optimistic = if task.mode == abi::MODE_OPTIMISTIC {
        let (o, d) = tokio::join!(
            rpc.view(
                abi::VERIFIER_ADDRESS,
                abi::IVerifier::getOptimisticCall { taskId: id }
            ),
            rpc.view(
                abi::VERIFIER_ADDRESS,
                abi::IVerifier::disputesCall { taskId: id }
            ),
        );
        o.ok().map(|o| (o, d.unwrap_or_default()))
    } else {
        None
    };
    let circuit = if task.mode == abi::MODE_ZK && !task.circuitId.is_zero() {
        rpc.view(
            abi::VERIFIER_ADDRESS,
            abi::IVerifier::getCircuitCall {
                circuitId: task.circuitId,
            },
        )
        .await
        .ok()
    } else {
        None
    };
    let head = state.status.node_height().unwrap_or(0);
    let logs = state.index.object_logs(Kind::Task, id, None, PAGE_ROWS)?;
    let body = html! {
        h1 { "Verification task " (id) " " (task_status(task.status)) }
        (facts(vec![
            ("Mode", badge(mode_name(task.mode), "")),
            ("iDAO", object_link(state, "idao", task.idaoId)),
            ("Model", if task.modelId.is_zero() { text("—") } else { object_link(state, "model", task.modelId) }),
            ("Worker", addr_link(state, &task.worker)),
            ("Requester", addr_link(state, &task.requester)),
            ("Input commitment", mono(format!("{:#x}", task.inputCommitment))),
            ("Result hash", if task.resultHash.is_zero() { text("not posted") } else { mono(format!("{:#x}", task.resultHash)) }),
            ("Created", text(utc(task.createdAt))),
            ("Updated", text(utc(task.updatedAt))),
        ]))
        @if let Some(c) = &circuit {
            h2 { "ZK circuit" }
            (facts(vec![
                ("Circuit id", mono(format!("{:#x}", task.circuitId))),
                ("Setup", if c.dev { badge("dev setup (not a ceremony)", "warn") } else { badge("registered keys", "ok") }),
                ("Public inputs", text(c.publicInputs.to_string())),
                ("Registrant", addr_link(state, &c.registrant)),
            ]))
        }
        @if let Some((o, disputes)) = &optimistic {
            h2 { "Challenge window" }
            @let end = o.postedAt.saturating_add(o.window);
            (facts(vec![
                ("Posted at block", block_link(state, o.postedAt)),
                ("Window", text(format!("{} blocks, ends at block {end}", o.window))),
                ("Time left", html! {
                    span data-countdown-end=(end) data-head=(head) {
                        @if head >= end { "closed" } @else { (end - head) " blocks left" }
                    }
                }),
                ("Move time per party", text(format!("{} blocks", o.moveTime))),
                ("Bonds", text(format!("worker {}, challenger {}", lazai(o.workerBond), lazai(o.challengerBond)))),
                ("Layers", text(o.widths.len().saturating_sub(1).to_string())),
                ("Disputes", text(format!("{} ({} open)", o.disputes, o.openDisputes))),
                ("Slashed by", if o.slashedBy.is_zero() { text("—") } else { addr_link(state, &o.slashedBy) }),
            ]))
            @if !disputes.is_empty() {
                h2 { "Disputes" }
                figure {
                    (crate::svg::bisection(disputes, o.widths.len().saturating_sub(1)))
                    figcaption { "Each dispute narrows to one layer of the model (marked), then one unit of it is re-computed on chain." }
                }
                table class="list" {
                    thead { tr {
                        th scope="col" { "Challenger" } th scope="col" { "Status" } th scope="col" { "Layer" } th scope="col" { "Moves" }
                        th scope="col" { "Turn" } th scope="col" { "Clocks (worker / challenger)" } th scope="col" { "Unit: claimed → actual" }
                    } }
                    tbody {
                        @for d in disputes.iter().take(PAGE_ROWS) {
                            tr {
                                td { (addr_link(state, &d.challenger)) }
                                td { (dispute_status(d.status)) }
                                td { (d.layer) }
                                td { (d.moves) }
                                td { @match d.turn { v::TURN_WORKER => "worker", v::TURN_CHALLENGER => "challenger", _ => "—" } }
                                td { (d.workerClock) " / " (d.challengerClock) " blocks (last move at " (block_link(state, d.lastMoveAt)) ")" }
                                td { @if d.claimed == d.actual && d.moves == 0 { "—" } @else { (d.unit) ": " (d.claimed) " → " (d.actual) } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        (super::dat::history(state, &logs))
    };
    Ok(layout(state, &format!("Task {id}"), body))
}
