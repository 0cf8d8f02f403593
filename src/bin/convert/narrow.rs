//! Re-encodes chosen f32 tensors of a web weight file as f16, keeping the others and the metadata
//! (the readers widen f16 tensors to f32 at load, tensor by tensor).

use half::f16;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

pub fn to_f16(file: &[u8], names: &[&str]) -> Result<Vec<u8>, String> {
    let err = |e: safetensors::SafeTensorError| format!("re-encoding the weights: {e:?}");
    let st = SafeTensors::deserialize(file).map_err(err)?;
    let (_, header) = SafeTensors::read_metadata(file).map_err(err)?;
    let mut narrowed = Vec::new();
    for &name in names {
        let t = st.tensor(name).map_err(|_| format!("no tensor \"{name}\" to store in f16"))?;
        if t.dtype() != Dtype::F32 {
            return Err(format!("tensor \"{name}\" is {:?}, not f32", t.dtype()));
        }
        let halfs: Vec<u8> = t.data().chunks_exact(4).flat_map(|c| f16::from_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_le_bytes()).collect();
        narrowed.push((name, t.shape().to_vec(), halfs));
    }
    let mut views = Vec::new();
    for (name, view) in st.tensors() {
        match narrowed.iter().find(|(n, ..)| *n == name) {
            Some((_, shape, halfs)) => views.push((name, TensorView::new(Dtype::F16, shape.clone(), halfs).map_err(err)?)),
            None => views.push((name, view)),
        }
    }
    let meta = header.metadata().clone().map(|m| m.into_iter().collect());
    safetensors::serialize(views, meta).map_err(err)
}

#[cfg(test)]
mod tests {
    use attention_playground::weights::{StoreAs, WeightFile, WeightWriter};
    use safetensors::{Dtype, SafeTensors};

    #[test]
    fn narrows_only_the_named_tensors() {
        let mut w = WeightWriter::new("toy", StoreAs::F32);
        w.meta("config", "{}");
        w.tensor("a", &[2, 2], &[0.1, -2.0, 3.5, 1e-3]).unwrap();
        w.tensor("b", &[3], &[0.1, 0.2, 0.3]).unwrap();
        let bytes = super::to_f16(&w.to_bytes().unwrap(), &["a"]).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!((st.tensor("a").unwrap().dtype(), st.tensor("b").unwrap().dtype()), (Dtype::F16, Dtype::F32));
        let file = WeightFile::parse_web(bytes.clone(), "toy").unwrap();
        assert_eq!(file.meta_value("config"), Some("{}"));
        let a = file.tensor("a", &[2, 2]).unwrap();
        assert!(a.iter().zip([0.1, -2.0, 3.5, 1e-3]).all(|(x, y)| (x - y).abs() <= 1e-3 * y.abs()), "{a:?}");
        assert_eq!(file.tensor("b", &[3]).unwrap(), [0.1, 0.2, 0.3]);
        assert!(super::to_f16(&bytes, &["a"]).unwrap_err().contains("not f32"));
        assert!(super::to_f16(&bytes, &["c"]).unwrap_err().contains("no tensor \"c\""));
    }
}
