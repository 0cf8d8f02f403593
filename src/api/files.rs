//! Reading a model folder's `File`s (`load*ModelFiles(files)`): the paths are looked at first
//! (`weights::folder::pick`), then only the files the converter asked for are read, so a folder
//! that also holds `pytorch_model.bin` or an `onnx/` copy costs nothing extra.

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

use super::fetch::{call, report};
use super::parse;
use crate::error::{Error, Result};
use crate::weights::folder::{pick, ModelFiles};

/// One offered file: its path in the folder (`webkitRelativePath` when the browser gave one, else
/// its name) and the object to read it from.
pub(crate) struct Offered {
    paths: Vec<String>,
    handles: Vec<JsValue>,
}

/// Checks, when the call is made, that `files` is an array of `File`s (anything with a `name`
/// and an `arrayBuffer()`: a `Blob` made into a `File`).
pub(crate) fn offered(files: &JsValue, what: &str) -> Result<Offered> {
    if !Array::is_array(files) {
        return Err(crate::invalid!("{what} must be an array of File objects (a model folder's files), got {}", parse::describe(files)));
    }
    let (mut paths, mut handles) = (Vec::new(), Vec::new());
    for (i, f) in Array::from(files).iter().enumerate() {
        let name = parse::get(&f, "name").as_string();
        let readable = parse::get(&f, "arrayBuffer").is_function();
        let Some(name) = name.filter(|_| readable) else {
            return Err(crate::invalid!("{what}[{i}] must be a File, got {}", parse::describe(&f)));
        };
        let relative = parse::get(&f, "webkitRelativePath").as_string().filter(|p| !p.is_empty());
        paths.push(relative.unwrap_or(name));
        handles.push(f);
    }
    if paths.is_empty() {
        return Err(crate::invalid!("{what} is empty: give the files of a model folder"));
    }
    Ok(Offered { paths, handles })
}

/// Files are read in pieces of this many bytes, each copied into wasm memory as it arrives, so a
/// 90 MB checkpoint never sits whole in the JS heap beside its copy in wasm.
const CHUNK: f64 = 8.0 * 1024.0 * 1024.0;

/// Reads the files named in `wanted` (those present) into a `ModelFiles`, reporting
/// `{ loaded, total, cached: false }` in bytes over the files read.
pub(crate) async fn read(offered: Offered, wanted: &[&str], on_progress: Option<&Function>) -> Result<ModelFiles> {
    let chosen = pick(&offered.paths, wanted)?;
    let size = |i: usize| parse::get(&offered.handles[i], "size").as_f64().filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(0.0);
    let total: f64 = chosen.iter().map(|(_, i)| size(*i)).sum();
    let mut files = ModelFiles::new().offered(&offered.paths);
    let mut loaded = 0usize;
    report(on_progress, 0, total, false);
    for (name, i) in chosen {
        let (file, path) = (&offered.handles[i], &offered.paths[i]);
        let failed = |e: JsValue| {
            let msg = Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| format!("{e:?}"));
            Error::Weights(format!("cannot read {path}: {msg}"))
        };
        // Sized once: growing by doubling would briefly hold up to twice the file in wasm memory.
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size(i) as usize).map_err(|_| Error::Weights(format!("{path} is too large to read here ({} bytes)", size(i))))?;
        let mut start = 0.0;
        // A Blob's `slice` reads nothing; its `arrayBuffer` reads that piece.
        loop {
            let piece = match size(i) {
                s if start < s => call(file, "slice", &[&start.into(), &(start + CHUNK).min(s).into()]).await.map_err(failed)?,
                _ if start == 0.0 => file.clone(), // size unknown (a File-like object): read it whole
                _ => break,
            };
            let buf = Uint8Array::new(&call(&piece, "arrayBuffer", &[]).await.map_err(failed)?);
            let at = bytes.len();
            bytes.resize(at + buf.length() as usize, 0);
            buf.copy_to(&mut bytes[at..]);
            loaded += buf.length() as usize;
            report(on_progress, loaded, total, false);
            start += CHUNK;
            if size(i) == 0.0 || buf.length() == 0 {
                break;
            }
        }
        files.insert(&name, bytes);
    }
    Ok(files)
}
