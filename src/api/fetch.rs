//! Downloading a model file with progress events, for `load*Model(url, onProgress?)`.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

fn js_err(what: &str, e: JsValue) -> Error {
    let msg = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"));
    Error::Weights(format!("{what}: {msg}"))
}

/// GETs `url` and returns its bytes. `on_progress`, if given, is called with
/// `{ loaded, total }` (bytes; `total` is 0 when the server sends no length) as data arrives.
pub(crate) async fn fetch_bytes(url: &str, on_progress: Option<&js_sys::Function>) -> Result<Vec<u8>> {
    let global = js_sys::global();
    let fetch = Reflect::get(&global, &"fetch".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let fetch = fetch.ok_or_else(|| Error::Weights("this environment has no fetch()".into()))?;
    let promise = fetch.call1(&global, &url.into()).map_err(|e| js_err(&format!("cannot fetch {url}"), e))?;
    let response: web_sys::Response = JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| js_err(&format!("cannot fetch {url}"), e))?
        .unchecked_into();
    if !response.ok() {
        return Err(Error::Weights(format!("fetching {url} failed: HTTP {} {}", response.status(), response.status_text())));
    }
    let total: f64 = response.headers().get("content-length").ok().flatten().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let report = |loaded: usize| {
        if let Some(f) = on_progress {
            let event = Object::new();
            let _ = Reflect::set(&event, &"loaded".into(), &(loaded as f64).into());
            let _ = Reflect::set(&event, &"total".into(), &total.into());
            // A throwing listener must not fail the download.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    };
    let Some(body) = response.body() else {
        let buf = JsFuture::from(response.array_buffer().map_err(|e| js_err(url, e))?).await.map_err(|e| js_err(url, e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        report(bytes.len());
        return Ok(bytes);
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total as usize);
    report(0);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| js_err(&format!("download of {url} broke off"), e))?;
        if Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(|e| js_err(url, e))?.unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        report(bytes.len());
    }
    Ok(bytes)
}
