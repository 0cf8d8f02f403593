"""Writes tests/fixtures/text/pca.safetensors: numpy's PCA of the queries and keys that
capture.safetensors holds (torch's MiniLM q and k of one head, stacked [q; k], [2·tokens, 32]),
plus one synthetic anisotropic cloud, for tests/projection.rs.

Per entry P: P.points [rows, dim] (f32), P.coords [rows, 2], P.components [2, dim], P.explained [2]
(numpy.linalg.eigh of the f64 covariance with ddof=1; each component signed so its largest-|·|
entry is positive, as crate::projection does).

Regenerate: /tmp/w17step-py/venv/bin/python scripts/make-pca-fixture.py  (numpy + safetensors)
"""
import os
import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "text")


def pca(points):
    x = points.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / (len(x) - 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(-values, kind="stable")[:2]
    comps = vectors[:, order].T.copy()
    for c in comps:
        if c[np.argmax(np.abs(c))] < 0:
            c *= -1
    explained = values[order] / np.clip(values, 0, None).sum()
    return xc @ comps.T, comps, explained


def main():
    captures = load_file(os.path.join(HERE, "capture.safetensors"))
    out = {}
    clouds = {}
    for name in sorted(captures):
        if name.endswith(".q"):
            base = name[:-2]
            clouds[base.replace(".", "_")] = np.concatenate([captures[base + ".q"], captures[base + ".k"]])
    rng = np.random.default_rng(18)
    # Anisotropic: spreads 5, 2, then small, so the top two components are well separated.
    scales = np.array([5.0, 2.0] + [0.3] * 14)
    basis, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    clouds["synthetic"] = ((rng.standard_normal((97, 16)) * scales) @ basis.T + 3.0).astype(np.float32)
    for key, points in clouds.items():
        coords, comps, explained = pca(points)
        out[f"{key}.points"] = points.astype(np.float32)
        out[f"{key}.coords"] = coords.astype(np.float32)
        out[f"{key}.components"] = comps.astype(np.float32)
        out[f"{key}.explained"] = explained.astype(np.float32)
    save_file(out, os.path.join(HERE, "pca.safetensors"))
    print("wrote", len(clouds), "clouds")


if __name__ == "__main__":
    main()
