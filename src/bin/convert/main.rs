//! Converts source checkpoints into the web weight format and records them in the manifest.
//!
//!     convert text   <model folder> <out.safetensors> [--manifest www/models/manifest.json]
//!     convert vision <model.onnx>   <out.safetensors> [--manifest www/models/manifest.json]

mod manifest;
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
