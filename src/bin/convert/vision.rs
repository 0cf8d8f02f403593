//! `convert vision <model.onnx> <out.safetensors> [--manifest FILE]`: `weights::dinov2_onnx`.

use attention_playground::weights::dinov2_onnx;

pub fn run(args: &[String]) -> Result<(), String> {
    let (src, out, manifest) = super::parse_io_args("vision", args)?;
    let bytes = std::fs::read(&src).map_err(|e| format!("cannot read {src}: {e}"))?;
    let file = dinov2_onnx::from_onnx(&bytes)?;
    std::fs::write(&out, &file).map_err(|e| format!("cannot write {out}: {e}"))?;
    eprintln!("convert vision: wrote {out} ({:.1} MB)", file.len() as f64 / 1e6);
    if let Some(m) = manifest {
        let hashed = super::manifest::publish(&m, "vision", &out)?;
        eprintln!("convert vision: renamed to {} and recorded in {m}", hashed.display());
    }
    Ok(())
}
