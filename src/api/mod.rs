//! The public JS API (wasm-bindgen): `Playground` and its option objects.
//!
//! The boundary holds no logic: it reads arguments into Rust types (with `parse`'s rules, when the
//! call is made), runs `crate::playground`, and returns typed arrays. Every `Error` becomes a
//! `JsError` carrying its message; every promise settles (`settle`).
//!
//! Other views extend `Playground` from sibling files (`text.rs`, `vision.rs`) with their own
//! `#[wasm_bindgen] impl Playground { ... }` blocks, using `Playground::queue` and `Shared::run`.

mod attention;
mod fetch;
mod files;
mod mechanisms;
mod parse;
mod project;
mod settle;
mod text;
mod vision;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::lock::Mutex;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::models::bert::MiniLm;
use crate::playground::{Engine, Model, ModelSlot, Session};
use crate::models::dinov2::Dinov2Weights;

pub(crate) use attention::{joined_f32, js_field};
pub(crate) use settle::{js_error, rejected};

#[wasm_bindgen(start)]
fn start() {
    settle::install_panic_hook();
}

#[wasm_bindgen(typescript_custom_section)]
const TS_CREATE: &str = r#"
export interface CreateOptions {
  /** 'auto' (default): WebGPU when an adapter and device can be had, else the CPU. */
  backend?: 'auto' | 'webgpu' | 'cpu';
}
export interface BackendChange {
  backend: 'webgpu' | 'cpu';
  reason: string;
}
"#;

/// State shared by a `Playground` and the computations it has in flight.
pub(crate) struct Shared {
    /// The engine; `line` already orders the calls, the lock hands it to one at a time.
    pub(crate) session: Mutex<Session>,
    /// The line of calls: each call, when it is made, takes the signal the call before it gives
    /// when done, so calls (loads and their downloads included) run in call order whatever order
    /// their futures are first polled in.
    line: RefCell<Option<oneshot::Receiver<()>>>,
    /// The backend in use, readable without waiting for the lock.
    kind: Cell<BackendKind>,
    fallback_reason: RefCell<Option<String>>,
    on_backend_change: RefCell<Option<js_sys::Function>>,
    /// The DINOv2 model, once `loadVisionModel` has run (see `vision.rs`).
    pub(crate) vision: RefCell<Option<ModelSlot<Dinov2Weights>>>,
    /// The MiniLM model, once `loadTextModel` has run (see `text.rs`).
    pub(crate) text: RefCell<Option<ModelSlot<MiniLm>>>,
}

/// A place in an instance's line (see `Shared::line`), taken when the call is made.
pub(crate) struct Turn {
    before: Option<oneshot::Receiver<()>>,
    /// Dropped when this call is done, which lets the next one go.
    done: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until every call made before this one is done; this call is done when the value
    /// returned is dropped.
    pub(crate) async fn wait(self) -> oneshot::Sender<()> {
        if let Some(before) = self.before {
            // Err only means the call before was dropped: done as well.
            let _ = before.await;
        }
        self.done
    }
}

impl Shared {
    fn take_turn(&self) -> Turn {
        let (done, next) = oneshot::channel();
        Turn { before: self.line.replace(Some(next)), done }
    }

    /// Runs `job` on the session's engine (moving to the CPU and rerunning if the GPU device is
    /// lost), then publishes any backend change to JS.
    pub(crate) async fn run<R>(&self, job: impl AsyncFnMut(&mut Engine) -> Result<R>) -> Result<R> {
        let mut session = self.session.lock().await;
        let before = session.kind();
        let result = session.run(job).await;
        self.publish(&session, before);
        result
    }

    /// Puts `model` in `slot` (the instance's text or vision model) and uploads it to the engine.
    /// A slot is only touched inside session jobs, which the session lock serializes, so holding
    /// its borrow across the job's awaits cannot conflict. The job may rerun (after a device
    /// loss), hence the model is placed once and loaded each time.
    pub(crate) async fn install<M: Model>(&self, slot: &RefCell<Option<ModelSlot<M>>>, model: M, not_loaded: fn() -> Error) -> Result<()> {
        let mut fresh = Some(ModelSlot::new(model));
        self.run(async |engine| {
            let mut held = slot.borrow_mut();
            if let Some(s) = fresh.take() {
                *held = Some(s);
            }
            held.as_mut().ok_or_else(not_loaded)?.load(engine)
        })
        .await
    }

    fn publish(&self, session: &Session, before: BackendKind) {
        self.kind.set(session.kind());
        *self.fallback_reason.borrow_mut() = session.fallback_reason.clone();
        if before != session.kind() {
            let callback = self.on_backend_change.borrow().clone();
            if let Some(f) = callback {
                let event = js_sys::Object::new();
                js_field(&event, "backend", &session.kind().js_name().into());
                js_field(&event, "reason", &session.fallback_reason.clone().unwrap_or_default().into());
                // A throwing listener must not fail the computation that triggered it.
                if let Err(e) = f.call1(&JsValue::NULL, &event) {
                    web_sys::console::error_2(&"backendchange listener threw".into(), &e);
                }
            }
        }
    }
}

/// Which of the two builds in `pkg/` is running: `'relaxed'` (relaxed SIMD: the CPU matmuls use
/// fused multiply-add; the default `init()` picks it where the engine validates it) or `'simd128'`.
#[wasm_bindgen(js_name = wasmSimd, unchecked_return_type = "'relaxed' | 'simd128'")]
pub fn wasm_simd() -> String {
    if cfg!(target_feature = "relaxed-simd") { "relaxed" } else { "simd128" }.into()
}

/// Starts the CPU path's thread pool (the `threads` build, which the default `init()` loads where
/// the page is cross-origin isolated) with `n` threads (default: `navigator.hardwareConcurrency`);
/// resolves to the number in use. Call it from the thread that ran `init()` (a page, or the
/// Worker the engine lives in). Once the pool runs, a second call sets how many of its threads
/// are used (1 = single-threaded); the numbers are the same bits on any count. Other builds
/// resolve to 1.
#[wasm_bindgen(js_name = initThreads)]
pub async fn init_threads(n: Option<u32>) -> std::result::Result<u32, JsValue> {
    #[cfg(feature = "threads")]
    {
        use std::sync::atomic::{AtomicU32, Ordering};
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = match n {
            Some(n) => n,
            None => js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
                .and_then(|nav| js_sys::Reflect::get(&nav, &"hardwareConcurrency".into()))
                .ok()
                .and_then(|v| v.as_f64())
                .map_or(1, |v| v as u32),
        }
        .max(1);
        if STARTED.load(Ordering::Relaxed) == 0 {
            wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(n as usize)).await?;
            STARTED.store(n, Ordering::Relaxed);
        }
        crate::cpu::pool::set_threads(n as usize);
        Ok(crate::cpu::pool::threads() as u32)
    }
    #[cfg(not(feature = "threads"))]
    {
        let _ = n;
        Ok(1)
    }
}

/// How many threads the CPU path uses now: 1 until `initThreads` has started the pool.
#[wasm_bindgen]
pub fn threads() -> u32 {
    crate::cpu::pool::threads() as u32
}

/// An attention playground bound to one backend (WebGPU or the CPU).
#[wasm_bindgen]
pub struct Playground {
    pub(crate) shared: Rc<Shared>,
}

#[wasm_bindgen]
impl Playground {
    /// `await Playground.create({ backend: 'auto' | 'webgpu' | 'cpu' })`. `'webgpu'` rejects with a
    /// clear error when no adapter or device can be had; `'auto'` then uses the CPU.
    #[wasm_bindgen(unchecked_return_type = "Promise<Playground>")]
    pub fn create(#[wasm_bindgen(unchecked_param_type = "CreateOptions | undefined")] opts: JsValue) -> Promise {
        let choice = match attention::parse_create(&opts) {
            Ok(c) => c,
            Err(e) => return rejected(e),
        };
        settle::spawn(async move {
            let session = Session::create(choice).await?;
            let pg = Playground {
                shared: Rc::new(Shared {
                    kind: Cell::new(session.kind()),
                    fallback_reason: RefCell::new(session.fallback_reason.clone()),
                    session: Mutex::new(session),
                    line: RefCell::new(None),
                    on_backend_change: RefCell::new(None),
                    vision: RefCell::default(),
                    text: RefCell::default(),
                }),
            };
            Ok(pg.into())
        })
    }

    /// The backend really in use: `'webgpu'` or `'cpu'`.
    #[wasm_bindgen(getter, unchecked_return_type = "'webgpu' | 'cpu'")]
    pub fn backend(&self) -> String {
        self.shared.kind.get().js_name().into()
    }

    /// Why this instance computes on the CPU although WebGPU was acceptable (no adapter with
    /// `'auto'`, or the device was lost); `undefined` while it uses what was asked for.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.shared.fallback_reason.borrow().clone()
    }

    /// Called with `{ backend, reason }` when the instance moves to another backend (the GPU
    /// device was lost and it continues on the CPU). Set to `null` to remove.
    #[wasm_bindgen(setter, js_name = onbackendchange)]
    pub fn set_onbackendchange(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((e: BackendChange) => void) | null")] f: JsValue,
    ) -> std::result::Result<(), JsValue> {
        settle::usable()?;
        *self.shared.on_backend_change.borrow_mut() = parse::callback(&f, "onbackendchange").map_err(js_error)?;
        Ok(())
    }

    /// FOR TESTS: destroys the GPU device as a driver reset would; the next computation finds it
    /// lost, moves the instance to the CPU and reruns there. Does nothing on the CPU.
    #[wasm_bindgen(js_name = simulateDeviceLoss, unchecked_return_type = "Promise<void>")]
    pub fn simulate_device_loss(&self) -> Promise {
        self.queue(Ok(()), async |shared, ()| {
            let session = shared.session.lock().await;
            if let Engine::Gpu(gpu) = &session.engine {
                gpu.simulate_device_loss();
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// FOR TESTS ONLY, not part of the API (absent from the .d.ts): panics inside the module as a
    /// bug would (`'oom'`: runs out of memory), to check that every pending promise rejects and
    /// later calls refuse at once.
    #[wasm_bindgen(js_name = __panicForTest, skip_typescript)]
    pub fn panic_for_test(&self, how: JsValue) -> Promise {
        settle::spawn(async move {
            if how.as_string().as_deref() == Some("oom") {
                // wasm32 memory ends at 4 GiB: the second or third of these cannot be had.
                let hoard: Vec<Vec<u8>> = (0..3).map(|_| Vec::with_capacity(i32::MAX as usize - 4096)).collect();
                return Ok(JsValue::from(hoard.len() as u32));
            }
            panic!("__panicForTest was called")
        })
    }

    /// `await pg.attention({ q, k, v, heads, seqQ, seqK, headDim, score, temperature,
    /// normalizer, mask, positions, additive, dropout, stats, returnWeights })`.
    #[wasm_bindgen(unchecked_return_type = "Promise<AttentionResult>")]
    pub fn attention(&self, #[wasm_bindgen(unchecked_param_type = "AttentionOptions")] opts: JsValue) -> Promise {
        self.queue(attention::parse_request(&opts), async |shared, req| {
            let result = shared
                .run(async |engine| crate::on_backend!(engine, b => crate::playground::run_attention(b, &req).await))
                .await?;
            Ok(attention::result_to_js(result, shared.kind.get()))
        })
    }
}

impl Playground {
    /// The promise of one call: `args` were read when the call was made (so the caller's arrays
    /// are copied then, and bad ones reject at once); `work` runs after every call made before
    /// it on this instance is done.
    pub(crate) fn queue<A: 'static>(
        &self,
        args: Result<A>,
        work: impl AsyncFnOnce(Rc<Shared>, A) -> Result<JsValue> + 'static,
    ) -> Promise {
        if let Err(e) = settle::usable() {
            return Promise::reject(&e);
        }
        let args = match args {
            Ok(a) => a,
            Err(e) => return rejected(e),
        };
        let turn = self.shared.take_turn();
        let shared = self.shared.clone();
        settle::spawn(async move {
            let _done = turn.wait().await;
            work(shared, args).await
        })
    }
}
