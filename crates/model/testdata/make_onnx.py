"""Writes the ONNX fixtures of crates/model/tests/onnx.rs: an 11-16-8-6 ReLU MLP over the
wine-quality features (crates/worker/testdata/winequality-red.csv; class = quality - 3),
trained here by full-batch gradient descent with a fixed seed, in two exports:

- wine-gemm.onnx: as torch.onnx.export writes nn.Sequential(Linear, ReLU, ...): Gemm with
  transB=1 ([out, in] weights), weights as raw_data;
- wine-matmul.onnx: as skl2onnx writes MLPClassifier: MatMul by [in, out] weights, Add of the
  bias, Relu, then Softmax and ArgMax; weights as float_data.

Run from the repository root: python3 crates/model/testdata/make_onnx.py (needs onnx, numpy).
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "..", "..", "worker", "testdata", "winequality-red.csv")

data = np.loadtxt(CSV, delimiter=",", skiprows=1, dtype=np.float64)
x_raw, y = data[:, :-1], (data[:, -1] - 3).astype(int)
mean, std = x_raw.mean(0), x_raw.std(0)
x = (x_raw - mean) / std

rng = np.random.default_rng(20261206)
sizes = [11, 16, 8, 6]
ws = [rng.normal(0, np.sqrt(2 / a), (a, b)) for a, b in zip(sizes, sizes[1:])]
bs = [np.zeros(b) for b in sizes[1:]]
onehot = np.eye(6)[y]
for step in range(1500):
    acts = [x]
    for i, (w, b) in enumerate(zip(ws, bs)):
        z = acts[-1] @ w + b
        acts.append(np.maximum(z, 0) if i < len(ws) - 1 else z)
    p = np.exp(acts[-1] - acts[-1].max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = (p - onehot) / len(x)
    for i in reversed(range(len(ws))):
        gw, gb = acts[i].T @ g, g.sum(0)
        if i > 0:
            g = (g @ ws[i].T) * (acts[i] > 0)
        ws[i] -= 0.5 * gw
        bs[i] -= 0.5 * gb
accuracy = (acts[-1].argmax(1) == y).mean()

# Fold the standardization into the first layer: the exported model takes raw features.
ws[0] = ws[0] / std[:, None]
bs[0] = bs[0] - mean @ ws[0]
ws = [w.astype(np.float32) for w in ws]
bs = [b.astype(np.float32) for b in bs]


def gemm_model():
    inits, nodes, cur = [], [], "input"
    for i, (w, b) in enumerate(zip(ws, bs)):
        inits.append(helper.make_tensor(f"{i}.weight", TensorProto.FLOAT, w.T.shape,
                                        w.T.tobytes(), raw=True))
        inits.append(helper.make_tensor(f"{i}.bias", TensorProto.FLOAT, b.shape,
                                        b.tobytes(), raw=True))
        nodes.append(helper.make_node("Gemm", [cur, f"{i}.weight", f"{i}.bias"], [f"gemm{i}"],
                                      alpha=1.0, beta=1.0, transB=1))
        cur = f"gemm{i}"
        if i < len(ws) - 1:
            nodes.append(helper.make_node("Relu", [cur], [f"relu{i}"]))
            cur = f"relu{i}"
    nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes, "torch_jit", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 11])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 6])], inits)
    return helper.make_model(graph, producer_name="pytorch", opset_imports=[helper.make_opsetid("", 13)])


def matmul_model():
    inits, nodes, cur = [], [], "X"
    for i, (w, b) in enumerate(zip(ws, bs)):
        inits.append(helper.make_tensor(f"coefficient{i}", TensorProto.FLOAT, w.shape,
                                        w.flatten().tolist()))
        inits.append(helper.make_tensor(f"intercepts{i}", TensorProto.FLOAT, [1, b.shape[0]],
                                        b.tolist()))
        nodes.append(helper.make_node("MatMul", [cur, f"coefficient{i}"], [f"mul{i}"]))
        nodes.append(helper.make_node("Add", [f"mul{i}", f"intercepts{i}"], [f"add{i}"]))
        cur = f"add{i}"
        if i < len(ws) - 1:
            nodes.append(helper.make_node("Relu", [cur], [f"relu{i}"]))
            cur = f"relu{i}"
    nodes.append(helper.make_node("Softmax", [cur], ["probabilities"], axis=1))
    nodes.append(helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1))
    graph = helper.make_graph(
        nodes, "mlp_classifier",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 11])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None, 1]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 6])], inits)
    return helper.make_model(graph, producer_name="skl2onnx", opset_imports=[helper.make_opsetid("", 13)])


for name, model in [("wine-gemm.onnx", gemm_model()), ("wine-matmul.onnx", matmul_model())]:
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))
print(f"training accuracy {accuracy:.3f}")

# The float32 forward pass of the exported weights on the raw features: one predicted class
# per CSV row, what the Rust test compares the integer model with.
a = x_raw.astype(np.float32)
for i, (w, b) in enumerate(zip(ws, bs)):
    a = a @ w + b
    if i < len(ws) - 1:
        a = np.maximum(a, 0)
with open(os.path.join(HERE, "wine-onnx.labels"), "w") as f:
    f.write("".join(str(c) for c in a.argmax(1)) + "\n")
