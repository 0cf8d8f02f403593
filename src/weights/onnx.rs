//! The few ONNX protobuf messages the converter reads (field numbers from onnx.proto3), declared
//! by hand for `prost` so no `protoc` is needed. Fields we never read are skipped by the decoder.

use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, tag = "2")]
    pub f: f32,
    #[prost(int64, tag = "3")]
    pub i: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// 1 = EXTERNAL: the values live in a side file, which we do not follow.
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

/// TensorProto.DataType.FLOAT
const FLOAT: i32 = 1;

impl TensorProto {
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|&d| d.max(0) as usize).collect()
    }

    /// The values as f32, from `raw_data` (little-endian) or `float_data`.
    pub fn floats(&self) -> Result<Vec<f32>, String> {
        let name = &self.name;
        if self.data_location == 1 {
            return Err(format!("tensor \"{name}\" keeps its data in an external file, which is not supported"));
        }
        if self.data_type != FLOAT {
            return Err(format!("tensor \"{name}\" has ONNX data type {}, expected FLOAT (1)", self.data_type));
        }
        let n = self.shape().iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|n| n.checked_mul(4).is_some());
        let n = n.ok_or_else(|| format!("tensor \"{name}\" has shape {:?}, too large to hold", self.dims))?;
        let values: Vec<f32> = if !self.raw_data.is_empty() {
            if self.raw_data.len() != n * 4 {
                return Err(format!("tensor \"{name}\" has {} raw bytes for shape {:?} ({} expected)", self.raw_data.len(), self.dims, n * 4));
            }
            self.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        } else {
            self.float_data.clone()
        };
        if values.len() != n {
            return Err(format!("tensor \"{name}\" has {} values for shape {:?}", values.len(), self.dims));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("tensor \"{name}\" contains NaN or infinite values"));
        }
        Ok(values)
    }
}

impl NodeProto {
    pub fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.attribute.iter().find(|a| a.name == name)
    }
}

pub fn parse_model(bytes: &[u8]) -> Result<GraphProto, String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not a readable ONNX model ({e}); is the file truncated?"))?;
    model.graph.ok_or_else(|| "the ONNX model has no graph".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[i64]) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: FLOAT, ..Default::default() }
    }

    #[test]
    fn raw_and_float_data_and_errors() {
        let mut t = tensor("a", &[2]);
        t.raw_data = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(t.floats().unwrap(), vec![1.5, -2.0]);
        let mut t = tensor("b", &[3]);
        t.float_data = vec![1.0, 2.0, 3.0];
        assert_eq!(t.floats().unwrap(), vec![1.0, 2.0, 3.0]);
        t.float_data.pop();
        assert!(t.floats().unwrap_err().contains("2 values"));
        let mut t = tensor("c", &[1]);
        t.data_type = 7;
        assert!(t.floats().unwrap_err().contains("data type 7"));
        let mut t = tensor("d", &[1]);
        t.data_location = 1;
        assert!(t.floats().unwrap_err().contains("external"));
        let model = ModelProto { graph: Some(GraphProto { node: vec![], initializer: vec![tensor("x", &[0])] }) };
        let bytes = model.encode_to_vec();
        assert_eq!(parse_model(&bytes).unwrap().initializer[0].name, "x");
        assert!(parse_model(&bytes[..bytes.len() - 1]).is_err());
    }
}
