//! The `config.json` of a vision model: which architecture, how many classes and their names.
//!
//! torchvision has no config file of its own; ft writes one beside `model.safetensors` with a
//! `model_type` key (`"resnet"` or `"efficientnet_lite"`) so a run directory can be reloaded
//! without knowing the architecture in advance. Unknown keys are kept and written back.
use crate::ModelError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A torchvision ResNet: `depth` 18, 34, 50, 101 or 152 and a `num_classes`-way `fc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResNetConfig {
    pub depth: u32,
    pub num_classes: i64,
    /// Class names by id, with string keys as transformers writes them (`{"0": "cat"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResNetConfig {
    pub fn new(depth: u32, num_classes: i64) -> ResNetConfig {
        ResNetConfig {
            depth,
            num_classes,
            id2label: None,
            extra: Map::new(),
        }
    }

    /// Blocks per stage and whether they are bottlenecks (torchvision's table).
    pub(crate) fn layout(&self) -> Result<([usize; 4], bool), String> {
        Ok(match self.depth {
            18 => ([2, 2, 2, 2], false),
            34 => ([3, 4, 6, 3], false),
            50 => ([3, 4, 6, 3], true),
            101 => ([3, 4, 23, 3], true),
            152 => ([3, 8, 36, 3], true),
            d => {
                return Err(format!(
                    "ResNet depth {d} is not one of 18, 34, 50, 101, 152"
                ))
            }
        })
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.layout()?;
        check_classes(self.num_classes, &self.id2label)
    }
}

fn default_dropout() -> f64 {
    0.2
}
fn default_drop_connect() -> f64 {
    0.2
}
fn default_bn_eps() -> f64 {
    1e-3
}
fn default_bn_momentum() -> f64 {
    0.01
}
fn default_image_size() -> i64 {
    224
}

/// EfficientNet-Lite0 in the lukemelas EfficientNet-PyTorch layout (see ASSETS.md): the block
/// table is fixed; the rates and BatchNorm constants default to the published ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficientNetConfig {
    pub num_classes: i64,
    /// Dropout before `_fc` in training.
    #[serde(default = "default_dropout")]
    pub dropout_rate: f64,
    /// Stochastic depth: block `i` of `n` skips its residual branch with probability
    /// `rate · i / n` in training (lukemelas' `drop_connect`).
    #[serde(default = "default_drop_connect")]
    pub drop_connect_rate: f64,
    #[serde(default = "default_bn_eps")]
    pub batch_norm_epsilon: f64,
    /// In PyTorch's sense: 1 − TensorFlow's 0.99.
    #[serde(default = "default_bn_momentum")]
    pub batch_norm_momentum: f64,
    /// The resolution the weights were trained at (the crop of the preprocessing).
    #[serde(default = "default_image_size")]
    pub image_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EfficientNetConfig {
    /// EfficientNet-Lite0 with a `num_classes`-way `_fc`.
    pub fn lite0(num_classes: i64) -> EfficientNetConfig {
        serde_json::from_value(serde_json::json!({ "num_classes": num_classes }))
            .expect("defaults fill every field")
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        crate::config_file::probabilities(&[
            ("dropout_rate", self.dropout_rate),
            ("drop_connect_rate", self.drop_connect_rate),
        ])?;
        crate::config_file::positive(&[("image_size", self.image_size)])?;
        crate::config_file::positive_finite(&[("batch_norm_epsilon", self.batch_norm_epsilon)])?;
        if !(0.0..=1.0).contains(&self.batch_norm_momentum) {
            return Err(format!(
                "field `batch_norm_momentum` must be in [0, 1], got {}",
                self.batch_norm_momentum
            ));
        }
        check_classes(self.num_classes, &self.id2label)
    }
}

fn check_classes(n: i64, id2label: &Option<BTreeMap<String, String>>) -> Result<(), String> {
    if n < 1 {
        return Err(format!("field `num_classes` must be at least 1, got {n}"));
    }
    if let Some(map) = id2label {
        if map.len() as i64 != n {
            return Err(format!(
                "id2label has {} entries but num_classes is {n}",
                map.len()
            ));
        }
    }
    Ok(())
}

/// Either architecture's config, as read from a `config.json` (dispatching on `model_type`).
#[derive(Debug, Clone, PartialEq)]
pub enum VisionConfig {
    ResNet(ResNetConfig),
    EfficientNet(EfficientNetConfig),
}

impl VisionConfig {
    /// The `model_type` written to `config.json`.
    pub fn model_type(&self) -> &'static str {
        match self {
            VisionConfig::ResNet(_) => "resnet",
            VisionConfig::EfficientNet(_) => "efficientnet_lite",
        }
    }

    /// Reads `config.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<VisionConfig, ModelError> {
        VisionConfig::from_file(&dir.join("config.json"))
    }

    pub fn from_file(path: &Path) -> Result<VisionConfig, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        VisionConfig::from_slice(&bytes, path)
    }

    /// [`VisionConfig::from_file`] on bytes already in memory; `path` names them in errors.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<VisionConfig, ModelError> {
        let value: Value = crate::config_file::parse(bytes, path, |_| Ok(()))?;
        let bad = |message: String| ModelError::Config {
            path: path.to_path_buf(),
            message,
        };
        let config = match value.get("model_type").and_then(Value::as_str) {
            Some("resnet") => {
                VisionConfig::ResNet(serde_json::from_value(value).map_err(|e| bad(e.to_string()))?)
            }
            Some("efficientnet_lite") => VisionConfig::EfficientNet(
                serde_json::from_value(value).map_err(|e| bad(e.to_string()))?,
            ),
            other => {
                return Err(bad(format!(
                    "field `model_type` is {other:?}; expected \"resnet\" or \"efficientnet_lite\""
                )))
            }
        };
        config.validate().map_err(bad)?;
        Ok(config)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            VisionConfig::ResNet(c) => c.validate(),
            VisionConfig::EfficientNet(c) => c.validate(),
        }
    }

    pub fn num_classes(&self) -> i64 {
        match self {
            VisionConfig::ResNet(c) => c.num_classes,
            VisionConfig::EfficientNet(c) => c.num_classes,
        }
    }

    fn id2label_mut(&mut self) -> &mut Option<BTreeMap<String, String>> {
        match self {
            VisionConfig::ResNet(c) => &mut c.id2label,
            VisionConfig::EfficientNet(c) => &mut c.id2label,
        }
    }

    /// Sets the class names (in id order).
    pub fn set_labels(&mut self, names: &[String]) {
        *self.id2label_mut() = Some(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (i.to_string(), n.clone()))
                .collect(),
        );
    }

    /// Class names in id order, if the config has them.
    pub fn labels(&self) -> Option<Vec<String>> {
        let map = match self {
            VisionConfig::ResNet(c) => c.id2label.as_ref(),
            VisionConfig::EfficientNet(c) => c.id2label.as_ref(),
        }?;
        let mut pairs: Vec<(i64, &String)> = map
            .iter()
            .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
            .collect();
        pairs.sort();
        Some(pairs.into_iter().map(|(_, v)| v.clone()).collect())
    }

    /// The JSON written as `config.json`: the fields plus `model_type` and `architectures`.
    pub fn to_json(&self) -> Value {
        let (mut value, arch) = match self {
            VisionConfig::ResNet(c) => (
                serde_json::to_value(c).expect("config serialises"),
                format!("resnet{}", c.depth),
            ),
            VisionConfig::EfficientNet(c) => (
                serde_json::to_value(c).expect("config serialises"),
                "efficientnet-lite0".to_string(),
            ),
        };
        let object = value
            .as_object_mut()
            .expect("a struct serialises to an object");
        object.insert("model_type".into(), self.model_type().into());
        object.insert("architectures".into(), serde_json::json!([arch]));
        value
    }
}

impl From<ResNetConfig> for VisionConfig {
    fn from(c: ResNetConfig) -> VisionConfig {
        VisionConfig::ResNet(c)
    }
}

impl From<EfficientNetConfig> for VisionConfig {
    fn from(c: EfficientNetConfig) -> VisionConfig {
        VisionConfig::EfficientNet(c)
    }
}
