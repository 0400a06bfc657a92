//! A model: hashes, training report, lineage drawn as a graph from the dataset classes to the
//! model (following classes that are themselves models' classes), price, calls and revenue
//! split.

use super::idao::parse_id;
use super::*;
use crate::index::Kind;
use crate::svg::{LineageEdge, LineageGraph};
use lazai_abi as abi;

/// Models followed up the lineage.
const MAX_LINEAGE_MODELS: usize = 12;

/// The lineage graph of `root`: its dataset classes, and for each class that is a model's
/// class, that model's own lineage, breadth first.
async fn lineage(
    state: &AppState,
    root: &abi::IModelRegistry::Model,
) -> Result<LineageGraph, PageError> {
    let mut graph = LineageGraph::default();
    let mut queue: Vec<(abi::IModelRegistry::Model, usize)> = vec![(root.clone(), 0)];
    let mut seen = vec![root.id];
    let mut i = 0;
    while i < queue.len() && seen.len() <= MAX_LINEAGE_MODELS {
        let (model, depth) = queue[i].clone();
        i += 1;
        graph.models.push((model.id, model.classId, depth));
        let calls: Vec<_> = model
            .lineage
            .iter()
            .map(|l| abi::IModelRegistry::modelOfClassCall { classId: l.classId })
            .collect();
        let parents = state.rpc.views(abi::MODEL_REGISTRY_ADDRESS, &calls).await?;
        for (l, parent) in model.lineage.iter().zip(parents) {
            let parent = parent.unwrap_or_default();
            graph.edges.push(LineageEdge {
                class: l.classId,
                model: model.id,
                weight: l.weight,
                class_model: (!parent.is_zero()).then_some(parent),
                depth,
            });
            if !parent.is_zero() && !seen.contains(&parent) && seen.len() < MAX_LINEAGE_MODELS {
                seen.push(parent);
                if let Ok(m) = state
                    .rpc
                    .view(
                        abi::MODEL_REGISTRY_ADDRESS,
                        abi::IModelRegistry::getModelCall { modelId: parent },
                    )
                    .await
                {
                    queue.push((m, depth + 1));
                }
            }
        }
    }
    Ok(graph)
}

pub async fn page(state: &AppState, id: &str) -> PageResult {
    let id = parse_id(id)?;
    let model = not_found_on_revert(
        state
            .rpc
            .view(
                abi::MODEL_REGISTRY_ADDRESS,
                abi::IModelRegistry::getModelCall { modelId: id },
            )
            .await,
        || format!("no model {id}"),
    )?;
    let graph = lineage(state, &model).await?;
    let logs = state.index.object_logs(Kind::Model, id, None, PAGE_ROWS)?;
    let circuit = state
        .rpc
        .view(
            abi::VERIFIER_ADDRESS,
            abi::IVerifier::modelCircuitCall { modelId: id },
        )
        .await
        .ok()
        .filter(|c| !c.is_zero());
    let to_model = model.revenue.saturating_sub(model.toData);
    let body = html! {
        h1 { "Model " (id) }
        (facts(vec![
            ("iDAO", object_link(state, "idao", model.idaoId)),
            ("DAT class (usage)", object_link(state, "class", model.classId)),
            ("Worker", addr_link(state, &model.worker)),
            ("Model hash", mono(format!("{:#x}", model.modelHash))),
            ("Training report hash", mono(format!("{:#x}", model.reportHash))),
            ("URI", mono(model.uri.clone())),
            ("Registered", text(utc(model.registeredAt))),
            ("Price per call", text(lazai(model.pricePerCall))),
            ("Calls sold / recorded", text(format!("{} / {}", group(&model.callsSold.to_string()), group(&model.callsRecorded.to_string())))),
            ("Revenue", text(lazai(model.revenue))),
            ("Split", text(format!("{} to the model's holders ({}.{:02}%), {} to the datasets", lazai(to_model), model.modelShareBps / 100, model.modelShareBps % 100, lazai(model.toData)))),
            ("ZK circuit", match circuit { Some(c) => mono(format!("{c:#x}")), None => text("none") }),
        ]))
        h2 id="lineage" { "Lineage" }
        @if model.lineage.is_empty() { p class="muted" { "No dataset lineage recorded." } }
        @else {
            figure {
                (crate::svg::lineage(state, &graph))
                figcaption { "Dataset classes (left) feed the model (right) with the weights recorded in its training report; a class that is itself a model's class continues the graph to that model's datasets." }
            }
            table class="list" {
                caption { "Lineage of model " (id) }
                thead { tr { th scope="col" { "Dataset class" } th scope="col" { "Weight" } th scope="col" { "From model" } } }
                tbody {
                    @for l in &model.lineage {
                        tr {
                            td { (object_link(state, "class", l.classId)) }
                            td { (l.weight) }
                            td { @match graph.edges.iter().find(|e| e.model == id && e.class == l.classId).and_then(|e| e.class_model) {
                                Some(m) => (object_link(state, "model", m)),
                                None => "—",
                            } }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        (super::dat::history(state, &logs))
    };
    Ok(layout(state, &format!("Model {id}"), body))
}
