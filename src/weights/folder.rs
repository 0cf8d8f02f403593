//! A model folder's files as the page hands them over (name, bytes), in any order: found by file
//! name, so a folder picked whole (with README.md, .gitattributes, …) works as well as two files.

use crate::error::{Error, Result};

pub struct ModelFolder {
    files: Vec<(String, Vec<u8>)>,
}

impl ModelFolder {
    /// Names may carry a path (`webkitRelativePath`); only the last part counts.
    pub fn new(files: Vec<(String, Vec<u8>)>) -> ModelFolder {
        let files = files.into_iter().map(|(n, b)| (n.rsplit(['/', '\\']).next().unwrap_or_default().to_string(), b)).collect();
        ModelFolder { files }
    }

    fn listing(&self) -> String {
        if self.files.is_empty() {
            return "no files were given".into();
        }
        let names: Vec<&str> = self.files.iter().map(|(n, _)| n.as_str()).collect();
        format!("the files given are {}", names.join(", "))
    }

    /// Removes and returns the file `name`, if present.
    pub fn take(&mut self, name: &str) -> Option<Vec<u8>> {
        let at = self.files.iter().position(|(n, _)| n == name)?;
        Some(self.files.remove(at).1)
    }

    /// The file `name`, or an error saying it is missing and what it is for.
    pub fn require(&mut self, name: &str, what: &str) -> Result<Vec<u8>> {
        let listing = self.listing();
        self.take(name).ok_or_else(|| Error::Weights(format!("the model folder has no {name} ({what}); {listing}")))
    }

    /// The file `name` as UTF-8 text, if present.
    pub fn text(&mut self, name: &str) -> Result<Option<String>> {
        self.take(name).map(|b| String::from_utf8(b).map_err(|_| Error::Weights(format!("{name} is not UTF-8 text")))).transpose()
    }
}
