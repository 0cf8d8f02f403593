//! The feed-forward activation a Hugging Face `config.json` names in `hidden_act`, shared by the
//! text (BERT) and image (ViT/DINOv2) converters so both take, and refuse, the same names.

use crate::backend::Activation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The GELU variants the backends run (HF `hidden_act`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HiddenAct {
    /// erf GELU (BERT, MiniLM, ViT, DINOv2)
    #[default]
    #[serde(rename = "gelu", alias = "gelu_python")]
    Gelu,
    /// tanh-approximated GELU; HF's `gelu_fast` is the same formula factored differently.
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
}

impl HiddenAct {
    pub const NAMES: [&str; 5] = ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast"];

    /// For `skip_serializing_if`: our files leave out the default, so files written before the
    /// field existed stay byte for byte the same.
    pub fn is_erf(&self) -> bool {
        *self == HiddenAct::Gelu
    }

    pub fn activation(self) -> Activation {
        match self {
            HiddenAct::Gelu => Activation::Gelu,
            HiddenAct::GeluTanh => Activation::GeluTanh,
        }
    }

    /// A config's `hidden_act` value (absent: HF's default, erf GELU). The error names the value
    /// and the supported names; callers prefix which file it came from.
    pub fn from_config(v: Option<&Value>) -> Result<HiddenAct, String> {
        match v {
            None => Ok(HiddenAct::Gelu),
            Some(Value::String(s)) if ["gelu", "gelu_python"].contains(&s.as_str()) => Ok(HiddenAct::Gelu),
            Some(Value::String(s)) if Self::NAMES.contains(&s.as_str()) => Ok(HiddenAct::GeluTanh),
            Some(other) => Err(format!(
                "hidden_act {other} is not supported (supported: \"gelu\"/\"gelu_python\" (erf), \"gelu_new\"/\"gelu_pytorch_tanh\"/\"gelu_fast\" (tanh))"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_maps_as_serde_does() {
        for name in HiddenAct::NAMES {
            let v = Value::String(name.into());
            assert_eq!(HiddenAct::from_config(Some(&v)), Ok(serde_json::from_value::<HiddenAct>(v).unwrap()), "{name}");
        }
        assert_eq!(HiddenAct::from_config(None), Ok(HiddenAct::Gelu));
        let err = HiddenAct::from_config(Some(&Value::String("relu".into()))).unwrap_err();
        assert!(err.starts_with("hidden_act \"relu\" is not supported") && err.contains("gelu_fast"), "{err}");
        assert!(HiddenAct::from_config(Some(&serde_json::json!(3))).is_err());
    }
}
