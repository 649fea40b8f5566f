//! Image classifiers: torchvision's ResNet (18/34/50/101/152) and EfficientNet-Lite0 (lukemelas
//! layout), with the upstream parameter names, per-group BatchNorm modes and a replaceable head.
//!
//! [`VisionModel`] is what training code holds: one type over both architectures, with the
//! feature/head split a cached-feature linear probe needs ([`VisionModel::features`] then
//! [`VisionModel::classify`]).
//!
//! ```no_run
//! use ft_models::vision::{ResNetConfig, VisionModel};
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let model = VisionModel::new(&vs.root(), &ResNetConfig::new(50, 2).into())?;
//! // A 1000-class ImageNet checkpoint: `fc` does not fit 2 classes and stays freshly initialised.
//! let report = model.load_pretrained(&vs, "resnet50/model.safetensors".as_ref())?;
//! println!("{report}");
//! # Ok::<(), ft_models::ModelError>(())
//! ```
mod config;
mod efficientnet;
mod layers;
mod resnet;

pub use config::{EfficientNetConfig, ResNetConfig, VisionConfig};
pub use efficientnet::{EfficientNetLite, EFFICIENTNET_HEAD_PREFIX};
pub use resnet::{ResNet, RESNET_HEAD_PREFIX};

use crate::loading::{load_into, LoadReport, NameMap};
use crate::{GroupModes, LayerGroup, ModelError};
use std::collections::HashSet;
use std::path::Path;
use tch::nn;
use tch::Tensor;

/// The published input pipeline of a model's pretrained weights, for pixels scaled to [0, 1]:
/// resize the shorter side to `resize`, center-crop `crop`, then `(x − mean) / std` per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessing {
    pub resize: u32,
    pub crop: u32,
    /// RGB order.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocessing {
    /// torchvision's ImageNet recipe (ResNet).
    pub fn imagenet() -> Preprocessing {
        Preprocessing {
            resize: 256,
            crop: 224,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }

    /// EfficientNet-Lite's `(x·255 − 127) / 128`, written as mean 127/255 and std 128/255.
    pub fn efficientnet_lite(crop: u32) -> Preprocessing {
        Preprocessing {
            // 256/224 of the crop, as the ImageNet recipe.
            resize: crop * 8 / 7,
            crop,
            mean: [127.0 / 255.0; 3],
            std: [128.0 / 255.0; 3],
        }
    }
}

/// One of the vision architectures, behind one interface.
pub enum VisionModel {
    ResNet(ResNet),
    EfficientNet(EfficientNetLite),
}

impl VisionModel {
    /// Builds the architecture `config` names under `p` (freshly initialised).
    pub fn new(p: &nn::Path, config: &VisionConfig) -> Result<VisionModel, ModelError> {
        Ok(match config {
            VisionConfig::ResNet(c) => VisionModel::ResNet(ResNet::new(p, c)?),
            VisionConfig::EfficientNet(c) => {
                VisionModel::EfficientNet(EfficientNetLite::new(p, c)?)
            }
        })
    }

    /// The config this model was built from (labels included).
    pub fn config(&self) -> VisionConfig {
        match self {
            VisionModel::ResNet(m) => VisionConfig::ResNet(m.config.clone()),
            VisionModel::EfficientNet(m) => VisionConfig::EfficientNet(m.config.clone()),
        }
    }

    /// Sets the class names written to `config.json` by [`VisionModel::save_pretrained`]; there
    /// must be one per class.
    pub fn set_labels(&mut self, names: &[String]) -> Result<(), ModelError> {
        if names.len() as i64 != self.num_classes() {
            return Err(ModelError::Invalid(format!(
                "{} label names for a {}-class head",
                names.len(),
                self.num_classes()
            )));
        }
        let mut config = self.config();
        config.set_labels(names);
        match (self, config) {
            (VisionModel::ResNet(m), VisionConfig::ResNet(c)) => m.config = c,
            (VisionModel::EfficientNet(m), VisionConfig::EfficientNet(c)) => m.config = c,
            _ => unreachable!("config() returns the model's own variant"),
        }
        Ok(())
    }

    /// Bottom to top; the last group is always the head.
    pub fn layer_groups(&self) -> &[LayerGroup] {
        match self {
            VisionModel::ResNet(m) => m.layer_groups(),
            VisionModel::EfficientNet(m) => m.layer_groups(),
        }
    }

    /// `fc.` (ResNet) or `_fc.` (EfficientNet).
    pub fn head_prefix(&self) -> &'static str {
        match self {
            VisionModel::ResNet(_) => RESNET_HEAD_PREFIX,
            VisionModel::EfficientNet(_) => EFFICIENTNET_HEAD_PREFIX,
        }
    }

    pub fn num_classes(&self) -> i64 {
        self.config().num_classes()
    }

    /// Width `C` of [`VisionModel::features`].
    pub fn num_features(&self) -> i64 {
        match self {
            VisionModel::ResNet(m) => m.num_features(),
            VisionModel::EfficientNet(m) => m.num_features(),
        }
    }

    /// Pooled, flattened backbone features `[N, C]` of normalised images `[N, 3, H, W]`.
    pub fn features(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        match self {
            VisionModel::ResNet(m) => m.features(xs, modes),
            VisionModel::EfficientNet(m) => m.features(xs, modes),
        }
    }

    /// Logits `[N, num_classes]` from features (dropout first where the architecture has it).
    pub fn classify(&self, features: &Tensor, modes: &GroupModes) -> Tensor {
        match self {
            VisionModel::ResNet(m) => m.classify(features, modes),
            VisionModel::EfficientNet(m) => m.classify(features, modes),
        }
    }

    /// `classify(features(xs))`.
    pub fn forward(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        self.classify(&self.features(xs, modes), modes)
    }

    /// The normalisation the pretrained weights expect.
    pub fn preprocessing(&self) -> Preprocessing {
        match self {
            VisionModel::ResNet(_) => Preprocessing::imagenet(),
            VisionModel::EfficientNet(m) => {
                Preprocessing::efficientnet_lite(m.config.image_size as u32)
            }
        }
    }

    /// Loads a torchvision / timm / lukemelas / ft checkpoint into the model.
    ///
    /// A head whose shape differs (a 1000-class ImageNet `fc` into a 2-class model) is skipped:
    /// the checkpoint's head tensors are listed as ignored and the model's as newly initialised.
    /// `num_batches_tracked` may be absent (timm drops it). Tensors the model has no variable
    /// for are listed as ignored. Any other missing or mis-shaped tensor is an error naming it
    /// with both shapes, and then nothing is loaded.
    pub fn load_pretrained(
        &self,
        vs: &nn::VarStore,
        path: &Path,
    ) -> Result<LoadReport, ModelError> {
        let variables = vs.variables();
        let checkpoint = crate::st::read(path)?;
        let head = self.head_prefix();
        let skipped: HashSet<String> = checkpoint
            .iter()
            .filter(|(name, tensor)| match variables.get(name) {
                None => true,
                Some(var) => name.starts_with(head) && var.size() != tensor.size(),
            })
            .map(|(name, _)| name.clone())
            .collect();
        let rename = |name: &str| (!skipped.contains(name)).then(|| name.to_string());
        let may_be_missing =
            |name: &str| name.starts_with(head) || name.ends_with(".num_batches_tracked");
        let names = NameMap {
            rename: &rename,
            may_be_missing: &may_be_missing,
        };
        load_into(&variables, checkpoint, &names, path)
    }

    /// Writes `model.safetensors` holding exactly the upstream `state_dict` (torchvision's keys
    /// for ResNet, `num_batches_tracked` as int64), loadable with `load_state_dict(strict=True)`,
    /// and `config.json` (with `model_type`, `num_classes`, `id2label`).
    pub fn save_pretrained(&self, vs: &nn::VarStore, dir: &Path) -> Result<(), ModelError> {
        crate::config_file::write_model_dir(dir, &self.config().to_json(), vs)
    }
}
