#!/usr/bin/env python3
"""Tiny Hugging Face image-encoder folders and their PyTorch outputs, for the loadVisionModelFiles
tests (tests/vit_files.rs, tests/browser/vit-files.test.mjs).

    PYREF_VENV=/path/to/venv make vit-files-fixtures    # a venv with torch, transformers, safetensors
    python scripts/make-vit-files-fixtures.py vit-gelu-new   # only the folders named

Four randomly initialised (seeded) models with unusual dimensions, each saved with
save_pretrained as tests/fixtures/vit-files/<name>/ (config.json + model.safetensors):
  vit               ViTModel, 2 layers, 3 heads, hidden 48, intermediate 80, patch 8, image 96,
                    qkv_bias false, f32 tensors
  dinov2            Dinov2Model, the same sizes, mlp_ratio 3, layer scale, f16 tensors
  dinov2-registers  Dinov2WithRegistersModel, 3 registers, bf16 tensors, and a
                    preprocessor_config.json with its own mean/std
  vit-gelu-new      ViTModel as vit but hidden_act "gelu_new" (tanh GELU), no pooler, f16 tensors
Weights are drawn wider than HF's init (which leaves attention nearly uniform and layer scale 1)
so the maps have structure. One 96×64 image (the longer side is the image size, so the page's
preprocessing does no resampling; the 12×12 position grid is interpolated to 12×8, as HF does with
interpolate_pos_encoding) is run in float32 from the stored (rounded) weights, eager attention, and
tests/fixtures/vit-files/<name>-reference.safetensors holds:
  image      u8  [64, 96, 3]
  attention  f16 [layers, heads, T, T]   HF token order: class, registers, patches
  hidden     f32 [T, hidden]             last_hidden_state (after the final LayerNorm)
  registers  i32 [1]
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig, Dinov2WithRegistersModel, ViTConfig, ViTModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests/fixtures/vit-files")
W, H = 96, 64
COMMON = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, patch_size=8, image_size=96, attn_implementation="eager")


def widen(model, seed):
    """Redraws every parameter: LayerNorm/layer-scale weights near 1, the rest N(0, s²) with s
    scaled by fan-in, so attention is peaked and layer scale matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith("lambda1") or ("norm" in name and name.endswith("weight")):
                p.copy_(1.0 + 0.3 * r)
            elif p.dim() >= 2 and "token" not in name and "position" not in name:
                fan_in = p[0].numel()
                p.copy_(r * (2.0 / fan_in**0.5))
            else:
                p.copy_(0.5 * r)


def image():
    g = torch.Generator().manual_seed(7)
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    base = torch.stack([128 + 100 * torch.sin(x / 9), 128 + 100 * torch.cos(y / 7), 128 + 90 * torch.sin((x + y) / 13)], dim=-1)
    return (base + 30 * torch.randn((H, W, 3), generator=g)).round().clamp(0, 255).to(torch.uint8)


def run(model, img, mean, std, vit):
    x = img.permute(2, 0, 1).float() / 255.0
    x = (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    kw = {"interpolate_pos_encoding": True} if vit else {}
    with torch.no_grad():
        out = model(pixel_values=x[None], output_attentions=True, **kw)
    return torch.stack([a[0] for a in out.attentions]), out.last_hidden_state[0]


def make_one(name, model, dtype, seed, registers=0, preprocessor=None):
    torch.manual_seed(seed)
    widen(model, seed)
    model.eval()
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    # Store in `dtype`, then run float32 from exactly the stored values.
    model.to(dtype)
    model.save_pretrained(folder)
    model.float()
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    if preprocessor:
        with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
            json.dump(preprocessor, f, indent=2)
        mean, std = preprocessor["image_mean"], preprocessor["image_std"]
    img = image()
    att, hidden = run(model, img, mean, std, isinstance(model, ViTModel))
    save_file(
        {"image": img.contiguous(), "attention": att.half().contiguous(), "hidden": hidden.contiguous(), "registers": torch.tensor([registers], dtype=torch.int32)},
        os.path.join(OUT, f"{name}-reference.safetensors"),
    )
    print(f"{name}: attention {tuple(att.shape)}, hidden {tuple(hidden.shape)}, files {sorted(os.listdir(folder))}")


def main():
    only = set(sys.argv[1:])
    # Each folder is seeded on its own, so one can be remade without touching the others' bytes.
    make = lambda name, *a, **kw: (not only or name in only) and make_one(name, *a, **kw)
    make("vit", ViTModel(ViTConfig(intermediate_size=80, qkv_bias=False, **COMMON), add_pooling_layer=True), torch.float32, 1)
    make("dinov2", Dinov2Model(Dinov2Config(mlp_ratio=3, **COMMON)), torch.float16, 2)
    make(
        "dinov2-registers",
        Dinov2WithRegistersModel(Dinov2WithRegistersConfig(mlp_ratio=2, num_register_tokens=3, **COMMON)),
        torch.bfloat16,
        3,
        registers=3,
        preprocessor={"do_normalize": True, "image_mean": [0.5, 0.4, 0.3], "image_std": [0.25, 0.2, 0.3], "crop_size": {"height": 96, "width": 96}, "do_center_crop": True},
    )
    make("vit-gelu-new", ViTModel(ViTConfig(intermediate_size=80, hidden_act="gelu_new", **COMMON), add_pooling_layer=False), torch.float16, 4)


if __name__ == "__main__":
    sys.exit(main())
