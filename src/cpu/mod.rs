//! The CPU backend: every op computed in Rust as it is called (SIMD128 on wasm).

mod attention;
pub mod dense;
pub mod upsample;
pub mod pool;

use crate::attention::check::check_args;
use crate::attention::flash;
use crate::attention::rollout::RolloutArgs;
use crate::backend::{AttentionArgs, AttentionOutput, Backend, BackendKind, Col2Im, LayerNorm, Linear, Resize};
use dense::PackedWeight;
use crate::error::Result;

#[derive(Default)]
pub struct CpuBackend {
    /// When the computation now running last gave the host a turn (ms, `Date.now()`), or `None`
    /// between computations (set by the first upload, cleared by `read`).
    #[cfg(target_arch = "wasm32")]
    busy_since: Option<f64>,
}

/// In a page, a `checkpoint` lets the event loop run once this much compute has passed since the
/// last turn it had: input waits at most about this plus one layer.
#[cfg(target_arch = "wasm32")]
const HOST_TURN_EVERY_MS: f64 = 40.0;

impl CpuBackend {
    pub fn new() -> Self {
        CpuBackend::default()
    }
}

/// Resolves after the host's event loop has had a turn: a message to ourselves through a
/// `MessageChannel` waits behind whatever is queued (input comes first in Chromium) without
/// `setTimeout`'s 4 ms clamp; `setTimeout(0)` where there is no `MessageChannel`.
/// (`scheduler.yield()` is not used: its continuation runs ahead of queued tasks.)
#[cfg(target_arch = "wasm32")]
async fn host_turn() {
    use js_sys::{Array, Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let global = js_sys::global();
    let get = |obj: &JsValue, name: &str| Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let call = |obj: &JsValue, name: &str, args: &Array| get(obj, name).dyn_into::<Function>().ok().and_then(|f| Reflect::apply(&f, obj, args).ok());
    let channel = get(&global, "MessageChannel").dyn_into::<Function>().ok().and_then(|c| Reflect::construct(&c, &Array::new()).ok());
    let ports = channel.map(|ch| (get(&ch, "port1"), get(&ch, "port2")));
    let promise = Promise::new(&mut |resolve, _| {
        if let Some((port1, port2)) = &ports {
            let _ = Reflect::set(port1, &JsValue::from_str("onmessage"), &resolve);
            if call(port2, "postMessage", &Array::of1(&JsValue::from(0))).is_some() {
                return;
            }
        }
        if call(&global, "setTimeout", &Array::of2(&resolve, &JsValue::from(0))).is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    // An open port keeps a node process alive.
    for port in ports.iter().flat_map(|(a, b)| [a, b]) {
        call(port, "close", &Array::new());
    }
}

impl Backend for CpuBackend {
    type Tensor = Vec<f32>;
    type Weight = PackedWeight;

    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn upload(&mut self, data: &[f32]) -> Result<Vec<f32>> {
        #[cfg(target_arch = "wasm32")]
        self.busy_since.get_or_insert_with(js_sys::Date::now);
        Ok(data.to_vec())
    }

    fn len(&self, t: &Vec<f32>) -> usize {
        t.len()
    }

    fn upload_weight(&mut self, w: &[f32], in_dim: usize, out_dim: usize) -> Result<PackedWeight> {
        PackedWeight::new(w, in_dim, out_dim)
    }

    fn linear(&mut self, op: &Linear<'_, Vec<f32>, PackedWeight>) -> Result<Vec<f32>> {
        dense::check_linear(op, |t| t.len(), PackedWeight::is)?;
        Ok(dense::linear(op))
    }

    fn col2im(&mut self, op: &Col2Im<'_, Vec<f32>>) -> Result<Vec<f32>> {
        upsample::check_col2im(op, |t| t.len())?;
        Ok(upsample::col2im(op))
    }

    fn resize(&mut self, op: &Resize<'_, Vec<f32>>) -> Result<Vec<f32>> {
        upsample::check_resize(op, |t| t.len())?;
        Ok(upsample::resize(op))
    }

    fn layer_norm(&mut self, op: &LayerNorm<'_, Vec<f32>>) -> Result<Vec<f32>> {
        dense::check_layer_norm(op, |t| t.len())?;
        Ok(dense::layer_norm(op))
    }

    fn attention(&mut self, args: &AttentionArgs<'_, Vec<f32>>) -> Result<AttentionOutput<Vec<f32>>> {
        check_args(args, |t| t.len())?;
        // Without weights to return, the fused kernel never materializes them.
        if !args.spec.return_weights && flash::supports(args.spec) && flash::supports_dims(&args.dims) {
            let output = flash::attention_cpu(args)?;
            return Ok(AttentionOutput { output, weights: None, entropy: None, coverage: None });
        }
        attention::attention(args)
    }

    fn rollout(&mut self, args: &RolloutArgs<'_, Vec<f32>>) -> Result<Vec<f32>> {
        crate::attention::rollout::rollout_cpu(args)
    }

    async fn read(&mut self, tensors: &[&Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        #[cfg(target_arch = "wasm32")]
        {
            self.busy_since = None;
        }
        Ok(tensors.iter().map(|t| t.to_vec()).collect())
    }

    async fn read_owned(&mut self, tensors: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
        #[cfg(target_arch = "wasm32")]
        {
            self.busy_since = None;
        }
        Ok(tensors)
    }

    async fn checkpoint(&mut self) {
        #[cfg(target_arch = "wasm32")]
        if let Some(since) = self.busy_since {
            if js_sys::Date::now() - since >= HOST_TURN_EVERY_MS {
                host_turn().await;
                self.busy_since = Some(js_sys::Date::now());
            }
        }
    }
}
