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

/// Issue 13 (c): the ONNX reader and the DINOv2 conversion on mutated files never panic; they
/// answer with a message. `PROPTEST_CASES` sets the count (`make fuzz-inputs` runs many).
#[cfg(test)]
mod fuzz_onnx {
    use super::onnx::{parse_model, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};
    use prost::Message;
    use proptest::prelude::*;

    fn floats(name: &str, dims: &[i64]) -> TensorProto {
        let n: i64 = dims.iter().product();
        let raw = (0..n).flat_map(|i| (i as f32 * 0.25).to_le_bytes()).collect();
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: 1, raw_data: raw, ..Default::default() }
    }

    fn constant(output: &str, value: i64) -> NodeProto {
        let t = TensorProto { data_type: 7, raw_data: value.to_le_bytes().to_vec(), ..Default::default() };
        let attr = AttributeProto { name: "value".into(), t: Some(t), ..Default::default() };
        NodeProto { output: vec![output.into()], op_type: "Constant".into(), attribute: vec![attr], ..Default::default() }
    }

    /// The start of a DINOv2 export, small: the converter reads this far before it asks for more.
    fn model() -> Vec<u8> {
        let node = |name: &str, inputs: &[&str]| NodeProto { name: name.into(), input: inputs.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let graph = GraphProto {
            node: vec![
                constant("c_heads", 2),
                constant("c_dim", 3),
                constant("c_eps", 0),
                node("/backbone/encoder/layer.0/attention/attention/Concat", &["a", "b", "c_heads", "c_dim"]),
                node("/backbone/encoder/layer.0/norm1/Add", &["x", "c_eps"]),
                node("/backbone/encoder/layer.0/attention/attention/query/MatMul", &["x", "onnx::MatMul_1"]),
            ],
            initializer: vec![
                floats("backbone.embeddings.patch_embeddings.projection.weight", &[6, 3, 2, 2]),
                floats("backbone.encoder.layer.0.norm1.weight", &[6]),
                floats("onnx::MatMul_1", &[6, 6]),
            ],
        };
        ModelProto { graph: Some(graph) }.encode_to_vec()
    }

    /// Reads everything a conversion would read; panics are the failures proptest reports.
    fn read(bytes: &[u8]) {
        match parse_model(bytes) {
            Ok(graph) => {
                for t in &graph.initializer {
                    if let Err(e) = t.floats() {
                        assert!(e.contains(&format!("\"{}\"", t.name)), "message does not name the tensor: {e}");
                    }
                }
                if let Err(e) = super::vision::convert(&graph) {
                    assert!(!e.is_empty());
                }
            }
            Err(e) => assert!(e.contains("ONNX"), "{e}"),
        }
    }

    #[test]
    fn the_unmutated_model_reads_and_names_what_is_missing() {
        let graph = parse_model(&model()).unwrap();
        assert_eq!(graph.initializer.len(), 3);
        let e = super::vision::convert(&graph).unwrap_err();
        // Sizes, layers, heads and eps were read; the next tensor it needs is named.
        assert_eq!(e, "the model has no initializer \"backbone.embeddings.cls_token\"");
    }

    proptest! {
        #[test]
        fn flipped_bytes(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut bytes = model();
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value.max(1);
            }
            read(&bytes);
        }

        #[test]
        fn truncated(at in any::<prop::sample::Index>()) {
            let bytes = model();
            read(&bytes[..at.index(bytes.len())]);
        }

        #[test]
        fn garbage(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            read(&bytes);
        }

        #[test]
        fn edited_tensors(dims in prop::collection::vec(-3i64..=i64::MAX, 0..5), data_type in -1i32..20, raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut model = ModelProto::decode(&model()[..]).unwrap();
            let t = &mut model.graph.as_mut().unwrap().initializer[0];
            t.dims = dims;
            t.data_type = data_type;
            t.raw_data = raw;
            read(&model.encode_to_vec());
        }
    }
}
