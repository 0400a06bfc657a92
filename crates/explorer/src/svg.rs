//! The pictures, drawn as inline SVG on the server: a model's lineage graph, a class's revenue
//! over time, a flow's quorum agreement and a dispute's bisection. Each has a text alternative
//! (`role="img"` with a label) and a table beside it on its page. Coordinates are display
//! arithmetic only (floating point is fine here: nothing on chain depends on it).

use crate::AppState;
use crate::pages::flow::Member;
use crate::pages::{group, lazai, short, short_addr};
use alloy_primitives::{B256, U256};
use lazai_abi::IVerifier::Dispute;
use maud::{Markup, html};

/// Display value of a large amount (relative sizes only).
fn approx(v: U256) -> f64 {
    let (scaled, shift) = if v.bit_len() > 100 {
        (v >> 60usize, 60)
    } else {
        (v, 0)
    };
    scaled.saturating_to::<u128>() as f64 * 2f64.powi(shift)
}

/// Bars per settlement and the cumulative line.
pub fn revenue_chart(points: &[(u64, U256)]) -> Markup {
    let (w, h, pad) = (640.0, 200.0, 30.0);
    let n = points.len().max(1) as f64;
    let max_bar = points
        .iter()
        .map(|p| approx(p.1))
        .fold(0.0, f64::max)
        .max(1.0);
    let total: f64 = points.iter().map(|p| approx(p.1)).sum::<f64>().max(1.0);
    let slot = (w - 2.0 * pad) / n;
    let mut cumulative = 0.0;
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        cumulative += approx(p.1);
        let x = pad + slot * (i as f64 + 0.5);
        let y = h - pad - (h - 2.0 * pad) * cumulative / total;
        line.push_str(&format!("{x:.1},{y:.1} "));
    }
    let sum = points.iter().fold(U256::ZERO, |a, p| a.saturating_add(p.1));
    let label = format!(
        "Revenue settled: {} in {} settlements",
        lazai(sum),
        points.len()
    );
    html! {
        svg class="chart" viewBox={"0 0 " (w) " " (h)} role="img" aria-label=(label) {
            title { (label) }
            line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) class="axis" {}
            @for (i, p) in points.iter().enumerate() {
                @let bh = ((h - 2.0 * pad) * 0.5 * approx(p.1) / max_bar).max(1.0);
                rect x=(format!("{:.1}", pad + slot * i as f64 + slot * 0.15)) y=(format!("{:.1}", h - pad - bh))
                    width=(format!("{:.1}", (slot * 0.7).max(1.0))) height=(format!("{bh:.1}")) class="bar" {
                    title { "block " (p.0) ": " (lazai(p.1)) }
                }
            }
            polyline points=(line) class="cumulative" {}
            @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                text x=(pad) y=(h - 8.0) class="label" { "block " (group(&first.0.to_string())) }
                text x=(w - pad) y=(h - 8.0) class="label end" { "block " (group(&last.0.to_string())) }
            }
            text x=(pad) y="16" class="label" { "total " (lazai(sum)) }
        }
    }
}

/// One row per quorum member: its verdict and the root it posted.
pub fn agreement(members: &[Member], anchored: &B256) -> Markup {
    let row = 26.0;
    let h = row * members.len().max(1) as f64 + 12.0;
    let agreed = members
        .iter()
        .filter(|m| m.agreed(anchored) == Some(true))
        .count();
    let label = format!(
        "{agreed} of {} quorum members agreed on the anchored root",
        members.len()
    );
    html! {
        svg class="chart" viewBox={"0 0 640 " (h)} role="img" aria-label=(label) {
            title { (label) }
            @for (i, m) in members.iter().enumerate() {
                @let y = 6.0 + row * i as f64;
                @let (class, verdict) = match m.agreed(anchored) {
                    Some(true) => ("agree", "agreed"),
                    Some(false) => ("dissent", "dissented"),
                    None => ("silent", "silent"),
                };
                rect x="4" y=(y) width="18" height="18" rx="9" class=(class) {}
                text x="30" y=(y + 14.0) class="label mono" { (short_addr(&m.node)) }
                text x="200" y=(y + 14.0) class="label" { (verdict) }
                text x="300" y=(y + 14.0) class="label mono" {
                    @if m.root.is_zero() { "no post" } @else { (short(&m.root)) }
                }
            }
        }
    }
}

/// An edge of a lineage graph: a dataset class feeding a model.
#[derive(Clone, Debug)]
pub struct LineageEdge {
    pub class: U256,
    pub model: U256,
    pub weight: U256,
    /// The model whose class this dataset class is, if any.
    pub class_model: Option<U256>,
    /// The fed model's depth (0 = the page's model).
    pub depth: usize,
}

/// A lineage graph: models with their own class and depth, and the edges into them.
#[derive(Clone, Debug, Default)]
pub struct LineageGraph {
    pub models: Vec<(U256, U256, usize)>,
    pub edges: Vec<LineageEdge>,
}

/// Columns from the right: the model, its dataset classes, the models those classes belong
/// to, their dataset classes, and so on.
pub fn lineage(state: &AppState, graph: &LineageGraph) -> Markup {
    let depth = graph.models.iter().map(|m| m.2).max().unwrap_or(0);
    let columns = 2 * depth + 2;
    // Nodes per column, in order of appearance: (kind, id).
    let mut cols: Vec<Vec<(&str, U256)>> = vec![Vec::new(); columns];
    for (id, _, d) in &graph.models {
        let c = &mut cols[2 * d];
        if !c.contains(&("model", *id)) {
            c.push(("model", *id));
        }
    }
    for e in &graph.edges {
        let c = &mut cols[2 * e.depth + 1];
        if !c.contains(&("class", e.class)) {
            c.push(("class", e.class));
        }
    }
    let (w, col_w, row_h) = (660.0, 660.0 / columns as f64, 44.0);
    let rows = cols.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let h = row_h * rows as f64 + 20.0;
    let pos = |col: usize, kind: &str, id: U256| -> Option<(f64, f64)> {
        let row = cols.get(col)?.iter().position(|n| *n == (kind, id))?;
        let x = w - col_w * (col as f64 + 0.5);
        let y = 10.0 + row_h * (row as f64 + 0.5);
        Some((x, y))
    };
    let root = graph.models.first().map(|m| m.0).unwrap_or_default();
    let label = format!(
        "Lineage of model {root}: {} dataset edges across {} models",
        graph.edges.len(),
        graph.models.len()
    );
    html! {
        svg class="chart lineage" viewBox={"0 0 " (w) " " (h)} role="img" aria-label=(label) {
            title { (label) }
            @for e in &graph.edges {
                @if let (Some(a), Some(b)) = (pos(2 * e.depth + 1, "class", e.class), pos(2 * e.depth, "model", e.model)) {
                    line x1=(a.0 + 42.0) y1=(a.1) x2=(b.0 - 42.0) y2=(b.1) class="edge" {}
                    text x=((a.0 + b.0) / 2.0) y=((a.1 + b.1) / 2.0 - 4.0) class="label mid" { "w " (e.weight) }
                }
                @if let Some(m) = e.class_model {
                    @if let (Some(a), Some(b)) = (pos(2 * e.depth + 2, "model", m), pos(2 * e.depth + 1, "class", e.class)) {
                        line x1=(a.0 + 42.0) y1=(a.1) x2=(b.0 - 42.0) y2=(b.1) class="edge dashed" {}
                    }
                }
            }
            @for (col, nodes) in cols.iter().enumerate() {
                @for (kind, id) in nodes {
                    @if let Some((x, y)) = pos(col, kind, *id) {
                        a href={(state.base) "/" (kind) "/" (id)} {
                            rect x=(x - 42.0) y=(y - 14.0) width="84" height="28" rx="6" class={"node " (kind)} {}
                            text x=(x) y=(y + 5.0) class="label mid" { (kind) " " (id) }
                        }
                    }
                }
            }
        }
    }
}

/// One row per dispute: the model's layers, the one the dispute narrowed to marked.
pub fn bisection(disputes: &[Dispute], layers: usize) -> Markup {
    let layers = layers.max(1);
    let row = 34.0;
    let h = row * disputes.len().clamp(1, 50) as f64 + 24.0;
    let (left, right) = (150.0, 630.0);
    let cell = (right - left) / layers as f64;
    let label = format!("{} disputes over a {layers}-layer model", disputes.len());
    html! {
        svg class="chart" viewBox={"0 0 640 " (h)} role="img" aria-label=(label) {
            title { (label) }
            text x=(left) y="14" class="label" { "layer 0" }
            text x=(right) y="14" class="label end" { "layer " (layers - 1) }
            @for (i, d) in disputes.iter().take(50).enumerate() {
                @let y = 22.0 + row * i as f64;
                text x="4" y=(y + 16.0) class="label mono" { (short_addr(&d.challenger)) }
                @for l in 0..layers {
                    rect x=(format!("{:.1}", left + cell * l as f64)) y=(y) width=(format!("{:.1}", (cell - 1.0).max(0.5))) height="22"
                        class=(if l == d.layer as usize { "cell hit" } else { "cell" }) {}
                }
                text x=(right + 2.0) y=(y + 16.0) class="label end" { (d.moves) " moves" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;

    fn state() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = crate::Index::open(dir.path()).expect("index");
        let state = AppState::new(
            crate::Rpc::new("http://127.0.0.1:1", std::time::Duration::from_secs(1)).expect("rpc"),
            std::sync::Arc::new(index),
            std::sync::Arc::new(crate::IndexStatus::new()),
            "/explorer".into(),
            std::time::Duration::from_secs(1),
        );
        (dir, state)
    }

    #[test]
    fn the_lineage_graph_links_every_class_and_model_once() {
        // Model 2 is trained on classes 1 and 5; class 5 is model 1's class, trained on class 3.
        let graph = LineageGraph {
            models: vec![
                (U256::from(2), U256::from(6), 0),
                (U256::from(1), U256::from(5), 1),
            ],
            edges: vec![
                LineageEdge {
                    class: U256::from(1),
                    model: U256::from(2),
                    weight: U256::from(60),
                    class_model: None,
                    depth: 0,
                },
                LineageEdge {
                    class: U256::from(5),
                    model: U256::from(2),
                    weight: U256::from(40),
                    class_model: Some(U256::from(1)),
                    depth: 0,
                },
                LineageEdge {
                    class: U256::from(3),
                    model: U256::from(1),
                    weight: U256::from(100),
                    class_model: None,
                    depth: 1,
                },
            ],
        };
        let (_dir, state) = state();
        let svg = lineage(&state, &graph).into_string();
        for href in [
            "/explorer/model/2\"",
            "/explorer/model/1\"",
            "/explorer/class/1\"",
            "/explorer/class/5\"",
            "/explorer/class/3\"",
        ] {
            assert_eq!(svg.matches(href).count(), 1, "{href} once in {svg}");
        }
        // Three weighted edges and the dashed one from model 1 to its class.
        assert_eq!(svg.matches("class=\"edge\"").count(), 3);
        assert_eq!(svg.matches("class=\"edge dashed\"").count(), 1);
        assert!(svg.contains("w 60") && svg.contains("w 100"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn a_dispute_marks_its_layer_and_the_agreement_colours_each_member() {
        let dispute = Dispute {
            challenger: Address::repeat_byte(3),
            layer: 2,
            turn: 1,
            status: 1,
            moves: 5,
            lastMoveAt: 10,
            workerClock: 4,
            challengerClock: 6,
            unit: 7,
            claimed: 1,
            actual: 2,
        };
        let svg = bisection(&[dispute], 4).into_string();
        assert_eq!(svg.matches("class=\"cell hit\"").count(), 1);
        assert_eq!(svg.matches("class=\"cell\"").count(), 3);
        assert!(svg.contains("5 moves"));
        let anchored = B256::repeat_byte(9);
        let members = [
            Member {
                node: Address::repeat_byte(1),
                root: anchored,
            },
            Member {
                node: Address::repeat_byte(2),
                root: B256::repeat_byte(8),
            },
            Member {
                node: Address::repeat_byte(4),
                root: B256::ZERO,
            },
        ];
        let svg = agreement(&members, &anchored).into_string();
        assert_eq!(svg.matches("class=\"agree\"").count(), 1);
        assert_eq!(svg.matches("class=\"dissent\"").count(), 1);
        assert_eq!(svg.matches("class=\"silent\"").count(), 1);
        assert!(svg.contains("1 of 3 quorum members agreed"));
    }

    #[test]
    fn the_revenue_chart_draws_a_bar_per_settlement_and_survives_huge_amounts() {
        let points = [(5, U256::from(10)), (9, U256::MAX), (12, U256::ZERO)];
        let svg = revenue_chart(&points).into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(revenue_chart(&[]).into_string().contains("0 settlements"));
    }
}
