//! An iDAO: owner, schema, TEE policy, attested workers with their platform (the simulated
//! `dev` platform marked as such), verifiers, flows, models, tasks and stake.

use super::*;
use crate::index::Kind;
use lazai_abi as abi;

/// An object id: decimal, or hex with `0x`.
pub fn parse_id(s: &str) -> Result<U256, PageError> {
    let s = s.trim();
    let bad = || PageError::BadRequest(format!("{:?} is not an id (a whole number)", clip(s, 80)));
    let parsed = match s.strip_prefix("0x") {
        Some(hex) if hex.len() <= 64 && !hex.is_empty() => U256::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None if s.len() <= 78 && !s.is_empty() => U256::from_str_radix(s, 10).ok(),
        None => None,
    };
    parsed.ok_or_else(bad)
}

pub fn platform_name(platform: u8) -> &'static str {
    match platform {
        1 => "dev",
        2 => "SGX",
        3 => "TDX",
        4 => "SEV-SNP",
        5 => "Nitro",
        _ => "unknown",
    }
}

/// A platform badge; `dev` is a simulated TEE and says so.
pub fn platform_badge(platform: u8) -> Markup {
    if platform == 1 {
        badge("dev (simulated, not a real TEE)", "warn")
    } else {
        badge(platform_name(platform), "ok")
    }
}

fn roles(r: u8) -> String {
    let names: Vec<&str> = [
        (abi::ROLE_DATA, "data"),
        (abi::ROLE_MODEL, "model"),
        (abi::ROLE_COMPUTE, "compute"),
        (abi::ROLE_APPLICATION, "application"),
    ]
    .iter()
    .filter(|(bit, _)| r & bit != 0)
    .map(|(_, n)| *n)
    .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

pub fn id_list(state: &AppState, kind: &str, ids: &[U256]) -> Markup {
    html! {
        @if ids.is_empty() { p class="muted" { "None." } }
        @else { ul class="inline" { @for id in ids { li { (object_link(state, kind, *id)) } } } }
    }
}

pub async fn page(state: &AppState, id: &str) -> PageResult {
    let id = parse_id(id)?;
    let rpc = &state.rpc;
    let idao = not_found_on_revert(
        rpc.view(
            abi::IDAO_REGISTRY_ADDRESS,
            abi::IIdaoRegistry::getIdaoCall { idaoId: id },
        )
        .await,
        || format!("no iDAO {id}"),
    )?;
    let (configured, policy, verifiers) = tokio::join!(
        rpc.view(abi::VSC_ADDRESS, abi::IVsc::dataConfigCall { idaoId: id }),
        rpc.view(
            abi::IDAO_REGISTRY_ADDRESS,
            abi::ITeeRegistry::teePolicyCall { idaoId: id }
        ),
        rpc.view(abi::VSC_ADDRESS, abi::IVsc::verifiersCall { idaoId: id }),
    );
    let config = configured.ok();
    let policy = policy.ok();
    let verifiers = verifiers.unwrap_or_default();
    let workers: Vec<Address> = state
        .index
        .children(Kind::Idao, id, Kind::Worker, PAGE_ROWS)?
        .into_iter()
        .map(|w| Address::from_slice(&w.to_be_bytes::<32>()[12..]))
        .collect();
    let attestation_calls: Vec<_> = workers
        .iter()
        .map(|w| abi::ITeeRegistry::attestationOfCall {
            idaoId: id,
            node: *w,
        })
        .collect();
    let attestations = rpc
        .views(abi::IDAO_REGISTRY_ADDRESS, &attestation_calls)
        .await?;
    let flows = state.index.children(Kind::Idao, id, Kind::Flow, 20)?;
    let models = state.index.children(Kind::Idao, id, Kind::Model, 20)?;
    let tasks = state.index.children(Kind::Idao, id, Kind::Task, 20)?;
    let head_time = state
        .index
        .latest_blocks(None, 1)?
        .first()
        .map_or(0, |b| b.timestamp);
    let name = clip(&idao.name, 80);
    let body = html! {
        h1 { "iDAO " (id) ": " span class="str" { (name) } }
        @if idao.jailed { p class="warn" { "Jailed: it no longer validates." } }
        (facts(vec![
            ("Owner", addr_link(state, &idao.owner)),
            ("Roles", text(roles(idao.roles))),
            ("Metadata URI", mono(idao.metadataUri.clone())),
            ("Stake", text(format!("{} bonded, {} unbonding", lazai(idao.bonded), lazai(idao.unbonding)))),
            ("Consensus key", if idao.consensusKey.is_zero() { text("none (not a validator)") } else { mono(format!("{:#x}", idao.consensusKey)) }),
            ("P2P address", mono(idao.p2pAddress.clone())),
        ]))
        h2 { "Data" }
        @match &config {
            Some(c) => (facts(vec![
                ("Schema", html! { pre class="code" { (clip(&c.schema, 2000)) } }),
                ("Quorum", text(format!("{} of {} verifiers must agree", c.threshold, c.quorumSize))),
                ("Deadline", text(format!("{} blocks", c.deadlineBlocks))),
                ("Fee per verifier", text(lazai(c.nodeFee))),
                ("Usage quota per DAT", text(c.usageQuota.to_string())),
                ("DAT class", if c.classId.is_zero() { text("—") } else { object_link(state, "class", c.classId) }),
                ("Blob store", mono(c.storeUrl.clone())),
            ])),
            None => p class="muted" { "Not configured for data contributions." },
        }
        h2 { "TEE policy" }
        @match &policy {
            Some(p) => (facts(vec![
                ("Platforms", text(platforms(p.platforms))),
                ("Measurements", html! { @if p.measurements.is_empty() { "any" } @else { ul { @for m in p.measurements.iter().take(16) { li class="mono" { (format!("{m:#x}")) } } } } }),
                ("Minimum TCB status", text(p.minTcbStatus.to_string())),
                ("Maximum evidence age", text(format!("{} s", p.maxEvidenceAge))),
            ])),
            None => p class="muted" { "No policy set." },
        }
        h2 { "Attested workers" }
        @if workers.is_empty() { p class="muted" { "None." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "Worker" } th scope="col" { "Platform" } th scope="col" { "TCB" } th scope="col" { "Measurement" } th scope="col" { "Valid until" } } }
                tbody {
                    @for (w, a) in workers.iter().zip(&attestations) {
                        tr {
                            td { (addr_link(state, w)) }
                            @match a {
                                Ok(a) => {
                                    td { (platform_badge(a.platform)) }
                                    td { (a.tcbStatus) }
                                    td class="mono" { (short(&a.measurementHash)) }
                                    td { (utc(a.notAfter)) @if a.notAfter <= head_time { " " (badge("expired", "bad")) } }
                                }
                                Err(_) => { td colspan="4" { "attestation revoked or expired" } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Verifiers" }
        @if verifiers.is_empty() { p class="muted" { "None." } }
        @else { ul { @for v in verifiers.iter().take(PAGE_ROWS) { li { (addr_link(state, v)) } } } }
        h2 { "Flows" } (id_list(state, "flow", &flows))
        h2 { "Models" } (id_list(state, "model", &models))
        h2 { "Verification tasks" } (id_list(state, "task", &tasks))
    };
    Ok(layout(state, &format!("iDAO {id}"), body))
}

fn platforms(mask: u32) -> String {
    let names: Vec<&str> = (1u8..=5)
        .filter(|p| mask & (1 << p) != 0)
        .map(platform_name)
        .collect();
    if names.is_empty() {
        format!("mask {mask:#x}")
    } else {
        names.join(", ")
    }
}
