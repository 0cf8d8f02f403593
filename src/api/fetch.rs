//! Downloading a model file with progress events, for `load*Model(url, onProgress?)`.
//!
//! Content-addressed files (`<stem>.<16 hex>.<ext>`, named so by the converter) never change, so
//! they are kept in Cache Storage: a second visit, or a second instance, reads them locally. Cache
//! Storage is an optimization only: where it is missing or refuses (insecure or opaque origins,
//! quota), the file comes from the network as usual.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

// Adds to `LoadProgress` (declared with the vision API; TypeScript merges the two).
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_PROGRESS: &str = r#"
export interface LoadProgress {
  /** true for the single event of a read from Cache Storage (no download) */
  cached: boolean;
}
"#;

/// Bump the version to drop every copy kept by older builds.
const CACHE_NAME: &str = "attention-playground-models-v1";

fn js_err(what: &str, e: JsValue) -> Error {
    let msg = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"));
    Error::Weights(format!("{what}: {msg}"))
}

/// GETs `url` (or reads it from Cache Storage) and returns its bytes. `on_progress`, if given, is
/// called with `{ loaded, total, cached }` (bytes; `total` is 0 when the server sends no length;
/// `cached` true for the one event of a Cache Storage read) as data arrives.
pub(crate) async fn fetch_bytes(url: &str, on_progress: Option<&Function>) -> Result<Vec<u8>> {
    let stem = hashed_stem(url);
    let cache = match stem {
        Some(_) => open_cache().await,
        None => None,
    };
    if let Some(cache) = &cache {
        if let Some(bytes) = cached(cache, url).await {
            report(on_progress, bytes.len(), bytes.len() as f64, true);
            return Ok(bytes);
        }
    }
    let (bytes, total) = download(url, on_progress).await?;
    if let (Some(cache), Some(stem)) = (&cache, stem) {
        // A body shorter than announced is not worth keeping (the parser will say what is wrong).
        if total == 0.0 || bytes.len() as f64 == total {
            store(cache, url, stem, &bytes).await;
        }
    }
    Ok(bytes)
}

pub(crate) fn report(on_progress: Option<&Function>, loaded: usize, total: f64, cached: bool) {
    if let Some(f) = on_progress {
        let event = Object::new();
        let _ = Reflect::set(&event, &"loaded".into(), &(loaded as f64).into());
        let _ = Reflect::set(&event, &"total".into(), &total.into());
        let _ = Reflect::set(&event, &"cached".into(), &cached.into());
        // A throwing listener must not fail the download.
        let _ = f.call1(&JsValue::NULL, &event);
    }
}

/// The network download, with progress: (bytes, announced length or 0).
async fn download(url: &str, on_progress: Option<&Function>) -> Result<(Vec<u8>, f64)> {
    let global = js_sys::global();
    let fetch = Reflect::get(&global, &"fetch".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
    let fetch = fetch.ok_or_else(|| Error::Weights("this environment has no fetch()".into()))?;
    let promise = fetch.call1(&global, &url.into()).map_err(|e| js_err(&format!("cannot fetch {url}"), e))?;
    let response: web_sys::Response = JsFuture::from(Promise::from(promise))
        .await
        .map_err(|e| js_err(&format!("cannot fetch {url}"), e))?
        .unchecked_into();
    if !response.ok() {
        return Err(Error::Weights(format!("fetching {url} failed: HTTP {} {}", response.status(), response.status_text())));
    }
    let total: f64 = response.headers().get("content-length").ok().flatten().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let Some(body) = response.body() else {
        let buf = JsFuture::from(response.array_buffer().map_err(|e| js_err(url, e))?).await.map_err(|e| js_err(url, e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        report(on_progress, bytes.len(), total, false);
        return Ok((bytes, total));
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total as usize);
    report(on_progress, 0, total, false);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| js_err(&format!("download of {url} broke off"), e))?;
        if Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(|e| js_err(url, e))?.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        report(on_progress, bytes.len(), total, false);
    }
    Ok((bytes, total))
}

/// `…/<stem>.<16 hex>.<ext>[?…]` → `<stem>`; `None` for a name without a content hash.
fn hashed_stem(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let name = path.rsplit('/').next()?;
    let (rest, ext) = name.rsplit_once('.')?;
    let (stem, hash) = rest.rsplit_once('.')?;
    let hex = hash.len() == 16 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex && !stem.is_empty() && !ext.is_empty()).then_some(stem)
}

fn file_name(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url).rsplit('/').next().unwrap_or(url)
}

/// `obj[method](...args)`, awaited.
pub(crate) async fn call(obj: &JsValue, method: &str, args: &[&JsValue]) -> std::result::Result<JsValue, JsValue> {
    let f: Function = Reflect::get(obj, &method.into())?.dyn_into()?;
    let list = Array::new();
    for a in args {
        list.push(a);
    }
    JsFuture::from(Promise::resolve(&f.apply(obj, &list)?)).await
}

/// The models cache, where this global has Cache Storage and lets this origin use it.
async fn open_cache() -> Option<JsValue> {
    // The `caches` getter itself throws on opaque origins and is absent in insecure contexts.
    let caches = Reflect::get(&js_sys::global(), &"caches".into()).ok().filter(|c| c.is_object())?;
    call(&caches, "open", &[&CACHE_NAME.into()]).await.ok()
}

async fn cached(cache: &JsValue, url: &str) -> Option<Vec<u8>> {
    let hit = call(cache, "match", &[&url.into()]).await.ok().filter(|r| r.is_object())?;
    let buf = call(&hit, "arrayBuffer", &[]).await.ok()?;
    Some(Uint8Array::new(&buf).to_vec())
}

/// Keeps `bytes` under `url` and drops older versions of the same file (same stem, other hash).
/// Failures (quota, private mode) only mean the next visit downloads again.
async fn store(cache: &JsValue, url: &str, stem: &str, bytes: &[u8]) {
    // A copy outside wasm memory, which may move while the cache writes.
    let body = Uint8Array::from(bytes);
    let Ok(response) = web_sys::Response::new_with_opt_buffer_source(Some(&body)) else { return };
    if call(cache, "put", &[&url.into(), &response]).await.is_err() {
        return;
    }
    let Ok(keys) = call(cache, "keys", &[]).await else { return };
    for request in Array::from(&keys).iter() {
        let key = Reflect::get(&request, &"url".into()).ok().and_then(|u| u.as_string()).unwrap_or_default();
        if hashed_stem(&key) == Some(stem) && file_name(&key) != file_name(url) {
            let _ = call(cache, "delete", &[&request]).await;
        }
    }
}
