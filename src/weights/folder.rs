//! A Hugging Face model folder as the page receives it: files picked or dropped in any order,
//! perhaps with sub-folders (`1_Pooling/config.json`, `onnx/…`) beside the files that matter.
//!
//! Two steps, so a big folder is never read whole: [`pick`] chooses, by path only, which of the
//! offered files are the ones a converter asked for (the shallowest of each name); the caller
//! reads just those into a [`ModelFiles`], which the converter takes files from by name, with a
//! message naming any that is missing.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The file name of a path (`"my-model/config.json"` → `"config.json"`).
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn depth(path: &str) -> usize {
    path.matches(['/', '\\']).count()
}

/// For each name in `wanted`, the index in `paths` of the file of that name nearest the folder's
/// top (fewest sub-folders), if there is one. Two files of one name at that depth (two folders
/// dropped together) are an error: which one was meant cannot be told.
pub fn pick(paths: &[String], wanted: &[&str]) -> Result<Vec<(String, usize)>> {
    let mut out = Vec::new();
    for &name in wanted {
        let mut found: Vec<usize> = (0..paths.len()).filter(|&i| base_name(&paths[i]) == name).collect();
        found.sort_by_key(|&i| depth(&paths[i]));
        match found.as_slice() {
            [] => {}
            [first, second, ..] if depth(&paths[*first]) == depth(&paths[*second]) => {
                return Err(Error::Weights(format!(
                    "two files named {name} (\"{}\" and \"{}\"): give the files of one model folder",
                    paths[*first], paths[*second]
                )));
            }
            [first, ..] => out.push((name.to_string(), *first)),
        }
    }
    Ok(out)
}

/// The files of one model folder, by file name, as read.
#[derive(Default)]
pub struct ModelFiles {
    files: BTreeMap<String, Vec<u8>>,
    /// Every file name offered (read or not), for messages such as "found pytorch_model.bin".
    offered: Vec<String>,
    /// A name for the model: the folder's, when the files came with paths.
    pub name: Option<String>,
}

impl ModelFiles {
    pub fn new() -> ModelFiles {
        ModelFiles::default()
    }

    /// Records every offered path (names the folder after the first path's top folder).
    pub fn offered(mut self, paths: &[String]) -> ModelFiles {
        self.offered = paths.iter().map(|p| base_name(p).to_string()).collect();
        self.name = paths.iter().find(|p| depth(p) > 0).and_then(|p| p.split(['/', '\\']).next()).map(str::to_string);
        self
    }

    pub fn insert(&mut self, name: &str, bytes: Vec<u8>) {
        if !self.offered.iter().any(|n| n == name) {
            self.offered.push(name.to_string());
        }
        self.files.insert(name.to_string(), bytes);
    }

    pub fn with(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> ModelFiles {
        self.insert(name, bytes.into());
        self
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Whether a file of this name was offered (even if not read).
    pub fn was_offered(&self, name: &str) -> bool {
        self.offered.iter().any(|n| n == name)
    }

    /// Takes the file `name` out (big files are moved, not copied), or says it is missing and
    /// what it is for.
    pub fn take(&mut self, name: &str, what: &str) -> Result<Vec<u8>> {
        self.files.remove(name).ok_or_else(|| Error::Weights(format!("{name} is missing ({what})")))
    }

    /// The file `name` as UTF-8 text, if present.
    pub fn text(&self, name: &str) -> Result<Option<&str>> {
        self.files
            .get(name)
            .map(|b| std::str::from_utf8(b).map_err(|e| Error::Weights(format!("{name} is not UTF-8 text ({e})"))))
            .transpose()
    }

    /// [`Self::text`], or says the file is missing and what it is for.
    pub fn require_text(&self, name: &str, what: &str) -> Result<&str> {
        self.text(name)?.ok_or_else(|| Error::Weights(format!("{name} is missing ({what})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_shallowest_file_of_each_name() {
        let p = paths(&["m/1_Pooling/config.json", "m/config.json", "m/model.safetensors", "m/onnx/model.onnx"]);
        let got = pick(&p, &["config.json", "model.safetensors", "vocab.txt"]).unwrap();
        assert_eq!(got, [("config.json".to_string(), 1), ("model.safetensors".to_string(), 2)]);
        let two = paths(&["a/config.json", "b/config.json"]);
        assert!(pick(&two, &["config.json"]).unwrap_err().to_string().contains("two files named config.json"));
        let files = ModelFiles::new().offered(&p);
        assert_eq!(files.name.as_deref(), Some("m"));
        assert!(files.was_offered("model.onnx"));
        assert_eq!(ModelFiles::new().offered(&paths(&["config.json"])).name, None);
    }

    #[test]
    fn missing_and_non_text_files_are_named() {
        let mut f = ModelFiles::new().with("config.json", "{}").with("vocab.txt", vec![0xff, 0xfe]);
        assert_eq!(f.require_text("config.json", "the model's configuration").unwrap(), "{}");
        assert!(f.text("vocab.txt").unwrap_err().to_string().contains("vocab.txt is not UTF-8"));
        let e = f.take("model.safetensors", "the weights").unwrap_err().to_string();
        assert!(e.contains("model.safetensors is missing (the weights)"), "{e}");
        assert_eq!(f.take("config.json", "").unwrap(), b"{}");
        assert!(!f.has("config.json"));
    }
}
