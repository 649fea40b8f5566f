use crate::ModelError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_init_range() -> f64 {
    0.02
}

/// An HF `BertConfig` (`config.json`). Keys this crate does not use are kept in `extra` and
/// written back, so a saved config still loads in transformers with everything it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
    pub max_position_embeddings: i64,
    pub type_vocab_size: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier_dropout: Option<f64>,
    /// Class names by id, as HF writes them (string keys: `{"0": "negative"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2id: Option<BTreeMap<String, i64>>,
    /// `"regression"`, `"single_label_classification"`, … as in transformers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl BertConfig {
    /// Reads `config.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<BertConfig, ModelError> {
        BertConfig::from_file(&dir.join("config.json"))
    }

    pub fn from_file(path: &Path) -> Result<BertConfig, ModelError> {
        crate::config_file::read(path, BertConfig::validate)
    }

    /// [`BertConfig::from_file`] on bytes already in memory; `path` names them in errors.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<BertConfig, ModelError> {
        crate::config_file::parse(bytes, path, BertConfig::validate)
    }

    /// Refuses sizes below 1, rates outside their range and unsupported settings, naming the
    /// field, so a bad `config.json` fails on reading rather than deep inside libtorch.
    pub fn validate(&self) -> Result<(), String> {
        crate::config_file::positive(&[
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ])?;
        crate::config_file::probabilities(&[
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ])?;
        if let Some(p) = self.classifier_dropout {
            crate::config_file::probabilities(&[("classifier_dropout", p)])?;
        }
        crate::config_file::positive_finite(&[("layer_norm_eps", self.layer_norm_eps)])?;
        if !(self.initializer_range.is_finite() && self.initializer_range >= 0.0) {
            return Err(format!(
                "field `initializer_range` must be a finite number ≥ 0, got {}",
                self.initializer_range
            ));
        }
        if self.num_attention_heads <= 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"
        ) {
            return Err(format!("hidden_act `{}` is not supported", self.hidden_act));
        }
        Ok(())
    }

    /// A small config for tests and examples.
    pub fn tiny() -> BertConfig {
        serde_json::from_value(serde_json::json!({
            "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 32, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 32, "type_vocab_size": 2, "model_type": "bert"
        }))
        .expect("valid tiny config")
    }

    /// Sets the label names (in id order), as transformers stores them.
    pub fn set_labels(&mut self, names: &[String]) {
        self.id2label = Some(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (i.to_string(), n.clone()))
                .collect(),
        );
        self.label2id = Some(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i as i64))
                .collect(),
        );
    }

    /// Label names in id order, if the config has them.
    pub fn labels(&self) -> Option<Vec<String>> {
        let map = self.id2label.as_ref()?;
        let mut pairs: Vec<(i64, &String)> = map
            .iter()
            .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
            .collect();
        pairs.sort();
        Some(pairs.into_iter().map(|(_, v)| v.clone()).collect())
    }
}
