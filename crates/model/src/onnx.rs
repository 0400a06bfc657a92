//! Import of a dense ReLU MLP from ONNX, quantized into a [`QuantizedMlp`].
//!
//! The subset read: `ModelProto.graph`; in the graph its nodes, initializers, inputs and
//! outputs; in a node its op type, inputs, outputs and attributes (name, `i`, `f`); in a tensor
//! its dims, data type (float32 only) and `float_data` or `raw_data` (no external data).
//!
//! The graph must be one chain from its one non-initializer input: linear layers, each a
//! `Gemm` (`transA` 0, any `transB`, `alpha`, `beta`) or a `MatMul` by an initializer optionally
//! followed by an `Add` of an initializer, with a `Relu` after every linear layer but the last;
//! `Identity` and `Flatten` (axis 1) pass through. What follows the last linear layer is
//! ignored if it is post-processing (`Softmax`, `ArgMax`, and scikit-learn's label mapping:
//! `ArrayFeatureExtractor`, `ZipMap`, `Cast`, `Reshape`, `Identity`): the integer model gives
//! the logits. Any other op is refused by name.
//!
//! The importer standardizes inputs by the calibration rows' mean and standard deviation, as
//! training does, folding that into the first layer (`W' = W·diag(std)`, `b' = b + W·mean`)
//! so the float model is unchanged but for inputs beyond 4 standard deviations, then quantizes
//! with [`QuantizedMlp::quantize_net`].

use std::collections::HashMap;

use crate::float::mean_std;
use crate::protobuf::{Fields, Value, message, push_floats, push_varints, string};
use crate::spec::{MAX_DIM, MAX_PARAMS, ModelError};
use crate::{FloatDense, FloatNet, QuantizedMlp};

/// Most nodes, initializers or graph inputs/outputs a graph may have.
const MAX_NODES: usize = 4096;
/// Most inputs, outputs or attributes a node may have.
const MAX_NODE_LINKS: usize = 64;

/// Ops that may follow the logits and are ignored.
const POST_PROCESSING: &[&str] = &[
    "Softmax",
    "ArgMax",
    "ArrayFeatureExtractor",
    "ZipMap",
    "Cast",
    "Reshape",
    "Identity",
];

fn err(what: impl Into<String>) -> ModelError {
    ModelError::Onnx(what.into())
}

#[derive(Default)]
struct Attribute {
    name: String,
    i: Option<i64>,
    f: Option<f32>,
}

#[derive(Default)]
struct Node {
    op: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attributes: Vec<Attribute>,
}

impl Node {
    fn int(&self, name: &str, default: i64) -> i64 {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.i)
            .unwrap_or(default)
    }
    fn float(&self, name: &str, default: f32) -> f32 {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.f)
            .unwrap_or(default)
    }
}

struct Tensor {
    dims: Vec<usize>,
    data: Vec<f32>,
}

#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    initializers: HashMap<String, Tensor>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn decode_model(b: &[u8]) -> Result<Graph, String> {
    let mut f = Fields::new(b);
    let mut graph = None;
    while let Some((field, v)) = f.next_field()? {
        if field == 7 {
            graph = Some(decode_graph(message(v)?)?);
        }
    }
    graph.ok_or_else(|| "no graph in the model".to_string())
}

fn decode_graph(b: &[u8]) -> Result<Graph, String> {
    let mut g = Graph::default();
    let mut f = Fields::new(b);
    while let Some((field, v)) = f.next_field()? {
        match field {
            1 => g.nodes.push(decode_node(message(v)?)?),
            5 => {
                let (name, t) = decode_tensor(message(v)?)?;
                g.initializers.insert(name, t);
            }
            11 => g.inputs.push(value_info_name(message(v)?)?),
            12 => g.outputs.push(value_info_name(message(v)?)?),
            _ => {}
        }
        if g.nodes.len() > MAX_NODES
            || g.initializers.len() > MAX_NODES
            || g.inputs.len() > MAX_NODES
            || g.outputs.len() > MAX_NODES
        {
            return Err(format!("graph larger than {MAX_NODES} nodes or tensors"));
        }
    }
    Ok(g)
}

fn value_info_name(b: &[u8]) -> Result<String, String> {
    let mut f = Fields::new(b);
    let mut name = String::new();
    while let Some((field, v)) = f.next_field()? {
        if field == 1 {
            name = string(v)?;
        }
    }
    Ok(name)
}

fn decode_node(b: &[u8]) -> Result<Node, String> {
    let mut n = Node::default();
    let mut f = Fields::new(b);
    while let Some((field, v)) = f.next_field()? {
        match field {
            1 => n.inputs.push(string(v)?),
            2 => n.outputs.push(string(v)?),
            4 => n.op = string(v)?,
            5 => n.attributes.push(decode_attribute(message(v)?)?),
            _ => {}
        }
        if n.inputs.len() > MAX_NODE_LINKS
            || n.outputs.len() > MAX_NODE_LINKS
            || n.attributes.len() > MAX_NODE_LINKS
        {
            return Err(format!("a node with more than {MAX_NODE_LINKS} links"));
        }
    }
    Ok(n)
}

fn decode_attribute(b: &[u8]) -> Result<Attribute, String> {
    let mut a = Attribute::default();
    let mut f = Fields::new(b);
    while let Some((field, v)) = f.next_field()? {
        match (field, v) {
            (1, v) => a.name = string(v)?,
            (2, Value::Fixed32(x)) => a.f = Some(f32::from_bits(x)),
            (3, Value::Varint(x)) => a.i = Some(x as i64),
            _ => {}
        }
    }
    Ok(a)
}

fn decode_tensor(b: &[u8]) -> Result<(String, Tensor), String> {
    let max = MAX_PARAMS as usize;
    let (mut name, mut dims, mut data_type) = (String::new(), Vec::new(), 0u64);
    let (mut floats, mut raw) = (Vec::new(), None);
    let mut f = Fields::new(b);
    while let Some((field, v)) = f.next_field()? {
        match field {
            1 => push_varints(v, &mut dims, 8)?,
            2 => {
                if let Value::Varint(x) = v {
                    data_type = x;
                }
            }
            4 => push_floats(v, &mut floats, max)?,
            8 => name = string(v)?,
            9 => raw = Some(message(v)?),
            13 | 14 => return Err("tensors with external data are not supported".into()),
            _ => {}
        }
    }
    if data_type != 1 {
        return Err(format!(
            "initializer {name:?} has data type {data_type}; only float32 (1) is supported"
        ));
    }
    let mut count = 1usize;
    let mut shape = Vec::with_capacity(dims.len());
    for d in dims {
        let d = usize::try_from(d).map_err(|_| format!("initializer {name:?}: negative dim"))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= max)
            .ok_or_else(|| format!("initializer {name:?} has more than {max} values"))?;
        shape.push(d);
    }
    let data = match raw {
        Some(r) => {
            if r.len() != count * 4 {
                return Err(format!(
                    "initializer {name:?}: {} raw bytes for {count} floats",
                    r.len()
                ));
            }
            r.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }
        None => floats,
    };
    if data.len() != count {
        return Err(format!(
            "initializer {name:?}: {} values for shape {shape:?}",
            data.len()
        ));
    }
    Ok((name, Tensor { dims: shape, data }))
}

/// A linear layer being read: `outputs × inputs` weights, the bias, whether a ReLU follows.
struct Linear {
    layer: FloatDense,
    relu: bool,
    /// Whether an `Add` may still supply the bias (a `MatMul` without one so far).
    open_bias: bool,
}

/// The float layers of the chain from the graph's input, with `Relu` marks.
fn layers_of(g: &Graph) -> Result<Vec<Linear>, ModelError> {
    let data_inputs: Vec<&String> = g
        .inputs
        .iter()
        .filter(|n| !g.initializers.contains_key(*n))
        .collect();
    let [input] = data_inputs.as_slice() else {
        return Err(err(format!(
            "the graph has {} non-initializer inputs, expected one",
            data_inputs.len()
        )));
    };
    let weight = |name: &str| -> Result<&Tensor, ModelError> {
        g.initializers.get(name).ok_or_else(|| {
            err(format!(
                "{name:?} is not an initializer (weights must be constant)"
            ))
        })
    };
    let mut cur: String = (*input).clone();
    let mut layers: Vec<Linear> = Vec::new();
    let mut visited = vec![false; g.nodes.len()];
    loop {
        let consumers: Vec<usize> = (0..g.nodes.len())
            .filter(|&i| g.nodes[i].inputs.contains(&cur))
            .collect();
        if consumers.is_empty()
            || consumers
                .iter()
                .all(|&i| POST_PROCESSING.contains(&g.nodes[i].op.as_str()) && !layers.is_empty())
        {
            break;
        }
        let [i] = consumers.as_slice() else {
            return Err(err(format!(
                "tensor {cur:?} feeds {} nodes; only a chain is supported",
                consumers.len()
            )));
        };
        let node = &g.nodes[*i];
        if visited[*i] {
            return Err(err(format!("the graph has a cycle through {:?}", node.op)));
        }
        visited[*i] = true;
        let other = |node: &Node| -> Result<&Tensor, ModelError> {
            let [a, b] = node.inputs.as_slice() else {
                return Err(err(format!(
                    "{} with {} inputs",
                    node.op,
                    node.inputs.len()
                )));
            };
            weight(if *a == cur { b } else { a })
        };
        let expect_linear = |layers: &[Linear], op: &str| -> Result<(), ModelError> {
            match layers.last() {
                Some(l) if !l.relu => Err(err(format!(
                    "{op} after a linear layer without a Relu between (not a ReLU MLP)"
                ))),
                _ => Ok(()),
            }
        };
        let width = layers.last().map(|l| l.layer.outputs);
        match node.op.as_str() {
            "Gemm" => {
                expect_linear(&layers, "Gemm")?;
                if node.inputs.first() != Some(&cur) || node.int("transA", 0) != 0 {
                    return Err(err("Gemm must take the data as A, untransposed"));
                }
                let b = weight(node.inputs.get(1).map_or("", String::as_str))?;
                let trans_b = node.int("transB", 0) != 0;
                let (alpha, beta) = (node.float("alpha", 1.0), node.float("beta", 1.0));
                let mut l = linear_of(b, trans_b, width, "Gemm")?;
                for w in &mut l.w {
                    *w *= alpha;
                }
                if let Some(c) = node.inputs.get(2).filter(|c| !c.is_empty()) {
                    add_bias(&mut l, weight(c)?, beta)?;
                }
                layers.push(Linear {
                    layer: l,
                    relu: false,
                    open_bias: false,
                });
            }
            "MatMul" => {
                expect_linear(&layers, "MatMul")?;
                if node.inputs.first() != Some(&cur) {
                    return Err(err("MatMul must take the data as its first input"));
                }
                let l = linear_of(other(node)?, false, width, "MatMul")?;
                layers.push(Linear {
                    layer: l,
                    relu: false,
                    open_bias: true,
                });
            }
            "Add" => {
                let t = other(node)?;
                match layers.last_mut() {
                    Some(l) if l.open_bias && !l.relu => {
                        add_bias(&mut l.layer, t, 1.0)?;
                        l.open_bias = false;
                    }
                    _ => {
                        return Err(err(
                            "Add is supported only as the bias right after a MatMul",
                        ));
                    }
                }
            }
            "Relu" => match layers.last_mut() {
                Some(l) if !l.relu => {
                    l.relu = true;
                    l.open_bias = false;
                }
                _ => return Err(err("Relu is supported only after a linear layer")),
            },
            "Identity" => {}
            "Flatten" if node.int("axis", 1) == 1 => {}
            op => return Err(err(format!("unsupported op {op:?}"))),
        }
        cur = node
            .outputs
            .first()
            .cloned()
            .ok_or_else(|| err(format!("{} without an output", node.op)))?;
        if layers.len() > crate::MAX_LAYERS as usize {
            return Err(ModelError::BadLayerCount(crate::MAX_LAYERS + 1));
        }
    }
    if let Some(n) = g
        .nodes
        .iter()
        .zip(&visited)
        .find(|(n, v)| !**v && !POST_PROCESSING.contains(&n.op.as_str()))
    {
        return Err(err(format!(
            "unsupported op {:?} off the chain of linear layers",
            n.0.op
        )));
    }
    match layers.last() {
        None => Err(err("no linear layer (Gemm or MatMul) in the graph")),
        Some(l) if l.relu => Err(err("the last linear layer is followed by a Relu")),
        Some(_) => Ok(layers),
    }
}

/// The `outputs × inputs` layer of a weight matrix: `[inputs, outputs]`, or `[outputs, inputs]`
/// when `transposed`; `width` is the previous layer's output width.
fn linear_of(
    t: &Tensor,
    transposed: bool,
    width: Option<usize>,
    op: &str,
) -> Result<FloatDense, ModelError> {
    let [r, c] = t.dims.as_slice() else {
        return Err(err(format!(
            "{op} weights of shape {:?}, expected 2-D",
            t.dims
        )));
    };
    let (inputs, outputs) = if transposed { (*c, *r) } else { (*r, *c) };
    if let Some(w) = width.filter(|&w| w != inputs) {
        return Err(err(format!(
            "{op} takes {inputs} inputs but the previous layer gives {w}"
        )));
    }
    for n in [inputs, outputs] {
        if n == 0 || n > MAX_DIM as usize {
            return Err(ModelError::BadDimension(
                u32::try_from(n).unwrap_or(u32::MAX),
            ));
        }
    }
    let w = (0..outputs)
        .flat_map(|j| {
            (0..inputs).map(move |k| {
                if transposed {
                    t.data[j * inputs + k]
                } else {
                    t.data[k * outputs + j]
                }
            })
        })
        .collect();
    Ok(FloatDense {
        inputs,
        outputs,
        w,
        b: vec![0.0; outputs],
    })
}

fn add_bias(l: &mut FloatDense, t: &Tensor, beta: f32) -> Result<(), ModelError> {
    let ok = t.data.len() == l.outputs && t.dims.iter().filter(|&&d| d != 1).count() <= 1;
    if !ok {
        return Err(err(format!(
            "bias of shape {:?} for a layer of {} outputs",
            t.dims, l.outputs
        )));
    }
    for (b, v) in l.b.iter_mut().zip(&t.data) {
        *b += beta * v;
    }
    Ok(())
}

/// The float model of an ONNX file, input standardization by `calibration` folded in.
pub fn float_net(bytes: &[u8], calibration: &[Vec<f32>]) -> Result<FloatNet, ModelError> {
    let g = decode_model(bytes).map_err(ModelError::Onnx)?;
    let mut layers: Vec<FloatDense> = layers_of(&g)?.into_iter().map(|l| l.layer).collect();
    let inputs = layers[0].inputs;
    if calibration.is_empty() || calibration.iter().any(|x| x.len() != inputs) {
        return Err(err(format!(
            "calibration needs at least one row of {inputs} features (the model's inputs)"
        )));
    }
    let (mean, std) = mean_std(calibration, inputs);
    let first = &mut layers[0];
    for j in 0..first.outputs {
        let row = &mut first.w[j * inputs..(j + 1) * inputs];
        let shift: f32 = row.iter().zip(&mean).map(|(w, m)| w * m).sum();
        first.b[j] += shift;
        for (w, s) in row.iter_mut().zip(&std) {
            *w *= s;
        }
    }
    let net = FloatNet {
        inputs,
        mean,
        std,
        layers,
    };
    net.check()?;
    Ok(net)
}

/// Imports a dense ReLU MLP from ONNX and quantizes it; `calibration` (raw feature rows) sets
/// the input standardization and each hidden layer's scale.
pub fn import(bytes: &[u8], calibration: &[Vec<f32>]) -> Result<QuantizedMlp, ModelError> {
    QuantizedMlp::quantize_net(&float_net(bytes, calibration)?, calibration)
}
