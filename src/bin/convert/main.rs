//! Converts source checkpoints into the web weight format and records them in the manifest.
//!
//!     convert text   <model folder> <out.safetensors> [--manifest www/models/manifest.json]
//!     convert vision <model.onnx>   <out.safetensors> [--manifest www/models/manifest.json]
//!
//! With `--manifest`, the output is renamed to its content-addressed name (see manifest.rs).

mod manifest;
mod narrow;
mod onnx;
mod text;
mod vision;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("text") => text::run(&args[1..]),
        Some("vision") => vision::run(&args[1..]),
        _ => Err("usage: convert text|vision <source> <out.safetensors> [--manifest FILE]".to_string()),
    };
    if let Err(e) = result {
        eprintln!("convert: {e}");
        std::process::exit(1);
    }
}

/// `<source> <out> [--manifest FILE]` → (source, out, manifest).
fn parse_io_args(what: &str, args: &[String]) -> Result<(String, String, Option<String>), String> {
    match args {
        [src, out] => Ok((src.clone(), out.clone(), None)),
        [src, out, flag, m] if flag == "--manifest" => Ok((src.clone(), out.clone(), Some(m.clone()))),
        _ => Err(format!("usage: convert {what} <source> <out.safetensors> [--manifest FILE]")),
    }
}
