//! `pg.loadTextModel(url, onProgress?)` and `pg.runText(text, pair?)`: all-MiniLM-L6-v2 on the
//! instance's backend. The parsed weights are kept on the host so the model can be uploaded
//! again to the CPU when the GPU device is lost (the session then reruns the job there).

use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;

use super::fetch::fetch_bytes;
use super::{joined_f32, js_field, parse, Playground};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::models::bert::{BertModel, BertOutput};
use crate::playground::Engine;
use crate::text::{Encoding, Tokenizer};
use crate::weights::bert::BertWeights;

#[wasm_bindgen(typescript_custom_section)]
const TS_TEXT: &str = r#"
export interface TextModelInfo { layers: number; heads: number; hidden: number; vocab: number; maxTokens: number; }
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
}
"#;

/// The text model of one `Playground`: its weights on the host, and the model uploaded to the
/// backend in use.
#[derive(Default)]
pub(crate) struct TextState {
    weights: Option<Rc<BertWeights>>,
    tokenizer: Option<Rc<Tokenizer>>,
    cpu: Option<BertModel<crate::cpu::CpuBackend>>,
    gpu: Option<BertModel<crate::gpu::GpuBackend>>,
}

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

impl TextState {
    fn tokenizer(&self) -> Result<Rc<Tokenizer>> {
        self.tokenizer.clone().ok_or_else(not_loaded)
    }

    /// Loads onto the engine (if needed) and runs `enc`; `None` only loads.
    async fn run(&mut self, engine: &mut Engine, enc: Option<&Encoding>) -> Result<Option<BertOutput>> {
        let weights = self.weights.clone().ok_or_else(not_loaded)?;
        // Only one backend's copy is kept: after a device loss the GPU copy is gone for good.
        match engine {
            Engine::Cpu(b) => {
                self.gpu = None;
                forward(&mut self.cpu, b, &weights, enc).await
            }
            Engine::Gpu(b) => {
                self.cpu = None;
                forward(&mut self.gpu, b, &weights, enc).await
            }
        }
    }
}

/// Uploads the model to `b` unless it is there already, then runs `enc` (if any) through it.
async fn forward<B: Backend>(slot: &mut Option<BertModel<B>>, b: &mut B, weights: &BertWeights, enc: Option<&Encoding>) -> Result<Option<BertOutput>> {
    if slot.is_none() {
        *slot = Some(BertModel::load(b, weights)?);
    }
    let model = slot.as_ref().expect("just loaded");
    match enc {
        Some(e) => model.forward(b, &e.ids, &e.type_ids).await.map(Some),
        None => Ok(None),
    }
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
            let weights = Rc::new(BertWeights::from_web(fetch_bytes(&url, on_progress.as_ref()).await?)?);
            let tokenizer = Rc::new(Tokenizer::new(weights.vocab.clone())?);
            let c = weights.config.clone();
            // `text` is only touched inside session jobs, which the session lock serializes, so
            // holding its borrow across the job's awaits cannot conflict.
            shared
                .run(async |engine| {
                    let mut state = shared.text.borrow_mut();
                    *state = TextState { weights: Some(weights.clone()), tokenizer: Some(tokenizer.clone()), ..Default::default() };
                    state.run(engine, None).await
                })
                .await?;
            let max_tokens = c.max_positions.min(crate::text::MAX_TOKENS);
            let info = Object::new();
            for (key, v) in [("layers", c.layers), ("heads", c.heads), ("hidden", c.hidden), ("vocab", c.vocab_size), ("maxTokens", max_tokens)] {
                js_field(&info, key, &(v as u32).into());
            }
            Ok(info.into())
        })
    }

    /// `await pg.runText(text, pair?)`: tokens, the attention of every layer and head, and the
    /// sentence embedding. Empty text is valid (tokens `[CLS] [SEP]`); text longer than 512
    /// tokens is cut to fit, with `truncated: true`.
    #[wasm_bindgen(js_name = runText, unchecked_return_type = "Promise<TextResult>")]
    pub fn run_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] pair: JsValue,
    ) -> Promise {
        let args = parse::string(&text, "runText: text").and_then(|t| Ok((t, parse::optional_string(&pair, "runText: pair")?)));
        self.queue(args, async |shared, (text, pair)| {
            // Inside the session job (see loadTextModel): a forward on the CPU gives the page turns
            // between layers, in which another call may start and must wait for this one.
            let (enc, out, ms, config) = shared
                .run(async |engine| {
                    let mut state = shared.text.borrow_mut();
                    let enc = state.tokenizer()?.encode(&text, pair.as_deref());
                    let start = now_ms();
                    let out = state.run(engine, Some(&enc)).await?;
                    let config = state.weights.as_ref().map(|w| (w.config.layers, w.config.heads));
                    Ok((enc, out, now_ms() - start, config))
                })
                .await?;
            let out = out.ok_or_else(|| Error::Invalid("the model produced no output".into()))?;
            let (layers, heads) = config.unwrap_or_default();
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
            Ok(r.into())
        })
    }
}
