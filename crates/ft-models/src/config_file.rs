//! A model directory's two files, `config.json` and `model.safetensors`, the same for every
//! architecture: reading errors name the file whether it cannot be read, is not the expected
//! JSON, or fails the config's own checks; writing is atomic, tensors sorted by name.
use crate::ModelError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use tch::{nn::VarStore, Tensor};

/// Parses `path` as `T` and runs `validate` on the result.
pub(crate) fn read<T: DeserializeOwned>(
    path: &Path,
    validate: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes, path, validate)
}

/// [`read`] on the bytes of a file already in memory; `path` names it in errors. Type errors
/// carry serde's line and column; `validate` names the field.
pub(crate) fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    validate: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, ModelError> {
    let bad = |message: String| ModelError::Config {
        path: path.to_path_buf(),
        message,
    };
    let config: T = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    validate(&config).map_err(bad)?;
    Ok(config)
}

/// Checks that each `(field, value)` is at least 1, naming the first that is not.
pub(crate) fn positive(fields: &[(&str, i64)]) -> Result<(), String> {
    for &(name, value) in fields {
        if value < 1 {
            return Err(format!("field `{name}` must be at least 1, got {value}"));
        }
    }
    Ok(())
}

/// Checks that each `(field, value)` is a probability in `[0, 1)`, naming the first that is not.
pub(crate) fn probabilities(fields: &[(&str, f64)]) -> Result<(), String> {
    for &(name, value) in fields {
        if !(0.0..1.0).contains(&value) {
            return Err(format!("field `{name}` must be in [0, 1), got {value}"));
        }
    }
    Ok(())
}

/// Checks that each `(field, value)` is a finite number above 0, naming the first that is not.
pub(crate) fn positive_finite(fields: &[(&str, f64)]) -> Result<(), String> {
    for &(name, value) in fields {
        if !(value.is_finite() && value > 0.0) {
            return Err(format!(
                "field `{name}` must be a finite number above 0, got {value}"
            ));
        }
    }
    Ok(())
}

/// Writes `dir/config.json` from `config` and every variable of `vs` to `dir/model.safetensors`.
pub(crate) fn write_model_dir<T: Serialize>(
    dir: &Path,
    config: &T,
    vs: &VarStore,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_string_pretty(config).expect("configs serialise");
    crate::st::write_file_atomic(&dir.join("config.json"), json.as_bytes())?;
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    crate::st::write_atomic(&dir.join("model.safetensors"), &tensors)
}

#[cfg(test)]
mod tests {
    use crate::bert::BertConfig;
    use crate::gpt2::Gpt2Config;
    use crate::vae::VaeConfig;
    use crate::vision::VisionConfig;
    use serde_json::{json, Value};
    use std::path::Path;

    fn with(mut base: Value, key: &str, value: Value) -> Vec<u8> {
        base[key] = value;
        serde_json::to_vec(&base).unwrap()
    }

    #[test]
    fn zero_and_negative_sizes_are_refused_naming_file_and_field() {
        let p = Path::new("model/config.json");
        let bert = serde_json::to_value(BertConfig::tiny()).unwrap();
        for field in [
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ] {
            for v in [0, -3] {
                let err = BertConfig::from_slice(&with(bert.clone(), field, json!(v)), p)
                    .unwrap_err()
                    .to_string();
                assert!(
                    err.starts_with("invalid model config model/config.json: field")
                        && err.contains(&format!("`{field}` must be at least 1, got {v}")),
                    "{err}"
                );
            }
        }
        let err = BertConfig::from_slice(&with(bert.clone(), "hidden_dropout_prob", json!(1.5)), p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`hidden_dropout_prob` must be in [0, 1)"),
            "{err}"
        );
        // Wrong types name the file, with serde's line and column.
        let err = BertConfig::from_slice(&with(bert, "hidden_size", json!("big")), p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model/config.json")
                && err.contains("invalid type: string \"big\"")
                && err.contains("column"),
            "{err}"
        );

        let gpt2 =
            json!({"vocab_size": 50, "n_positions": 16, "n_embd": 8, "n_layer": 1, "n_head": 2});
        assert!(Gpt2Config::from_slice(&serde_json::to_vec(&gpt2).unwrap(), p).is_ok());
        for field in [
            "vocab_size",
            "n_positions",
            "n_embd",
            "n_layer",
            "n_head",
            "n_inner",
        ] {
            let err = Gpt2Config::from_slice(&with(gpt2.clone(), field, json!(0)), p)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("model/config.json")
                    && err.contains(&format!("`{field}` must be at least 1")),
                "{err}"
            );
        }

        let resnet = json!({"model_type": "resnet", "depth": 18, "num_classes": 2});
        assert!(VisionConfig::from_slice(&serde_json::to_vec(&resnet).unwrap(), p).is_ok());
        let err = VisionConfig::from_slice(&with(resnet, "num_classes", json!(0)), p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model/config.json") && err.contains("`num_classes` must be at least 1"),
            "{err}"
        );
        let eff = json!({"model_type": "efficientnet_lite", "num_classes": 2});
        let err = VisionConfig::from_slice(&with(eff, "image_size", json!(-1)), p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`image_size` must be at least 1"), "{err}");

        let vae = serde_json::to_value(VaeConfig::fashion_mnist()).unwrap();
        let err = VaeConfig::from_slice(&with(vae, "latent_dim", json!(0)), p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model/config.json") && err.contains("`latent_dim` must be at least 1"),
            "{err}"
        );
    }
}
