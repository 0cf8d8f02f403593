//! Shared by the native test binaries (each declares `mod support;`).
#![allow(dead_code)]

use attention_playground::gpu::GpuBackend;

/// The native GPU backend, or `None` after a loud message where no Vulkan adapter exists
/// (CI installs Mesa's software one, so there every GPU test runs).
pub fn gpu() -> Option<GpuBackend> {
    match pollster::block_on(GpuBackend::new()) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("\n!!!! SKIPPING GPU TEST: {e} (install mesa-vulkan-drivers) !!!!\n");
            None
        }
    }
}

/// The bytes of a converted model under `www/models/` (made by `make build`). Outside CI a missing
/// file skips the test loudly; in CI (`CI` set) it fails.
pub fn model_file(path: &str, what: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("\n!!!! SKIPPING {what} PARITY: {path}: {e} (run `make build`) !!!!\n");
            None
        }
        Err(e) => panic!("{path}: {e} (run `make build`: it fetches and converts the {what} weights)"),
    }
}

/// `www/models/<file>` for `key` of `www/models/manifest.json` (model file names carry a content
/// hash, so only the manifest knows them). A missing manifest or key gives a path that names the
/// problem, for `model_file`'s message.
pub fn manifest_path(key: &str) -> String {
    let manifest = std::fs::read_to_string("www/models/manifest.json").ok().and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    match manifest.as_ref().and_then(|m| m.get(key)).and_then(|f| f.as_str()) {
        Some(file) => format!("www/models/{file}"),
        None => format!("www/models/manifest.json[\"{key}\"]"),
    }
}
