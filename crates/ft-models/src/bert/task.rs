use super::encoder::hf_linear;
use super::{BertConfig, BertModel};
use crate::loading::{load_into, LoadReport, NameMap};
use crate::{GroupModes, LayerGroup, ModelError};
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Reduction, Tensor};

/// What the head on top of BERT predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BertTask {
    /// One label per text, from the pooled first token (`BertForSequenceClassification`).
    SequenceClassification { num_labels: i64 },
    /// One label per token (`BertForTokenClassification`; no pooler).
    TokenClassification { num_labels: i64 },
    /// One scalar per text with MSE (`BertForSequenceClassification`, `num_labels = 1`,
    /// `problem_type = "regression"`).
    Regression,
}

impl BertTask {
    fn outputs(self) -> i64 {
        match self {
            BertTask::SequenceClassification { num_labels }
            | BertTask::TokenClassification { num_labels } => num_labels,
            BertTask::Regression => 1,
        }
    }

    fn architecture(self) -> &'static str {
        match self {
            BertTask::TokenClassification { .. } => "BertForTokenClassification",
            _ => "BertForSequenceClassification",
        }
    }

    fn has_pooler(self) -> bool {
        !matches!(self, BertTask::TokenClassification { .. })
    }
}

/// The variable-name prefix of every task head.
pub const HEAD_PREFIX: &str = "classifier.";

/// BERT with a task head, laid out as transformers' `BertFor…` classes: the encoder under
/// `bert.`, the head as `classifier.weight` / `classifier.bias`.
pub struct BertForTask {
    pub config: BertConfig,
    pub task: BertTask,
    bert: BertModel,
    classifier: nn::Linear,
    dropout: f64,
    groups: Vec<LayerGroup>,
}

impl BertForTask {
    pub fn new(
        root: &nn::Path,
        config: &BertConfig,
        task: BertTask,
    ) -> Result<BertForTask, ModelError> {
        if task.outputs() < 1 {
            return Err(ModelError::Invalid(
                "a classification head needs at least one label".into(),
            ));
        }
        let bert = BertModel::new(&(root / "bert"), config, task.has_pooler());
        let classifier = hf_linear(
            root / "classifier",
            config.hidden_size,
            task.outputs(),
            config.initializer_range,
        );
        let mut groups = vec![LayerGroup::new("embeddings", &["bert.embeddings."])];
        for i in 0..bert.num_layers() {
            let prefix = format!("bert.encoder.layer.{i}.");
            groups.push(LayerGroup::new(
                format!("encoder.layer.{i}"),
                &[prefix.as_str()],
            ));
        }
        if task.has_pooler() {
            groups.push(LayerGroup::new("pooler", &["bert.pooler."]));
        }
        groups.push(LayerGroup::new("head", &[HEAD_PREFIX]));
        Ok(BertForTask {
            dropout: config
                .classifier_dropout
                .unwrap_or(config.hidden_dropout_prob),
            config: config.clone(),
            task,
            bert,
            classifier,
            groups,
        })
    }

    /// Bottom to top: embeddings, each encoder layer, pooler (if any), head.
    pub fn layer_groups(&self) -> &[LayerGroup] {
        &self.groups
    }

    pub fn head_prefix(&self) -> &'static str {
        HEAD_PREFIX
    }

    /// Logits: [B, num_labels] (sequence tasks), [B, T, num_labels] (tokens), [B, 1] (regression).
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        modes: &GroupModes,
    ) -> Tensor {
        let features = self.features(input_ids, attention_mask, token_type_ids, modes);
        self.head(&features, modes)
    }

    /// What the head reads: the pooled `[CLS]` representation `[B, hidden]` for sequence heads,
    /// the last hidden states `[B, T, hidden]` for token classification.
    pub fn features(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        modes: &GroupModes,
    ) -> Tensor {
        let out = self
            .bert
            .forward(input_ids, attention_mask, token_type_ids, modes);
        match self.task {
            BertTask::TokenClassification { .. } => out.last_hidden_state,
            _ => out
                .pooler_output
                .expect("sequence heads are built with a pooler"),
        }
    }

    /// The head (dropout, then the classifier) on [`BertForTask::features`].
    pub fn head(&self, features: &Tensor, modes: &GroupModes) -> Tensor {
        let head_train = modes.is_train(self.groups.len() - 1);
        self.classifier
            .forward(&features.dropout(self.dropout, head_train))
    }

    /// The loss transformers computes for this head: cross-entropy (tokens labelled -100 are
    /// ignored) or MSE for regression. Mean over the examples or the counted tokens.
    pub fn loss(&self, logits: &Tensor, labels: &Tensor) -> Tensor {
        match self.task {
            BertTask::SequenceClassification { num_labels }
            | BertTask::TokenClassification { num_labels } => logits
                .view([-1, num_labels])
                .cross_entropy_loss::<Tensor>(&labels.view([-1]), None, Reduction::Mean, -100, 0.0),
            BertTask::Regression => logits
                .view([-1])
                .mse_loss(&labels.view([-1]).to_kind(logits.kind()), Reduction::Mean),
        }
    }

    /// Loads an encoder checkpoint (MiniLM, bert-base-uncased, with or without the `bert.`
    /// prefix, old `gamma`/`beta` spellings included) or a fine-tuned ft/transformers checkpoint.
    /// Pre-training heads (`cls.*`) and buffers are ignored and reported; only the task head may
    /// be missing, and it is reported as newly initialised.
    pub fn load_pretrained(
        &self,
        vs: &nn::VarStore,
        path: &Path,
    ) -> Result<LoadReport, ModelError> {
        let has_pooler = self.task.has_pooler();
        let rename = move |name: &str| -> Option<String> {
            let name = name
                .replace("LayerNorm.gamma", "LayerNorm.weight")
                .replace("LayerNorm.beta", "LayerNorm.bias");
            if name.starts_with("cls.") || name.ends_with("position_ids") {
                return None;
            }
            let name = if name.starts_with("embeddings.")
                || name.starts_with("encoder.")
                || name.starts_with("pooler.")
            {
                format!("bert.{name}")
            } else {
                name
            };
            // transformers' token-classification model has no pooler either and drops it too.
            if !has_pooler && name.starts_with("bert.pooler.") {
                return None;
            }
            Some(name)
        };
        let names = NameMap {
            rename: &rename,
            may_be_missing: &|n: &str| n.starts_with(HEAD_PREFIX),
        };
        let checkpoint = crate::st::read(path)?;
        load_into(&vs.variables(), checkpoint, &names, path)
    }

    /// Writes `config.json` (with the head's labels and architecture) and `model.safetensors` in
    /// the layout `transformers.AutoModelFor….from_pretrained(dir)` loads.
    pub fn save_pretrained(&self, vs: &nn::VarStore, dir: &Path) -> Result<(), ModelError> {
        let mut config = self.config.clone();
        config.extra.insert(
            "architectures".into(),
            serde_json::json!([self.task.architecture()]),
        );
        config
            .extra
            .insert("model_type".into(), serde_json::json!("bert"));
        if self.task == BertTask::Regression {
            config.problem_type = Some("regression".into());
            if config.id2label.is_none() {
                config.set_labels(&["LABEL_0".to_string()]);
            }
        }
        crate::config_file::write_model_dir(dir, &config, vs)
    }
}
