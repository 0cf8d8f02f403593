//! Principal components of a point cloud, for the view that draws one head's queries and keys in
//! one 2-D plane (`pg.project`).
//!
//! The covariance `Xcᵀ·Xc / (n − 1)` of the centred points is the one O(n·d²) step, so it runs as
//! the backend's matrix product (one `linear`, one read: one submission and one readback on the
//! GPU). Its d × d eigenproblem (d = a head's 32 or 64 channels) is solved on the host in f64 by
//! cyclic Jacobi, and the O(n·d) projection onto the top two eigenvectors too: neither is worth a
//! second GPU round trip.

use crate::backend::{Backend, Linear};
use crate::ensure;
use crate::error::Result;

/// Most channels a point may have: Jacobi costs ~d³ per sweep, which stays well under a frame
/// at a head's 64 but not at a model's whole hidden width.
pub const MAX_DIM: usize = 256;
/// Most values (rows × dim) one call takes, so the two uploads stay far below a GPU binding's limit.
pub const MAX_VALUES: usize = 1 << 24;

/// Two principal components of `rows` points of `dim` channels.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// [rows, 2]: each point's coordinates on the first and second component.
    pub coords: Vec<f32>,
    /// [2, dim]: the unit components, each with its largest-magnitude entry positive.
    pub components: Vec<f32>,
    /// [2]: the share of the total variance along each component (0 for identical points).
    pub explained: [f32; 2],
    /// [dim]: the points' mean, which the projection subtracts.
    pub mean: Vec<f32>,
}

/// Shape and finiteness of the input, with messages that name what is wrong.
pub fn check(points: &[f32], rows: usize, dim: usize) -> Result<()> {
    ensure!(rows >= 2, "project: needs at least 2 points to find their spread, got {rows}");
    ensure!(dim >= 2, "project: needs points of at least 2 channels for a 2-D projection, got {dim}");
    ensure!(dim <= MAX_DIM, "project: dim must be at most {MAX_DIM}, got {dim}");
    ensure!(rows.checked_mul(dim).is_some_and(|n| n <= MAX_VALUES), "project: rows × dim = {rows} × {dim} is more than {MAX_VALUES} values");
    ensure!(points.len() == rows * dim, "project: points has {} values, expected rows × dim = {rows} × {dim} = {}", points.len(), rows * dim);
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(crate::invalid!("project: points[{i}] (point {}, channel {}) is not a finite number", i / dim, i % dim));
    }
    Ok(())
}

/// PCA of `points` [rows, dim] with the covariance computed on `b`.
pub async fn pca<B: Backend>(b: &mut B, points: &[f32], rows: usize, dim: usize) -> Result<Projection> {
    check(points, rows, dim)?;
    let mean = mean(points, rows, dim);
    let centred: Vec<f32> = points.iter().enumerate().map(|(i, &v)| (v as f64 - mean[i % dim]) as f32).collect(); // [rows, dim]
    let mut transposed = vec![0.0f32; rows * dim]; // [dim, rows]
    for (r, row) in centred.chunks_exact(dim).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            transposed[c * rows + r] = v;
        }
    }
    let xt = b.upload(&transposed)?;
    let x = b.upload(&centred)?;
    let gram = b.linear(&Linear::new(&xt, dim, &x, rows, dim, None))?; // [dim, dim]
    let gram = b.read_owned(vec![gram]).await?.pop().expect("one tensor read");
    ensure!(gram.iter().all(|v| v.is_finite()), "project: the covariance overflowed f32; scale the points down (largest |value| {:e})", largest(points));
    let scale = 1.0 / (rows - 1) as f64;
    // Symmetrized: the backend's sums of the (c, c') and (c', c) entries may round apart.
    let cov: Vec<f64> = (0..dim * dim).map(|i| (gram[i] as f64 + gram[(i % dim) * dim + i / dim] as f64) * 0.5 * scale).collect();
    Ok(finish(points, rows, dim, mean, cov))
}

/// The same PCA all in f64 on the host, with the covariance summed directly: the reference the
/// tests hold [`pca`] to.
pub fn pca_reference(points: &[f32], rows: usize, dim: usize) -> Result<Projection> {
    check(points, rows, dim)?;
    let mean = mean(points, rows, dim);
    let mut cov = vec![0.0f64; dim * dim];
    for row in points.chunks_exact(dim) {
        for i in 0..dim {
            let a = row[i] as f64 - mean[i];
            for j in 0..dim {
                cov[i * dim + j] += a * (row[j] as f64 - mean[j]);
            }
        }
    }
    cov.iter_mut().for_each(|v| *v /= (rows - 1) as f64);
    Ok(finish(points, rows, dim, mean, cov))
}

fn mean(points: &[f32], rows: usize, dim: usize) -> Vec<f64> {
    let mut mean = vec![0.0f64; dim];
    for row in points.chunks_exact(dim) {
        mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    mean
}

fn largest(points: &[f32]) -> f32 {
    points.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Eigenvectors of `cov` [dim, dim] → the top two, signed, and the points projected onto them.
fn finish(points: &[f32], rows: usize, dim: usize, mean: Vec<f64>, cov: Vec<f64>) -> Projection {
    let (values, vectors) = symmetric_eigen(cov, dim);
    let mut order: Vec<usize> = (0..dim).collect();
    // Descending; equal values keep their index order, so the choice is deterministic.
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let mut components = vec![0.0f64; 2 * dim];
    let mut explained = [0.0f32; 2];
    for (k, &e) in order.iter().take(2).enumerate() {
        let comp = &mut components[k * dim..(k + 1) * dim];
        comp.iter_mut().enumerate().for_each(|(c, v)| *v = vectors[c * dim + e]);
        // An eigenvector's sign is arbitrary: fix it so the largest-|·| entry (the first of equals) is positive.
        let peak = comp.iter().enumerate().fold(0, |best, (i, v)| if v.abs() > comp[best].abs() { i } else { best });
        if comp[peak] < 0.0 {
            comp.iter_mut().for_each(|v| *v = -*v);
        }
        explained[k] = if total > 0.0 { (values[e].max(0.0) / total) as f32 } else { 0.0 };
    }
    let mut coords = vec![0.0f32; rows * 2];
    for (r, row) in points.chunks_exact(dim).enumerate() {
        for k in 0..2 {
            let comp = &components[k * dim..(k + 1) * dim];
            coords[r * 2 + k] = row.iter().zip(&mean).zip(comp).map(|((&v, m), c)| (v as f64 - m) * c).sum::<f64>() as f32;
        }
    }
    Projection {
        coords,
        components: components.iter().map(|&v| v as f32).collect(),
        explained,
        mean: mean.iter().map(|&v| v as f32).collect(),
    }
}

/// Cyclic Jacobi on a symmetric [n, n] matrix: (eigenvalues, eigenvectors as the columns of an
/// [n, n] matrix). Rotations zero one off-diagonal pair at a time until the off-diagonal mass is
/// negligible; it converges quadratically, in under ten sweeps at n = 64.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let norm: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        if off <= norm * 1e-30 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation angle φ with cot 2φ = θ zeroes a[p][q]; t = tan φ, the smaller root.
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (kp, kq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * kp - s * kq;
                    a[k * n + q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * pk - s * qk;
                    a[q * n + k] = s * pk + c * qk;
                }
                for k in 0..n {
                    let (kp, kq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * kp - s * kq;
                    v[k * n + q] = s * kp + c * kq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalizes_a_known_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)) and 1 (along (1, −1)).
        let (values, v) = symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12, "{values:?}");
        let top = if values[0] > values[1] { 0 } else { 1 };
        assert!((v[top].abs() - v[2 + top].abs()).abs() < 1e-12 && v[top] * v[2 + top] > 0.0);
    }
}
