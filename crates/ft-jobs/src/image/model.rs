//! The vision model a run starts from (an ft run, a saved model, or a fetched torchvision /
//! timm checkpoint named by its architecture), its head resized to the run's classes, and the
//! preprocessing pipelines that match it.
use crate::config::DataConfig;
use anyhow::{Context, Result};
use ft_data::vision::Transform;
use ft_models::vision::{EfficientNetConfig, ResNetConfig, VisionConfig, VisionModel};
use serde_json::{json, Value};
use std::path::PathBuf;

/// A vision model to start from: its architecture, and the weights file if there is one.
pub struct VisionStart {
    pub config: VisionConfig,
    pub weights: Option<PathBuf>,
    /// The directory the model came from (for provenance).
    pub dir: PathBuf,
}

/// Resolves `spec`: a directory with `config.json` (an ft run or a saved model), or a fetched
/// cache model (`resnet50`, `efficientnet-lite0`; torchvision/timm checkpoints have no config,
/// so the architecture comes from the name).
pub fn resolve_vision_model(spec: &str) -> Result<VisionStart> {
    let dir = crate::resolve::resolve_dir(spec)?;
    // An ft run (or a model saved by ft) says its architecture in `model_type`. timm's own
    // config.json (the `resnet50` upstream asset) names it in `architecture` instead, and
    // torchvision writes none; the directory name is the last resort.
    let path = dir.join("config.json");
    let json: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let ours = json
        .as_ref()
        .and_then(|v| v.get("model_type"))
        .is_some_and(|t| t == "resnet" || t == "efficientnet_lite");
    let config = if ours {
        VisionConfig::from_dir(&dir)?
    } else {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = json
            .as_ref()
            .and_then(|v| v.get("architecture"))
            .and_then(|a| a.as_str())
            .map(str::to_lowercase)
            .unwrap_or(dir_name);
        architecture_from_name(&name).with_context(|| {
            format!(
                "{}: no ft config.json, and neither timm's `architecture` nor the folder name \
                 says the architecture (resnet18/34/50/101/152, efficientnet-lite0)",
                dir.display()
            )
        })?
    };
    let weights = dir.join("model.safetensors");
    Ok(VisionStart {
        config,
        weights: weights.is_file().then_some(weights),
        dir,
    })
}

/// The ImageNet (1000-class) architecture a name such as `resnet50`, `resnet50.tv_in1k` or
/// `efficientnet-lite0` stands for.
fn architecture_from_name(name: &str) -> Option<VisionConfig> {
    if let Some(rest) = name.strip_prefix("resnet") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        // `resnet50d` and other timm variants have another stem: not this architecture.
        let tail = &rest[digits.len()..];
        if tail.is_empty() || tail.starts_with('.') {
            return digits
                .parse()
                .ok()
                .map(|depth| VisionConfig::ResNet(ResNetConfig::new(depth, 1000)));
        }
        return None;
    }
    (name.starts_with("efficientnet-lite0") || name.starts_with("efficientnet_lite0"))
        .then(|| VisionConfig::EfficientNet(EfficientNetConfig::lite0(1000)))
}

/// `config` with a `n`-way head named `labels`.
pub(crate) fn with_classes(config: &VisionConfig, labels: &[String]) -> VisionConfig {
    let mut config = config.clone();
    match &mut config {
        VisionConfig::ResNet(c) => c.num_classes = labels.len() as i64,
        VisionConfig::EfficientNet(c) => c.num_classes = labels.len() as i64,
    }
    config.set_labels(labels);
    config
}

/// The train and eval pipelines: the config's, or torchvision's ImageNet presets with the
/// model's normalisation (grey images are replicated to RGB first).
pub fn transforms(data: &DataConfig, model: &VisionModel) -> Result<(Transform, Transform)> {
    let pre = model.preprocessing();
    let crop = data.image_size.unwrap_or(pre.crop as usize);
    let resize = if data.image_size.is_some() {
        crop * 8 / 7
    } else {
        pre.resize as usize
    };
    let normalize = json!({"normalize": {"mean": pre.mean, "std": pre.std}});
    let train = match &data.train_transforms {
        Some(v) => v.clone(),
        None => json!([
            {"grayscale_to_rgb": {}},
            {"random_resized_crop": {"size": crop}},
            {"random_horizontal_flip": {"p": 0.5}},
            {"to_tensor": {}},
            normalize
        ]),
    };
    let eval = match &data.eval_transforms {
        Some(v) => v.clone(),
        None => json!([
            {"grayscale_to_rgb": {}},
            {"resize": resize},
            {"center_crop": crop},
            {"to_tensor": {}},
            normalize
        ]),
    };
    let parse = |v: &Value, which: &str| {
        Transform::from_json(&v.to_string()).with_context(|| format!("{which}_transforms"))
    };
    Ok((parse(&train, "train")?, parse(&eval, "eval")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_come_from_ft_timm_or_folder_names() {
        let depth = |n: &str| match architecture_from_name(n) {
            Some(VisionConfig::ResNet(c)) => Some(c.depth),
            _ => None,
        };
        assert_eq!(depth("resnet50"), Some(50));
        assert_eq!(depth("resnet50.tv_in1k"), Some(50));
        assert_eq!(depth("resnet18"), Some(18));
        assert_eq!(depth("resnet50d"), None);
        assert!(matches!(
            architecture_from_name("efficientnet-lite0"),
            Some(VisionConfig::EfficientNet(_))
        ));
        assert!(architecture_from_name("vit_base").is_none());

        // timm's config.json: `architecture`, no `model_type`.
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("weights");
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(
            model.join("config.json"),
            r#"{"architecture": "resnet50.tv_in1k", "num_classes": 1000, "num_features": 2048}"#,
        )
        .unwrap();
        let start = resolve_vision_model(model.to_str().unwrap()).unwrap();
        assert!(matches!(start.config, VisionConfig::ResNet(ref c) if c.depth == 50));
        assert!(start.weights.is_none());
        std::fs::write(model.join("config.json"), r#"{"architecture": "convnext"}"#).unwrap();
        let err = resolve_vision_model(model.to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("weights") && err.contains("resnet18"), "{err}");
    }
}
