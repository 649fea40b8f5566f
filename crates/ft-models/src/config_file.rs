//! Reading a model's `config.json`: every architecture's config errors the same way, naming the
//! file, whether it cannot be read, is not the expected JSON, or fails the config's own checks.
use crate::ModelError;
use serde::de::DeserializeOwned;
use std::path::Path;

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
