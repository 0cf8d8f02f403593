//! `crate::projection` (pg.project's PCA): the backend pipeline against the f64 host reference
//! and numpy (scripts/make-pca-fixture.py), CPU against GPU, its traffic, and bad input.

use attention_playground::cpu::CpuBackend;
use attention_playground::projection::{pca, pca_reference, Projection};
use attention_playground::weights::format::WeightFile;
use attention_playground::{Backend, Error};
mod support;
use support::counting::Counting;

const FIXTURE: &str = "tests/fixtures/text/pca.safetensors";

/// A deterministic cloud [rows, dim] with distinct spreads per channel mix, so the top two
/// components are well separated (a tie would make them arbitrary).
fn cloud(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    };
    (0..rows)
        .flat_map(|_| {
            let (a, b) = (next() * 4.0, next() * 1.5);
            (0..dim).map(|c| a * ((c % 3) as f32 - 1.0) + b * ((c % 2) as f32 - 0.5) + 0.2 * next() + 1.0).collect::<Vec<_>>()
        })
        .collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Components within `tol`, explained shares within `tol`, and coordinates within `tol` relative
/// to the cloud's largest coordinate.
fn close(label: &str, got: &Projection, want: &Projection, tol: f32) {
    assert!(max_abs(&got.components, &want.components) < tol, "{label}: components {:?} vs {:?}", &got.components[..4], &want.components[..4]);
    assert!(max_abs(&got.explained, &want.explained) < tol, "{label}: explained {:?} vs {:?}", got.explained, want.explained);
    let scale = want.coords.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    assert!(max_abs(&got.coords, &want.coords) / scale < tol, "{label}: coords differ by {}", max_abs(&got.coords, &want.coords));
}

fn run<B: Backend>(b: &mut B, points: &[f32], rows: usize, dim: usize) -> attention_playground::Result<Projection> {
    pollster::block_on(pca(b, points, rows, dim))
}

#[test]
fn cpu_matches_the_f64_reference_with_one_read() {
    let mut b = Counting::new(CpuBackend::new());
    // 1024 rows: the queries and keys of 512 tokens; 9 × 5 does not divide any tile.
    for (rows, dim) in [(1024, 64), (2 * 12, 32), (9, 5), (2, 2)] {
        let points = cloud(rows, dim, rows as u64);
        b.reset();
        let got = run(&mut b, &points, rows, dim).unwrap();
        assert_eq!((b.reads, b.uploads), (1, 2), "{rows}×{dim}: one read, two uploads");
        let want = pca_reference(&points, rows, dim).unwrap();
        close(&format!("cpu {rows}×{dim}"), &got, &want, 1e-4);
        // The coordinates are the centred points on the unit components: their variance along
        // the first is the explained share of the total variance.
        let var0: f64 = (0..rows).map(|r| (got.coords[r * 2] as f64).powi(2)).sum::<f64>() / (rows - 1) as f64;
        let total: f64 = (0..dim).map(|c| (0..rows).map(|r| (points[r * dim + c] as f64 - got.mean[c] as f64).powi(2)).sum::<f64>()).sum::<f64>() / (rows - 1) as f64;
        assert!((var0 / total - got.explained[0] as f64).abs() < 1e-4, "{rows}×{dim}: {var0}/{total} vs {}", got.explained[0]);
        assert!(got.explained[0] >= got.explained[1]);
    }
}

#[test]
fn matches_numpy_on_minilm_queries_and_keys() {
    let file = WeightFile::parse(std::fs::read(FIXTURE).unwrap()).unwrap();
    let keys: Vec<String> = file.names().iter().filter_map(|n| n.strip_suffix(".points").map(String::from)).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    let mut b = CpuBackend::new();
    let mut gpu = support::gpu();
    for key in keys {
        let shape = file.shape(&format!("{key}.points")).unwrap().to_vec();
        let (rows, dim) = (shape[0], shape[1]);
        let points = file.tensor(&format!("{key}.points"), &[rows, dim]).unwrap();
        let want = Projection {
            coords: file.tensor(&format!("{key}.coords"), &[rows, 2]).unwrap(),
            components: file.tensor(&format!("{key}.components"), &[2, dim]).unwrap(),
            explained: file.tensor(&format!("{key}.explained"), &[2]).unwrap().try_into().unwrap(),
            mean: vec![],
        };
        close(&format!("numpy {key} reference"), &pca_reference(&points, rows, dim).unwrap(), &want, 1e-5);
        close(&format!("numpy {key} cpu"), &run(&mut b, &points, rows, dim).unwrap(), &want, 1e-4);
        if let Some(g) = gpu.as_mut() {
            close(&format!("numpy {key} gpu"), &run(g, &points, rows, dim).unwrap(), &want, 1e-4);
        }
    }
}

#[test]
fn gpu_matches_cpu_in_one_submission() {
    let Some(g) = support::gpu() else { return };
    let mut g = Counting::new(g);
    let mut c = CpuBackend::new();
    for (rows, dim) in [(1024, 64), (1000, 32), (33, 7), (3, 2)] {
        let points = cloud(rows, dim, 7 + rows as u64);
        g.reset();
        let got = run(&mut g, &points, rows, dim).unwrap();
        // read is where the GPU backend submits and maps: one submission, one readback.
        assert_eq!(g.reads, 1, "{rows}×{dim}");
        close(&format!("gpu vs cpu {rows}×{dim}"), &got, &run(&mut c, &points, rows, dim).unwrap(), 1e-4);
    }
}

#[test]
fn degenerate_clouds_give_finite_output() {
    let mut b = CpuBackend::new();
    // Identical points: no spread at all.
    let same = vec![1.5f32; 10 * 4];
    let p = run(&mut b, &same, 10, 4).unwrap();
    assert_eq!(p.explained, [0.0, 0.0]);
    assert!(p.coords.iter().all(|&v| v == 0.0));
    assert!(p.components.iter().all(|v| v.is_finite()));
    // All spread along one channel: the first component is that axis, signed positive.
    let line: Vec<f32> = (0..8).flat_map(|r| [0.0, r as f32, 0.0]).collect();
    let p = run(&mut b, &line, 8, 3).unwrap();
    assert!((p.components[1] - 1.0).abs() < 1e-6 && (p.explained[0] - 1.0).abs() < 1e-6, "{p:?}");
    // The same input twice gives the same bits (the sign convention and the tie order are fixed).
    let points = cloud(50, 8, 3);
    assert_eq!(run(&mut b, &points, 50, 8).unwrap(), run(&mut b, &points, 50, 8).unwrap());
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut b = CpuBackend::new();
    let mut message = |points: &[f32], rows, dim| match run(&mut b, points, rows, dim) {
        Err(Error::Invalid(m)) => m,
        other => panic!("expected an error for {rows}×{dim}, got {other:?}"),
    };
    assert!(message(&[], 0, 4).contains("at least 2 points"));
    assert!(message(&[1.0; 4], 4, 1).contains("at least 2 channels"));
    assert!(message(&[1.0; 7], 2, 4).contains("points has 7 values, expected rows × dim = 2 × 4 = 8"));
    assert!(message(&vec![0.0; 2 * 300], 2, 300).contains("dim must be at most 256"));
    let mut nan = vec![0.5f32; 12];
    nan[7] = f32::NAN;
    assert!(message(&nan, 3, 4).contains("points[7] (point 1, channel 3) is not a finite number"));
    nan[7] = f32::INFINITY;
    assert!(message(&nan, 3, 4).contains("not a finite number"));
    // Finite but too large to square in f32.
    let huge: Vec<f32> = (0..8).map(|i| if (i / 2) % 2 == 0 { 3e38 } else { -3e38 }).collect();
    assert!(message(&huge, 4, 2).contains("overflowed"));
    assert!(matches!(pca_reference(&[], 0, 2), Err(Error::Invalid(_))));
}
