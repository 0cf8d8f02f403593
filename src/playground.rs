//! What a `Playground` instance is, independent of JavaScript: the backend it chose, the move to
//! the CPU when the GPU device is lost, and one attention computation end to end (upload →
//! kernel → one readback). `api` wraps this for the browser; native tests drive it directly.

use crate::attention::{AttentionDims, AttentionSpec};
use crate::backend::{AttentionArgs, Backend, BackendKind, HeadLayout};
use crate::cpu::CpuBackend;
use crate::ensure;
use crate::error::{Error, Result};
use crate::gpu::GpuBackend;

pub mod mechanisms;
pub mod models;

pub use models::{Model, ModelSlot};

/// What `Playground.create({ backend })` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// WebGPU when an adapter and a device can be had, else the CPU.
    Auto,
    /// WebGPU or an error.
    WebGpu,
    Cpu,
}

impl BackendChoice {
    pub fn parse(name: &str) -> Result<BackendChoice> {
        match name {
            "auto" => Ok(BackendChoice::Auto),
            "webgpu" => Ok(BackendChoice::WebGpu),
            "cpu" => Ok(BackendChoice::Cpu),
            other => Err(crate::invalid!("backend must be 'auto', 'webgpu' or 'cpu', got '{other}'")),
        }
    }
}

/// The backend an instance computes on.
pub enum Engine {
    Cpu(CpuBackend),
    Gpu(GpuBackend),
}

/// Runs `$body` with `$b` bound to the engine's backend, whichever it is, so generic code
/// (`fn f<B: Backend>(b: &mut B)`) is written once: `on_backend!(engine, b => f(b).await)`.
#[macro_export]
macro_rules! on_backend {
    ($engine:expr, $b:ident => $body:expr) => {
        match $engine {
            $crate::playground::Engine::Cpu($b) => $body,
            $crate::playground::Engine::Gpu($b) => $body,
        }
    };
}

impl Engine {
    pub fn kind(&self) -> BackendKind {
        match self {
            Engine::Cpu(_) => BackendKind::Cpu,
            Engine::Gpu(_) => BackendKind::Gpu,
        }
    }
}

/// An engine plus the story of how it got there.
pub struct Session {
    pub engine: Engine,
    /// Why this session computes on the CPU although WebGPU was acceptable: no adapter at
    /// creation (`auto`), or the device was lost later. `None` while it uses what was asked for.
    pub fallback_reason: Option<String>,
}

impl Session {
    pub fn cpu() -> Session {
        Session { engine: Engine::Cpu(CpuBackend::new()), fallback_reason: None }
    }

    pub async fn create(choice: BackendChoice) -> Result<Session> {
        match choice {
            BackendChoice::Cpu => Ok(Session::cpu()),
            BackendChoice::WebGpu => {
                let gpu = GpuBackend::new().await?;
                Ok(Session { engine: Engine::Gpu(gpu), fallback_reason: None })
            }
            BackendChoice::Auto => Ok(match GpuBackend::new().await {
                Ok(gpu) => Session { engine: Engine::Gpu(gpu), fallback_reason: None },
                Err(e) => Session { engine: Engine::Cpu(CpuBackend::new()), fallback_reason: Some(e.to_string()) },
            }),
        }
    }

    pub fn kind(&self) -> BackendKind {
        self.engine.kind()
    }

    /// Runs `job` on the engine. If the GPU device is lost during it, the session moves to the
    /// CPU for good, records why, and runs `job` again there — the caller sees only the result.
    /// `job` must therefore be repeatable (upload its own inputs; keep no GPU tensors across).
    pub async fn run<R>(&mut self, mut job: impl AsyncFnMut(&mut Engine) -> Result<R>) -> Result<R> {
        match job(&mut self.engine).await {
            Err(Error::DeviceLost(reason)) if self.kind() == BackendKind::Gpu => {
                self.lose_gpu(reason);
                job(&mut self.engine).await
            }
            other => other,
        }
    }

    /// Moves to the CPU, recording why.
    pub fn lose_gpu(&mut self, reason: String) {
        self.engine = Engine::Cpu(CpuBackend::new());
        self.fallback_reason = Some(format!("GPU device lost: {reason}"));
    }
}

/// One attention call as the JS API states it: q [heads, seqQ, headDim], k and v
/// [heads, seqK, headDim], all row-major.
pub struct AttentionRequest {
    pub dims: AttentionDims,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub spec: AttentionSpec,
}

pub struct AttentionResult {
    /// [heads, seqQ, seqK], when `spec.return_weights`.
    pub weights: Option<Vec<f32>>,
    /// [heads, seqQ, headDim]
    pub output: Vec<f32>,
    /// [heads, seqQ], when `spec.stats`.
    pub entropy: Option<Vec<f32>>,
    /// [heads, seqK], when `spec.stats`.
    pub coverage: Option<Vec<f32>>,
}

impl AttentionRequest {
    /// Checks sizes, lengths and the spec, with messages in the JS API's terms.
    pub fn validate(&self) -> Result<()> {
        self.spec.validate(&self.dims)?;
        let AttentionDims { heads, seq_q, seq_k, head_dim } = self.dims;
        for (name, data, seq, seq_name) in [("q", &self.q, seq_q, "seqQ"), ("k", &self.k, seq_k, "seqK"), ("v", &self.v, seq_k, "seqK")] {
            let want = heads * seq * head_dim;
            ensure!(
                data.len() == want,
                "{name} must have heads × {seq_name} × headDim = {heads} × {seq} × {head_dim} = {want} values, got {}",
                data.len()
            );
            if let Some(i) = data.iter().position(|x| !x.is_finite()) {
                return Err(crate::invalid!("{name}[{i}] must be a finite number, got {}", data[i]));
            }
        }
        Ok(())
    }
}

/// Uploads q, k, v, runs the attention kernel(s) and reads everything back in one readback.
pub async fn run_attention<B: Backend>(backend: &mut B, req: &AttentionRequest) -> Result<AttentionResult> {
    req.validate()?;
    let AttentionDims { seq_q, seq_k, head_dim, .. } = req.dims;
    let q = backend.upload(&req.q)?;
    let k = backend.upload(&req.k)?;
    let v = backend.upload(&req.v)?;
    let out = backend.attention(&AttentionArgs {
        dims: req.dims,
        q: &q,
        q_layout: HeadLayout::head_major(seq_q, head_dim),
        k: &k,
        k_layout: HeadLayout::head_major(seq_k, head_dim),
        v: &v,
        v_layout: HeadLayout::head_major(seq_k, head_dim),
        out_layout: HeadLayout::head_major(seq_q, head_dim),
        spec: &req.spec,
    })?;
    read_attention(backend, &out.output, &out).await
}

/// Reads `output` and whatever else `out` holds (weights, entropy, coverage) in one readback.
/// `output` is `out.output` for plain attention, or a projection of it (multi-head).
pub async fn read_attention<B: Backend>(backend: &mut B, output: &B::Tensor, out: &crate::backend::AttentionOutput<B::Tensor>) -> Result<AttentionResult> {
    let mut wanted = vec![output];
    wanted.extend(out.weights.iter().chain(&out.entropy).chain(&out.coverage));
    let mut read = backend.read(&wanted).await?.into_iter();
    let output = read.next().ok_or_else(|| crate::invalid!("the backend returned no output"))?;
    let mut take = |present: bool| if present { read.next() } else { None };
    let weights = take(out.weights.is_some());
    let entropy = take(out.entropy.is_some());
    let coverage = take(out.coverage.is_some());
    Ok(AttentionResult { weights, output, entropy, coverage })
}
