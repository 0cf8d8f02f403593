//! `pg.loadVisionModel(url, onProgress?)` and `pg.runImage(rgba, width, height)`: DINOv2 on the
//! instance's backend, held in a `ModelSlot` (which uploads it again to the CPU when the GPU device
//! is lost). The file is parsed once; the parsed weights are the host copy.
//! `pg.loadVisionModelFiles(files, onProgress?)` puts a ViT / DINOv2 image encoder converted from
//! a Hugging Face folder's files (`weights/hf_vit.rs`) in the same place.

use js_sys::{Float32Array, Object, Promise};
use wasm_bindgen::prelude::*;

use super::fetch::fetch_bytes;
use super::{files, joined_f32, js_field, parse, Playground, Shared};
use crate::error::Error;
use crate::models::dinov2::{Dinov2Weights, Image};
use crate::weights::hf_vit;

#[wasm_bindgen(typescript_custom_section)]
const TS_VISION: &str = r#"
export interface LoadProgress { loaded: number; total: number; }
export interface VisionModelInfo {
  layers: number; heads: number; hidden: number; patch: number;
  /** whether runImage returns a saliency map (the built-in model's decoder; never for a model from files) */
  saliency: boolean;
  /** register tokens (DINOv2 with registers): the last `registers` tokens of every result */
  registers: number;
  /** the longer side images are resized to (224 built in; a model from files: its preprocessor's crop size or config image_size) */
  imageSize: number;
  /** "dinov2" (built in), or the files' model_type: "vit", "dinov2", "dinov2_with_registers" */
  modelType: string;
  /** a model from files: its folder's name, when the files came with paths */
  name?: string;
}
export interface ImageResult {
  layers: number; heads: number;
  /** patch grid, e.g. 16 × 16 at 224² */
  gridW: number; gridH: number;
  /** 1 + gridW·gridH + registers: the class token, the patches row by row, then any registers */
  tokens: number;
  /** register tokens at the end of the token order (0 but for DINOv2 with registers) */
  registers: number;
  /** [layers, heads, tokens, tokens] */
  attention: Float32Array;
  /** [height, width] of the model input, in (0, 1): the saliency decoder's output */
  saliency?: Float32Array;
  /** the model input's size: the image resized to a longer side of imageSize, cropped to whole patches */
  width: number; height: number;
  /** only when `runImage(rgba, w, h, { capture })` asked for it; `x` is the layer input after
   *  its first LayerNorm (DINOv2 is pre-LN), which q, k and v are projected from */
  capture?: HeadCapture;
}
export interface RunImageOptions {
  /** keep one head's q, k, v (0-based layer and head): [tokens, headDim] each */
  capture?: { layer: number; head: number };
}
"#;

fn not_loaded() -> Error {
    Error::Invalid("no vision model loaded: call loadVisionModel(url) first".into())
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
            let weights = Dinov2Weights::from_bytes(fetch_bytes(&url, on_progress.as_ref()).await?)?;
            install(&shared, weights, None).await
        })
    }

    /// `await pg.loadVisionModelFiles(files, onProgress?)`: converts a Hugging Face image-encoder
    /// folder's files (`config.json`, `model.safetensors`, optionally `preprocessor_config.json`;
    /// any order, other files ignored; ViTModel, Dinov2Model, Dinov2WithRegistersModel) in the page
    /// and uploads it like `loadVisionModel`, which it replaces. A folder it cannot use rejects
    /// with what is missing or unsupported, and the model loaded before stays.
    #[wasm_bindgen(js_name = loadVisionModelFiles, unchecked_return_type = "Promise<VisionModelInfo>")]
    pub fn load_vision_model_files(
        &self,
        #[wasm_bindgen(unchecked_param_type = "File[]")] files: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((p: LoadProgress) => void) | undefined")] on_progress: JsValue,
    ) -> Promise {
        let args = files::offered(&files, "loadVisionModelFiles: files").and_then(|f| Ok((f, parse::callback(&on_progress, "loadVisionModelFiles: onProgress")?)));
        self.queue(args, async |shared, (offered, on_progress)| {
            let files = files::read(offered, &hf_vit::FILES, on_progress.as_ref()).await?;
            let name = files.name.clone();
            install(&shared, hf_vit::from_files(files)?, name).await
        })
    }

    /// `await pg.runImage(imageData.data, width, height, { capture: { layer, head } }?)`:
    /// attention of every layer and head (and the saliency map, with the built-in model) for an
    /// RGBA image of any size up to 8192² (resized to a longer side of the model's image size, 224
    /// built in, centre-cropped to whole patches), plus one head's q, k, v when asked.
    #[wasm_bindgen(js_name = runImage, unchecked_return_type = "Promise<ImageResult>")]
    pub fn run_image(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] rgba: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RunImageOptions")] options: JsValue,
    ) -> Promise {
        let args = (|| {
            let (w, h) = (parse::count(&width, "runImage: width", 0)?, parse::count(&height, "runImage: height", 0)?);
            let rgba = parse::bytes(&rgba, "runImage: rgba", " of width × height × 4 bytes (e.g. ImageData.data)")?;
            crate::vision::check_rgba(&rgba, w, h)?;
            let capture = super::text::capture_option(&options, "runImage", &["capture"])?;
            Ok(Image { rgba, width: w, height: h, capture })
        })();
        self.queue(args, async |shared, image| {
            let (out, (layers, heads)) = shared
                .run(async |engine| {
                    let mut vision = shared.vision.borrow_mut();
                    let slot = vision.as_mut().ok_or_else(not_loaded)?;
                    let out = slot.run(engine, &image).await?;
                    let c = &slot.model().config;
                    Ok((out, (c.layers, c.heads)))
                })
                .await?;
            let r = Object::new();
            js_field(&r, "layers", &(layers as u32).into());
            js_field(&r, "heads", &(heads as u32).into());
            js_field(&r, "gridW", &(out.grid_w as u32).into());
            js_field(&r, "gridH", &(out.grid_h as u32).into());
            js_field(&r, "tokens", &(out.tokens as u32).into());
            js_field(&r, "registers", &(out.registers as u32).into());
            js_field(&r, "width", &(out.width as u32).into());
            js_field(&r, "height", &(out.height as u32).into());
            js_field(&r, "attention", &joined_f32(&out.attention).into());
            if let Some(s) = &out.saliency {
                js_field(&r, "saliency", &Float32Array::from(&s[..]).into());
            }
            if let Some(c) = &out.capture {
                js_field(&r, "capture", &super::text::capture_to_js(c));
            }
            Ok(r.into())
        })
    }
}

/// Puts `weights` in the instance's vision slot and uploads them; the info object `load*` resolve to.
async fn install(shared: &Shared, weights: Dinov2Weights, name: Option<String>) -> crate::error::Result<JsValue> {
    let config = weights.config.clone();
    shared.install(&shared.vision, weights, not_loaded).await?;
    let info = Object::new();
    let v = &config.variant;
    for (key, n) in [("layers", config.layers), ("heads", config.heads), ("hidden", config.hidden), ("patch", config.patch), ("registers", v.registers), ("imageSize", v.image_size)] {
        js_field(&info, key, &(n as u32).into());
    }
    js_field(&info, "saliency", &config.decoder.is_some().into());
    js_field(&info, "modelType", &v.model_type.as_str().into());
    if let Some(name) = name {
        js_field(&info, "name", &name.into());
    }
    Ok(info.into())
}
