//! `www/models/manifest.json`: `{ "text": "<file>", "vision": "<file>" }`, one key per converter.
//! Files are content-addressed (`<stem>.<16 hex of sha256>.<ext>`) so hosts can cache them forever
//! (`Cache-Control: immutable`) and the page's Cache Storage copy is never stale.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hex digits of the sha256 kept in a file name: 64 bits, ample to tell versions apart.
const HASH_DIGITS: usize = 16;

/// Renames `weights` to its content-addressed name in the same folder, deletes the older versions
/// of it there (`<stem>.<other hash>.<ext>`), and sets `key` to the new name in `manifest`, keeping
/// every other key. Returns the new path.
pub fn publish(manifest: &str, key: &str, weights: &str) -> Result<PathBuf, String> {
    let path = Path::new(weights);
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {weights}: {e}"))?;
    let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let (stem, ext) = split_name(path).ok_or_else(|| format!("{weights} needs a name like model.safetensors"))?;
    let name = format!("{stem}.{}.{ext}", &hash[..HASH_DIGITS]);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let hashed = dir.join(&name);
    std::fs::rename(path, &hashed).map_err(|e| format!("cannot rename {weights} to {}: {e}", hashed.display()))?;
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

    #[test]
    fn publish_renames_by_content_and_drops_old_versions() {
        let dir = std::env::temp_dir().join(format!("convert-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (out, manifest) = (dir.join("m.f16.safetensors"), dir.join("manifest.json"));
        std::fs::write(&manifest, r#"{"vision": "v.safetensors"}"#).unwrap();
        std::fs::write(dir.join("m.f16.0123456789abcdef.safetensors"), b"old").unwrap();
        std::fs::write(dir.join("m.f16.keep.safetensors"), b"not a version").unwrap();
        std::fs::write(&out, b"new").unwrap();
        let hashed = publish(manifest.to_str().unwrap(), "text", out.to_str().unwrap()).unwrap();
        // sha256("new") = 11507a0e2f5e69d5…
        assert_eq!(hashed, dir.join("m.f16.11507a0e2f5e69d5.safetensors"));
        assert_eq!(std::fs::read(&hashed).unwrap(), b"new");
        assert!(!out.exists() && !dir.join("m.f16.0123456789abcdef.safetensors").exists());
        assert!(dir.join("m.f16.keep.safetensors").exists());
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(m, serde_json::json!({ "vision": "v.safetensors", "text": "m.f16.11507a0e2f5e69d5.safetensors" }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
