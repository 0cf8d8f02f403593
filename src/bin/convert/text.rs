//! BERT-family checkpoint folder → web format.

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("convert text: not built yet".into())
}
