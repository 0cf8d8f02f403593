//! wasm exports for `run.mjs`: build the operands once, then time `run` from JavaScript.

use attention_playground::backend::{Activation, LayerNorm, Linear, Weight};
use attention_playground::cpu::dense;
use wasm_bindgen::prelude::*;

use dense::seeded_uniform as random;

#[wasm_bindgen]
pub struct DenseBench {
    rows: usize,
    k: usize,
    n: usize,
    gelu: bool,
    x: Vec<f32>,
    w: Vec<f32>,
    /// `w` packed once, as the models hold their weights on the CPU.
    packed: dense::PackedWeight,
    b: Vec<f32>,
    gamma: Vec<f32>,
}

#[wasm_bindgen]
impl DenseBench {
    #[wasm_bindgen(constructor)]
    pub fn new(rows: usize, k: usize, n: usize, gelu: bool) -> DenseBench {
        let w = random(k * n, 2, 1.0 / (k as f32).sqrt());
        DenseBench {
            rows,
            k,
            n,
            gelu,
            x: random(rows * k, 1, 1.0),
            packed: dense::PackedWeight::new(&w, k, n).expect("a k × n weight"),
            w,
            b: random(n, 3, 0.1),
            gamma: random(k, 4, 1.0),
        }
    }

    fn op(&self) -> Linear<'_, Vec<f32>, dense::PackedWeight> {
        let mut op = Linear::new(&self.x, self.rows, &self.w, self.k, self.n, Some(&self.b));
        if self.gelu {
            op.activation = Activation::Gelu;
        }
        op
    }

    /// The fast kernel; returns one output value so the work cannot be optimized away.
    pub fn linear(&self) -> f32 {
        dense::linear(&self.op())[self.rows * self.n / 2]
    }

    /// The same product on the weights packed at load time (the models' path).
    fn packed_op(&self) -> Linear<'_, Vec<f32>, dense::PackedWeight> {
        Linear { w: Weight::Uploaded(&self.packed), ..self.op() }
    }

    /// The fast kernel on packed weights.
    pub fn linear_packed(&self) -> f32 {
        dense::linear(&self.packed_op())[self.rows * self.n / 2]
    }

    pub fn reference(&self) -> f32 {
        dense::reference::linear(&self.op())[self.rows * self.n / 2]
    }

    /// Largest |fast (packed weights) − reference| (0 when the two paths agree exactly).
    pub fn max_diff(&self) -> f32 {
        let a = dense::linear(&self.packed_op());
        let b = dense::reference::linear(&self.op());
        a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max)
    }

    /// LayerNorm of x ([rows, k]).
    pub fn layer_norm(&self) -> f32 {
        let op = LayerNorm { x: &self.x, rows: self.rows, dim: self.k, gamma: &self.gamma, beta: &self.gamma, eps: 1e-12 };
        dense::layer_norm(&op)[0]
    }
}

/// Decodes `n` f16 values to f32 the way the weight loader does; returns a checksum.
#[wasm_bindgen]
pub fn f16_decode(bytes: &[u8]) -> f32 {
    let v: Vec<f32> = bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
    v[v.len() / 2]
}

/// One MiniLM-style self-attention call on the CPU backend: q | k | v side by side in each row
/// (as the fused QKV projection leaves them), scaled dot product, softmax, weights returned.
#[wasm_bindgen]
pub struct AttentionBench {
    dims: attention_playground::attention::AttentionDims,
    qkv: Vec<f32>,
}

#[wasm_bindgen]
impl AttentionBench {
    #[wasm_bindgen(constructor)]
    pub fn new(heads: usize, seq: usize, head_dim: usize) -> AttentionBench {
        let dims = attention_playground::attention::AttentionDims { heads, seq_q: seq, seq_k: seq, head_dim };
        AttentionBench { dims, qkv: random(seq * 3 * heads * head_dim, 5, 2.0) }
    }

    /// Returns one weight so the work cannot be optimized away.
    pub fn run(&self) -> f32 {
        use attention_playground::backend::{AttentionArgs, Backend};
        let spec = attention_playground::attention::AttentionSpec::default();
        let out = attention_playground::cpu::CpuBackend::new().attention(&AttentionArgs::fused_qkv(self.dims, &self.qkv, &spec)).expect("attention");
        out.weights.expect("weights")[self.dims.seq_k / 2]
    }
}

/// One bare matrix product `x [rows, k] · w [k, n]` with w packed, as attention runs its two
/// per head (q·kᵀ: k = head dim; weights·v: n = head dim).
#[wasm_bindgen]
pub struct ProductBench {
    rows: usize,
    k: usize,
    n: usize,
    x: Vec<f32>,
    packed: Vec<f32>,
    y: Vec<f32>,
}

#[wasm_bindgen]
impl ProductBench {
    #[wasm_bindgen(constructor)]
    pub fn new(rows: usize, k: usize, n: usize) -> ProductBench {
        let w = random(k * n, 7, 1.0 / (k as f32).sqrt());
        ProductBench { rows, k, n, x: random(rows * k, 8, 1.0), packed: dense::pack_weight(&w, k, n), y: vec![0.0; rows * n] }
    }

    pub fn run(&mut self) -> f32 {
        dense::matmul_packed_into(&self.x, self.k, &self.packed, self.rows, self.k, self.n, &mut self.y, self.n);
        self.y[self.y.len() / 2]
    }
}
