//! Reading a config from JSON so that an error names the key it is about:
//! `training.lr_scheduler_type `cosin` is not one of constant, …`, not serde's bare message
//! with a line and column. Used for run configs, recipes and `training_args.json`.
use serde::de::DeserializeOwned;

/// `value` as a `T`, or a one-line message that starts with the dotted path of the key at
/// fault (`training.optim`, `data.format`) unless the message already names it.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        name_key(&path, &inner)
    })
}

/// `text` (JSON) as a `T`, likewise; syntax errors keep their line and column.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    from_value(value)
}

fn name_key(path: &str, message: &str) -> String {
    let key = path.rsplit('.').next().unwrap_or(path);
    if path.is_empty() || path == "." || message.starts_with(key) {
        message.to_string()
    } else if message.starts_with('`') {
        format!("{path} {message}")
    } else {
        format!("{path}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainingArgs;
    use serde_json::json;

    #[test]
    fn errors_name_the_key() {
        let e = from_value::<TrainingArgs>(json!({"optim": "adamw_torchx"})).unwrap_err();
        assert_eq!(e, "optim `adamw_torchx` is not one of adamw, adam, sgd");
        let e = from_value::<TrainingArgs>(json!({"seed": "x"})).unwrap_err();
        assert!(e.starts_with("seed: invalid type"), "{e}");
        let e = from_str::<TrainingArgs>("{\"seed\": 1,}").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
