use crate::ModelError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

fn default_act() -> String {
    "gelu_new".into()
}
fn default_pdrop() -> f64 {
    0.1
}
fn default_eps() -> f64 {
    1e-5
}
fn default_init_range() -> f64 {
    0.02
}
fn default_special() -> i64 {
    50256
}

/// An HF `GPT2Config` (`config.json`), with transformers' field names. Keys this crate does not
/// use (`n_ctx`, `task_specific_params`, …) are kept in `extra` and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    pub vocab_size: i64,
    /// The context length: the number of learned position embeddings.
    pub n_positions: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    /// Width of the MLP; `None` means 4 · `n_embd`, as in transformers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_inner: Option<i64>,
    #[serde(default = "default_act")]
    pub activation_function: String,
    #[serde(default = "default_pdrop")]
    pub resid_pdrop: f64,
    #[serde(default = "default_pdrop")]
    pub embd_pdrop: f64,
    #[serde(default = "default_pdrop")]
    pub attn_pdrop: f64,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    #[serde(default = "default_special")]
    pub bos_token_id: i64,
    /// `<|endoftext|>`: separates packed documents and stops generation.
    #[serde(default = "default_special")]
    pub eos_token_id: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Gpt2Config {
    /// Reads `config.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<Gpt2Config, ModelError> {
        Gpt2Config::from_file(&dir.join("config.json"))
    }

    pub fn from_file(path: &Path) -> Result<Gpt2Config, ModelError> {
        crate::config_file::read(path, Gpt2Config::validate)
    }

    /// [`Gpt2Config::from_file`] on bytes already in memory; `path` names them in errors.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<Gpt2Config, ModelError> {
        crate::config_file::parse(bytes, path, Gpt2Config::validate)
    }

    /// Checks the shape settings and rejects the GPT-2 variants this implementation does not
    /// reproduce (so a checkpoint never loads into a silently different model).
    pub fn validate(&self) -> Result<(), String> {
        crate::config_file::positive(&[
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
        ])?;
        if let Some(n) = self.n_inner {
            crate::config_file::positive(&[("n_inner", n)])?;
        }
        crate::config_file::probabilities(&[
            ("resid_pdrop", self.resid_pdrop),
            ("embd_pdrop", self.embd_pdrop),
            ("attn_pdrop", self.attn_pdrop),
        ])?;
        crate::config_file::positive_finite(&[("layer_norm_epsilon", self.layer_norm_epsilon)])?;
        if self.n_head <= 0 || self.n_embd % self.n_head != 0 {
            return Err(format!(
                "n_embd {} is not a multiple of n_head {}",
                self.n_embd, self.n_head
            ));
        }
        if !matches!(
            self.activation_function.as_str(),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu" | "relu"
        ) {
            return Err(format!(
                "activation_function `{}` is not supported",
                self.activation_function
            ));
        }
        let flag = |k: &str| self.extra.get(k).and_then(Value::as_bool);
        for (key, supported) in [
            ("scale_attn_weights", true),
            ("scale_attn_by_inverse_layer_idx", false),
            ("reorder_and_upcast_attn", false),
            ("add_cross_attention", false),
            ("tie_word_embeddings", true),
        ] {
            if flag(key).is_some_and(|v| v != supported) {
                return Err(format!("`{key}: {}` is not supported", !supported));
            }
        }
        Ok(())
    }

    /// The MLP width.
    pub fn inner_dim(&self) -> i64 {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// A GPT-2 of the given size with the defaults of transformers' `GPT2Config` (dropout 0.1,
    /// ε 1e-5, gelu_new), for pre-training from scratch; `eos` is also used as `bos`.
    pub fn small(
        vocab_size: i64,
        n_positions: i64,
        n_embd: i64,
        n_layer: i64,
        n_head: i64,
        eos: i64,
    ) -> Gpt2Config {
        let mut extra = Map::new();
        extra.insert("model_type".into(), Value::from("gpt2"));
        Gpt2Config {
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            n_inner: None,
            activation_function: default_act(),
            resid_pdrop: 0.1,
            embd_pdrop: 0.1,
            attn_pdrop: 0.1,
            layer_norm_epsilon: default_eps(),
            initializer_range: default_init_range(),
            bos_token_id: eos,
            eos_token_id: eos,
            extra,
        }
    }

    /// A tiny config for tests: 2 layers, 64 wide, 4 heads, vocabulary 100, context 32.
    pub fn tiny() -> Gpt2Config {
        Gpt2Config::small(100, 32, 64, 2, 4, 99)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upstream_names_and_rejects_unsupported_variants() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let upstream = r#"{"vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "n_embd": 768,
            "n_layer": 12, "n_head": 12, "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-05, "bos_token_id": 50256, "eos_token_id": 50256,
            "model_type": "gpt2"}"#;
        std::fs::write(&path, upstream).unwrap();
        let c = Gpt2Config::from_file(&path).unwrap();
        assert_eq!(
            (c.n_embd, c.inner_dim(), c.eos_token_id),
            (768, 3072, 50256)
        );
        assert_eq!(c.extra["n_ctx"], 1024);
        let written = serde_json::to_value(&c).unwrap();
        assert_eq!(written["n_ctx"], 1024);

        std::fs::write(&path, upstream.replace("\"n_head\": 12", "\"n_head\": 7")).unwrap();
        let err = Gpt2Config::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("n_head 7"),
            "{err}"
        );
        let untied = upstream.replace(
            "\"model_type\"",
            "\"tie_word_embeddings\": false, \"model_type\"",
        );
        std::fs::write(&path, untied).unwrap();
        let err = Gpt2Config::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("tie_word_embeddings"), "{err}");
    }
}
