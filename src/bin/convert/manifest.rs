//! `www/models/manifest.json`: `{ "text": "<file>", "vision": "<file>" }`, one key per converter.
//! Files are content-addressed (`<stem>.<16 hex of sha256>.<ext>`) so hosts can cache them forever
//! (`Cache-Control: immutable`) and the page's Cache Storage copy is never stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hex digits of the sha256 kept in a file name: 64 bits, ample to tell versions apart.
const HASH_DIGITS: usize = 16;

/// Moves the safetensors file `weights` to its content-addressed name in the same folder (with its
/// header in a canonical order, so the same weights always get the same name), deletes the older
/// versions of it there (`<stem>.<other hash>.<ext>`), and sets `key` to the new name in
/// `manifest`, keeping every other key. Returns the new path.
pub fn publish(manifest: &str, key: &str, weights: &str) -> Result<PathBuf, String> {
    let path = Path::new(weights);
    let bytes = canonical(&std::fs::read(path).map_err(|e| format!("cannot read {weights}: {e}"))?).map_err(|e| format!("{weights}: {e}"))?;
    let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let (stem, ext) = split_name(path).ok_or_else(|| format!("{weights} needs a name like model.safetensors"))?;
    let name = format!("{stem}.{}.{ext}", &hash[..HASH_DIGITS]);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let hashed = dir.join(&name);
    std::fs::write(&hashed, &bytes).map_err(|e| format!("cannot write {}: {e}", hashed.display()))?;
    std::fs::remove_file(path).map_err(|e| format!("cannot remove {weights}: {e}"))?;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?.flatten() {
        let other = entry.file_name().to_string_lossy().into_owned();
        if other != name && is_version_of(&other, &stem, &ext) {
            std::fs::remove_file(entry.path()).map_err(|e| format!("cannot remove the old {}: {e}", entry.path().display()))?;
            eprintln!("convert: removed the older {other}");
        }
    }
    record(manifest, key, &name)?;
    Ok(hashed)
}

/// The safetensors file with its JSON header's keys (and metadata keys) sorted: the writer emits
/// them in hash-map order, which changes from run to run.
fn canonical(file: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "not a safetensors file".to_string();
    let n = u64::from_le_bytes(file.get(..8).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
    let header = file.get(8..8usize.checked_add(n).ok_or_else(bad)?).ok_or_else(bad)?;
    let mut top: BTreeMap<String, serde_json::Value> = serde_json::from_slice(header).map_err(|e| format!("bad header: {e}"))?;
    if let Some(meta) = top.remove("__metadata__") {
        let meta: BTreeMap<String, String> = serde_json::from_value(meta).map_err(|e| format!("bad metadata: {e}"))?;
        top.insert("__metadata__".into(), serde_json::to_value(meta).map_err(|e| e.to_string())?);
    }
    let mut json = serde_json::to_vec(&top).map_err(|e| e.to_string())?;
    // Tensor data stays 8-byte aligned: pad with spaces, as the writer does.
    json.resize(json.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + json.len() + file.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&file[8 + n..]);
    Ok(out)
}

/// `dir/a.b.ext` → ("a.b", "ext").
fn split_name(path: &Path) -> Option<(String, String)> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| (stem.to_string(), ext.to_string()))
}

/// Whether `name` is `<stem>.<HASH_DIGITS hex>.<ext>`.
fn is_version_of(name: &str, stem: &str, ext: &str) -> bool {
    let Some(hash) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('.')).and_then(|r| r.strip_suffix(ext)).and_then(|r| r.strip_suffix('.')) else {
        return false;
    };
    hash.len() == HASH_DIGITS && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Sets `key` to `file` in `manifest`, keeping every other key of an existing manifest.
fn record(manifest: &str, key: &str, file: &str) -> Result<(), String> {
    let mut map = match std::fs::read_to_string(manifest) {
        Ok(s) => match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(format!("{manifest} is not a JSON object; fix or delete it")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(format!("cannot read {manifest}: {e}")),
    };
    map.insert(key.to_string(), serde_json::Value::String(file.to_string()));
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(map)).map_err(|e| e.to_string())? + "\n";
    std::fs::write(manifest, text).map_err(|e| format!("cannot write {manifest}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny safetensors file whose metadata keys come in the given order.
    fn file(meta_order: &[&str]) -> Vec<u8> {
        let meta: Vec<String> = meta_order.iter().map(|k| format!("\"{k}\":\"{k}!\"")).collect();
        let mut header = format!("{{\"__metadata__\":{{{}}},\"t\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}}", meta.join(",")).into_bytes();
        header.resize(header.len().div_ceil(8) * 8, b' ');
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend(1.5f32.to_le_bytes());
        out
    }

    #[test]
    fn publish_names_by_content_and_drops_old_versions() {
        let dir = std::env::temp_dir().join(format!("convert-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (out, manifest) = (dir.join("m.f16.safetensors"), dir.join("manifest.json"));
        std::fs::write(&manifest, r#"{"vision": "v.safetensors"}"#).unwrap();
        std::fs::write(dir.join("m.f16.0123456789abcdef.safetensors"), b"old").unwrap();
        std::fs::write(dir.join("m.f16.keep.safetensors"), b"not a version").unwrap();
        let mut names = Vec::new();
        for order in [["arch", "format", "config"], ["config", "arch", "format"]] {
            std::fs::write(&out, file(&order)).unwrap();
            names.push(publish(manifest.to_str().unwrap(), "text", out.to_str().unwrap()).unwrap());
        }
        assert_eq!(names[0], names[1], "the same weights, another header order: the same name");
        let bytes = std::fs::read(&names[0]).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("t").unwrap().data(), 1.5f32.to_le_bytes());
        let name = names[0].file_name().unwrap().to_str().unwrap();
        assert!(is_version_of(name, "m.f16", "safetensors"), "{name}");
        let mut left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [name, "m.f16.keep.safetensors", "manifest.json"]);
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(m, serde_json::json!({ "vision": "v.safetensors", "text": name }));
        assert!(publish(manifest.to_str().unwrap(), "text", dir.join("m.f16.keep.safetensors").to_str().unwrap()).unwrap_err().contains("not a safetensors file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
