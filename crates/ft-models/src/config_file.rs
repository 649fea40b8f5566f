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
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| ModelError::Config {
        path: path.to_path_buf(),
        message,
    };
    let config: T = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    validate(&config).map_err(bad)?;
    Ok(config)
}

/// Writes `dir/config.json` from `config` and every variable of `vs` to `dir/model.safetensors`.
pub(crate) fn write_model_dir<T: Serialize>(
    dir: &Path,
    config: &T,
    vs: &VarStore,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_string_pretty(config).expect("configs serialise");
    crate::st::write_file_atomic(&dir.join("config.json"), json.as_bytes())?;
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    crate::st::write_atomic(&dir.join("model.safetensors"), &tensors)
}
