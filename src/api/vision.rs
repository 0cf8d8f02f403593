//! `pg.loadVisionModel(url, onProgress?)` and `pg.runImage(rgba, width, height)`: DINOv2 on the
//! instance's backend. The downloaded file is kept so the model can be uploaded again to the CPU
//! when the GPU device is lost (the session then reruns the job there).

use std::rc::Rc;

use js_sys::{Float32Array, Object, Promise};
use wasm_bindgen::prelude::*;

use super::fetch::fetch_bytes;
use super::{joined_f32, js_field, parse, Playground};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::models::dinov2::{Dinov2, Dinov2Output};
use crate::playground::Engine;
use crate::weights::dinov2::Dinov2Weights;

#[wasm_bindgen(typescript_custom_section)]
const TS_VISION: &str = r#"
export interface LoadProgress { loaded: number; total: number; }
export interface VisionModelInfo { layers: number; heads: number; hidden: number; patch: number; saliency: boolean; }
export interface ImageResult {
  layers: number; heads: number;
  /** patch grid, e.g. 16 × 16 at 224² */
  gridW: number; gridH: number;
  /** 1 + gridW·gridH (the class token first) */
  tokens: number;
  /** [layers, heads, tokens, tokens] */
  attention: Float32Array;
  /** [height, width] of the model input, in (0, 1): the saliency decoder's output */
  saliency?: Float32Array;
  /** the model input's size: the image resized to a longer side of 224, cropped to whole patches */
  width: number; height: number;
}
"#;

/// The vision model of one `Playground`: its file, and the model uploaded to the backend in use.
#[derive(Default)]
pub(crate) struct VisionState {
    bytes: Option<Rc<Vec<u8>>>,
    cpu: Option<Dinov2<crate::cpu::CpuBackend>>,
    gpu: Option<Dinov2<crate::gpu::GpuBackend>>,
}

/// The model on `b`, uploading it from `bytes` first if needed.
fn ensure<'m, B: Backend>(slot: &'m mut Option<Dinov2<B>>, b: &mut B, bytes: &[u8]) -> Result<&'m mut Dinov2<B>> {
    if slot.is_none() {
        *slot = Some(Dinov2::load(b, Dinov2Weights::from_bytes(bytes.to_vec())?)?);
    }
    Ok(slot.as_mut().expect("just loaded"))
}

impl VisionState {
    fn bytes(&self) -> Result<Rc<Vec<u8>>> {
        self.bytes.clone().ok_or_else(|| Error::Invalid("no vision model loaded: call loadVisionModel(url) first".into()))
    }

    /// Loads onto the engine (if needed) and runs `rgba`; `None` only loads.
    async fn run(&mut self, engine: &mut Engine, image: Option<(&[u8], usize, usize)>) -> Result<Option<Dinov2Output>> {
        let bytes = self.bytes()?;
        match engine {
            Engine::Cpu(b) => {
                self.gpu = None;
                let m = ensure(&mut self.cpu, b, &bytes)?;
                match image {
                    Some((rgba, w, h)) => m.run_image(b, rgba, w, h).await.map(Some),
                    None => Ok(None),
                }
            }
            Engine::Gpu(b) => {
                self.cpu = None;
                let m = ensure(&mut self.gpu, b, &bytes)?;
                match image {
                    Some((rgba, w, h)) => m.run_image(b, rgba, w, h).await.map(Some),
                    None => Ok(None),
                }
            }
        }
    }
}

#[wasm_bindgen]
impl Playground {
    /// `await pg.loadVisionModel('./models/' + manifest.vision, ({ loaded, total }) => ...)`:
    /// downloads the DINOv2 web weights, checks them and uploads them to the backend.
    #[wasm_bindgen(js_name = loadVisionModel, unchecked_return_type = "Promise<VisionModelInfo>")]
    pub fn load_vision_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((p: LoadProgress) => void) | undefined")] on_progress: JsValue,
    ) -> Promise {
        let args = parse::url(&url, "loadVisionModel: url").and_then(|u| Ok((u, parse::callback(&on_progress, "loadVisionModel: onProgress")?)));
        // The download waits its turn too, so a runImage called after this load runs after it.
        self.queue(args, async |shared, (url, on_progress)| {
            let bytes = Rc::new(fetch_bytes(&url, on_progress.as_ref()).await?);
            let config = Dinov2Weights::from_bytes(bytes.to_vec())?.config;
            // `vision` is only touched inside session jobs, which the session lock serializes,
            // so holding its borrow across the job's awaits cannot conflict.
            shared
                .run(async |engine| {
                    let mut state = shared.vision.borrow_mut();
                    *state = VisionState { bytes: Some(bytes.clone()), ..Default::default() };
                    state.run(engine, None).await
                })
                .await?;
            let info = Object::new();
            js_field(&info, "layers", &(config.layers as u32).into());
            js_field(&info, "heads", &(config.heads as u32).into());
            js_field(&info, "hidden", &(config.hidden as u32).into());
            js_field(&info, "patch", &(config.patch as u32).into());
            js_field(&info, "saliency", &config.decoder.is_some().into());
            Ok(info.into())
        })
    }

    /// `await pg.runImage(imageData.data, width, height)`: attention of every layer and head
    /// (and the saliency map) for an RGBA image of any size up to 8192² (resized to a longer
    /// side of 224, centre-cropped to whole 14-pixel patches).
    #[wasm_bindgen(js_name = runImage, unchecked_return_type = "Promise<ImageResult>")]
    pub fn run_image(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] rgba: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
    ) -> Promise {
        let args = (|| {
            let (w, h) = (parse::count(&width, "runImage: width", 0)?, parse::count(&height, "runImage: height", 0)?);
            let rgba = parse::bytes(&rgba, "runImage: rgba", " of width × height × 4 bytes (e.g. ImageData.data)")?;
            crate::vision::check_rgba(&rgba, w, h)?;
            Ok((rgba, w, h))
        })();
        self.queue(args, async |shared, (rgba, w, h)| {
            let (out, layers_heads) = shared
                .run(async |engine| {
                    let mut state = shared.vision.borrow_mut();
                    let out = state.run(engine, Some((&rgba, w, h))).await?;
                    let config = state.cpu.as_ref().map(|m| &m.config).or(state.gpu.as_ref().map(|m| &m.config));
                    Ok((out, config.map(|c| (c.layers, c.heads))))
                })
                .await?;
            let out = out.ok_or_else(|| Error::Invalid("the model produced no output".into()))?;
            let (layers, heads) = layers_heads.unwrap_or_default();
            let r = Object::new();
            js_field(&r, "layers", &(layers as u32).into());
            js_field(&r, "heads", &(heads as u32).into());
            js_field(&r, "gridW", &(out.grid_w as u32).into());
            js_field(&r, "gridH", &(out.grid_h as u32).into());
            js_field(&r, "tokens", &(out.tokens as u32).into());
            js_field(&r, "width", &(out.width as u32).into());
            js_field(&r, "height", &(out.height as u32).into());
            js_field(&r, "attention", &joined_f32(&out.attention).into());
            if let Some(s) = &out.saliency {
                js_field(&r, "saliency", &Float32Array::from(&s[..]).into());
            }
            Ok(r.into())
        })
    }
}
