//! `www/models/manifest.json`: `{ "text": "<file>", "vision": "<file>" }`, one key per converter.

use std::path::Path;

/// Sets `key` to the file name of `weights`, keeping every other key of an existing manifest.
pub fn record(manifest: &str, key: &str, weights: &str) -> Result<(), String> {
    let mut map = match std::fs::read_to_string(manifest) {
        Ok(s) => match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(format!("{manifest} is not a JSON object; fix or delete it")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(format!("cannot read {manifest}: {e}")),
    };
    let file = Path::new(weights).file_name().and_then(|f| f.to_str()).ok_or_else(|| format!("{weights} has no file name"))?;
    map.insert(key.to_string(), serde_json::Value::String(file.to_string()));
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(map)).map_err(|e| e.to_string())? + "\n";
    std::fs::write(manifest, text).map_err(|e| format!("cannot write {manifest}: {e}"))
}
