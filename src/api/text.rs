//! `pg.loadTextModel(url, onProgress?)` and `pg.runText(text, pair?, options?)`: all-MiniLM-L6-v2 on the
//! instance's backend, held in a `ModelSlot` (which uploads it again to the CPU when the GPU device
//! is lost). `pg.loadTextModelFiles(files, onProgress?)` puts a BERT-architecture model converted
//! from a Hugging Face folder's files in the same place.

use js_sys::{Array, Float32Array, Object, Promise, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;

use super::fetch::fetch_bytes;
use super::{files, joined_f32, js_field, parse, Playground, Shared};
use crate::error::Error;
use crate::models::bert::{BertWeights, CaptureAt, HeadCapture, MiniLm, TextInput};
use crate::models::bert_files::TEXT_FILES;

#[wasm_bindgen(typescript_custom_section)]
const TS_TEXT: &str = r#"
export interface TextModelInfo {
  layers: number; heads: number; hidden: number; vocab: number; maxTokens: number;
  /** a model from files: its folder's name (or config.json's _name_or_path), when known */
  name?: string;
}
export interface TextResult {
  /** WordPiece tokens, with [CLS] and [SEP] */
  tokens: string[];
  /** token ids, [tokens] */
  ids: Uint32Array;
  /** 0 for [CLS], the first segment and its [SEP]; 1 for the pair's segment and its [SEP] */
  tokenTypes: Uint8Array;
  layers: number; heads: number;
  /** [layers, heads, tokens, tokens]: row i holds where token i attends */
  attention: Float32Array;
  /** [hidden]: mean pooling + L2 norm (the sentence-transformers embedding) */
  embedding: Float32Array;
  /** the input did not fit in 512 tokens and was cut (longest segment first) */
  truncated: boolean;
  /** where this forward ran (after a GPU device loss: 'cpu') */
  backend: 'webgpu' | 'cpu';
  /** milliseconds for the forward pass: tokens in, maps and embedding read back */
  ms: number;
  /** only when `runText(text, pair, { capture })` asked for it */
  capture?: HeadCapture;
  /** [layers, heads, tokens]: each attention row's entropy (nats), only with `{ stats: true }` */
  entropy?: Float32Array;
}
export interface RunTextOptions {
  /** keep one head's q, k, v (0-based layer and head) */
  capture?: { layer: number; head: number };
  /** also return each attention row's entropy, computed by the attention kernels; default false */
  stats?: boolean;
}
/** One head of one layer as the forward computed it. */
export interface HeadCapture {
  layer: number; head: number;
  /** [tokens, headDim] each, row-major: that head's slice of the query, key and value
   *  projections, biases included, before any scaling */
  q: Float32Array; k: Float32Array; v: Float32Array;
  /** [tokens, hidden]: the layer's input hidden state, from which q, k, v were projected */
  x: Float32Array;
}
"#;

fn not_loaded() -> Error {
    Error::Invalid("no text model loaded: call loadTextModel(url) first".into())
}

/// The time origin for `ms`; `performance` exists in windows and workers alike.
fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

#[wasm_bindgen]
impl Playground {
    /// `await pg.loadTextModel('./models/' + manifest.text, ({ loaded, total }) => ...)`:
    /// downloads the MiniLM web weights, checks them and uploads them to the backend, where they
    /// stay for every later `runText`.
    #[wasm_bindgen(js_name = loadTextModel, unchecked_return_type = "Promise<TextModelInfo>")]
    pub fn load_text_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((p: LoadProgress) => void) | undefined")] on_progress: JsValue,
    ) -> Promise {
        let args = parse::url(&url, "loadTextModel: url").and_then(|u| Ok((u, parse::callback(&on_progress, "loadTextModel: onProgress")?)));
        // The download waits its turn too, so a runText called after this load runs after it.
        self.queue(args, async |shared, (url, on_progress)| {
            let model = MiniLm::new(BertWeights::from_web(fetch_bytes(&url, on_progress.as_ref()).await?)?)?;
            install(&shared, model, None).await
        })
    }

    /// `await pg.loadTextModelFiles(files, onProgress?)`: converts a Hugging Face BERT-architecture
    /// model folder's files (`config.json`, `model.safetensors`, and `vocab.txt` or
    /// `tokenizer.json`; any order, other files ignored) in the page and uploads it like
    /// `loadTextModel`, which it replaces. A folder it cannot use rejects with what is missing or
    /// unsupported, and the model loaded before stays.
    #[wasm_bindgen(js_name = loadTextModelFiles, unchecked_return_type = "Promise<TextModelInfo>")]
    pub fn load_text_model_files(
        &self,
        #[wasm_bindgen(unchecked_param_type = "File[]")] files: JsValue,
        #[wasm_bindgen(js_name = onProgress, unchecked_optional_param_type = "(p: LoadProgress) => void")] on_progress: JsValue,
    ) -> Promise {
        let args = files::offered(&files, "loadTextModelFiles: files")
            .and_then(|f| Ok((f, parse::callback(&on_progress, "loadTextModelFiles: onProgress")?)));
        self.queue(args, async |shared, (offered, on_progress)| {
            let files = files::read(offered, &TEXT_FILES, on_progress.as_ref()).await?;
            let folder = files.name.clone();
            let weights = BertWeights::from_files(files)?;
            let name = folder.or_else(|| weights.config.name.clone());
            install(&shared, MiniLm::new(weights)?, name).await
        })
    }

    /// `await pg.runText(text, pair?, { capture: { layer, head }, stats }?)`: tokens, the attention
    /// of every layer and head, and the sentence embedding (plus one head's q, k, v, and each
    /// attention row's entropy, when asked).
    /// Empty text is valid (tokens `[CLS] [SEP]`); text longer than 512 tokens is cut to fit,
    /// with `truncated: true`.
    #[wasm_bindgen(js_name = runText, unchecked_return_type = "Promise<TextResult>")]
    pub fn run_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] pair: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RunTextOptions")] options: JsValue,
    ) -> Promise {
        let args = parse::string(&text, "runText: text").and_then(|t| {
            let capture = capture_option(&options, "runText", RUN_TEXT_OPTIONS)?;
            Ok((t, parse::optional_string(&pair, "runText: pair")?, capture, stats_option(&options)?))
        });
        self.queue(args, async |shared, (text, pair, capture, stats)| {
            // Inside the session job (see loadTextModel): a forward on the CPU gives the page turns
            // between layers, in which another call may start and must wait for this one.
            let (enc, out, ms, (layers, heads)) = shared
                .run(async |engine| {
                    let mut text_slot = shared.text.borrow_mut();
                    let slot = text_slot.as_mut().ok_or_else(not_loaded)?;
                    let input = TextInput { encoding: slot.model().encode(&text, pair.as_deref()), capture, stats };
                    let start = now_ms();
                    let out = slot.run(engine, &input).await?;
                    let c = &slot.model().weights.config;
                    Ok((input.encoding, out, now_ms() - start, (c.layers, c.heads)))
                })
                .await?;
            let r = Object::new();
            let tokens: Array = enc.tokens.iter().map(|t| JsValue::from_str(t)).collect();
            js_field(&r, "tokens", &tokens.into());
            js_field(&r, "ids", &Uint32Array::from(&enc.ids[..]).into());
            let types: Vec<u8> = enc.type_ids.iter().map(|&t| t as u8).collect();
            js_field(&r, "tokenTypes", &Uint8Array::from(&types[..]).into());
            js_field(&r, "layers", &(layers as u32).into());
            js_field(&r, "heads", &(heads as u32).into());
            js_field(&r, "attention", &joined_f32(&out.attention).into());
            js_field(&r, "embedding", &Float32Array::from(&out.embedding[..]).into());
            js_field(&r, "truncated", &enc.truncated.into());
            js_field(&r, "backend", &shared.kind.get().js_name().into());
            js_field(&r, "ms", &ms.into());
            if let Some(e) = &out.entropy {
                js_field(&r, "entropy", &joined_f32(e).into());
            }
            if let Some(c) = &out.capture {
                js_field(&r, "capture", &capture_to_js(c));
            }
            Ok(r.into())
        })
    }
}

const RUN_TEXT_OPTIONS: &[&str] = &["capture", "stats"];

/// `{ stats: true }`: also return each attention row's entropy.
fn stats_option(options: &JsValue) -> crate::error::Result<bool> {
    if !parse::optional_options(options, "runText: options", RUN_TEXT_OPTIONS)? {
        return Ok(false);
    }
    parse::flag(&parse::get(options, "stats"), "runText: options.stats", false)
}

/// Puts `model` in the instance's text slot and uploads it; the info object `load*` resolve to.
async fn install(shared: &Shared, model: MiniLm, name: Option<String>) -> crate::error::Result<JsValue> {
    let c = model.weights.config.clone();
    let max_tokens = model.max_tokens();
    shared.install(&shared.text, model, not_loaded).await?;
    let info = Object::new();
    for (key, v) in [("layers", c.layers), ("heads", c.heads), ("hidden", c.hidden), ("vocab", c.vocab_size), ("maxTokens", max_tokens)] {
        js_field(&info, key, &(v as u32).into());
    }
    if let Some(name) = name {
        js_field(&info, "name", &name.into());
    }
    Ok(info.into())
}

/// A [`HeadCapture`] as the `capture` field of a result (`HeadCapture` in the TypeScript).
pub(super) fn capture_to_js(c: &HeadCapture) -> JsValue {
    let cap = Object::new();
    js_field(&cap, "layer", &(c.at.layer as u32).into());
    js_field(&cap, "head", &(c.at.head as u32).into());
    for (key, data) in [("q", &c.q), ("k", &c.k), ("v", &c.v), ("x", &c.x)] {
        js_field(&cap, key, &Float32Array::from(&data[..]).into());
    }
    cap.into()
}

/// `{ capture: { layer, head } }` of `method` (runText, runImage, whose options are `allowed`),
/// both whole numbers ≥ 0; whether they fit the model is checked by the forward, which knows it.
pub(super) fn capture_option(options: &JsValue, method: &str, allowed: &[&str]) -> crate::error::Result<Option<CaptureAt>> {
    if !parse::optional_options(options, &format!("{method}: options"), allowed)? {
        return Ok(None);
    }
    let capture = parse::get(options, "capture");
    if !parse::optional_options(&capture, &format!("{method}: options.capture"), &["layer", "head"])? {
        return Ok(None);
    }
    let index = |key: &str| -> crate::error::Result<usize> {
        let v = parse::get(&capture, key);
        let name = format!("{method}: options.capture.{key}");
        if parse::absent(&v) {
            return Err(crate::invalid!("{name} is required (a whole number ≥ 0)"));
        }
        parse::count(&v, &name, 0)
    };
    Ok(Some(CaptureAt { layer: index("layer")?, head: index("head")? }))
}
