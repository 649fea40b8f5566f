//! `TrainingArgs`: the knobs of a run, named as Hugging Face's `TrainingArguments` where a
//! counterpart exists, so a config written for HF Trainer reads the same here.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// When to evaluate or save: never, every `*_steps` optimizer steps, or at each epoch end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IntervalStrategy {
    #[default]
    No,
    Steps,
    Epoch,
}

impl std::str::FromStr for IntervalStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "no" => Ok(IntervalStrategy::No),
            "steps" => Ok(IntervalStrategy::Steps),
            "epoch" => Ok(IntervalStrategy::Epoch),
            other => Err(format!("`{other}` is not one of no, steps, epoch")),
        }
    }
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs/ft")
}
fn d_lr() -> f64 {
    5e-5
}
fn d_bs() -> usize {
    8
}
fn d_epochs() -> f64 {
    3.0
}
fn d_beta1() -> f64 {
    0.9
}
fn d_beta2() -> f64 {
    0.999
}
fn d_eps() -> f64 {
    1e-8
}
fn d_one() -> usize {
    1
}
fn d_grad_norm() -> f64 {
    1.0
}
fn d_sched() -> String {
    "linear".into()
}
fn d_optim() -> String {
    "adamw".into()
}
fn d_seed() -> u64 {
    42
}
fn d_logging() -> usize {
    10
}
fn d_save_steps() -> usize {
    500
}
fn d_device() -> String {
    "auto".into()
}
fn d_freeze() -> String {
    "full".into()
}

/// Every setting of a training run. Serialised as `training_args.json` in the output directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingArgs {
    /// Where checkpoints, logs, metrics and the final model go.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    /// Peak learning rate (after warmup).
    #[serde(default = "d_lr")]
    pub learning_rate: f64,
    #[serde(default = "d_bs")]
    pub per_device_train_batch_size: usize,
    #[serde(default = "d_bs")]
    pub per_device_eval_batch_size: usize,
    #[serde(default = "d_epochs")]
    pub num_train_epochs: f64,
    /// Total optimizer steps; overrides `num_train_epochs` when set.
    #[serde(default)]
    pub max_steps: Option<usize>,
    /// Decoupled weight decay (AdamW), not applied to biases and norm weights.
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default = "d_beta1")]
    pub adam_beta1: f64,
    #[serde(default = "d_beta2")]
    pub adam_beta2: f64,
    #[serde(default = "d_eps")]
    pub adam_epsilon: f64,
    /// `adamw`, `adam` or `sgd`.
    #[serde(default = "d_optim")]
    pub optim: String,
    /// SGD momentum (ignored by Adam variants).
    #[serde(default)]
    pub momentum: f64,
    #[serde(default)]
    pub warmup_ratio: f64,
    /// Warmup steps; overrides `warmup_ratio` when non-zero.
    #[serde(default)]
    pub warmup_steps: usize,
    /// `constant`, `constant_with_warmup`, `linear`, `cosine`, `cosine_with_restarts`.
    #[serde(default = "d_sched")]
    pub lr_scheduler_type: String,
    #[serde(default = "d_one")]
    pub gradient_accumulation_steps: usize,
    /// Clip the global gradient L2 norm to this (0 disables).
    #[serde(default = "d_grad_norm")]
    pub max_grad_norm: f64,
    #[serde(default)]
    pub eval_strategy: IntervalStrategy,
    #[serde(default)]
    pub eval_steps: Option<usize>,
    #[serde(default)]
    pub save_strategy: IntervalStrategy,
    #[serde(default = "d_save_steps")]
    pub save_steps: usize,
    /// Keep at most this many checkpoints (the best one is never deleted).
    #[serde(default)]
    pub save_total_limit: Option<usize>,
    /// Restore the best evaluated checkpoint's weights at the end.
    #[serde(default)]
    pub load_best_model_at_end: bool,
    /// A metric name (`accuracy`, `f1_macro`, `entity_f1`, `pearson`, `loss`, …; `eval_` prefix optional).
    #[serde(default)]
    pub metric_for_best_model: Option<String>,
    /// Defaults to false for losses and true for everything else, as in HF.
    #[serde(default)]
    pub greater_is_better: Option<bool>,
    /// Stop after this many evaluations without improvement.
    #[serde(default)]
    pub early_stopping_patience: Option<usize>,
    /// The improvement that counts as one.
    #[serde(default)]
    pub early_stopping_threshold: f64,
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Log the training loss every this many optimizer steps.
    #[serde(default = "d_logging")]
    pub logging_steps: usize,
    /// `latest` or a checkpoint directory.
    #[serde(default)]
    pub resume_from_checkpoint: Option<String>,
    /// Sort-ish batches by length (HF `group_by_length`): less padding, same shuffling spirit.
    #[serde(default)]
    pub group_by_length: bool,
    #[serde(default)]
    pub label_smoothing_factor: f64,
    /// `auto` (balanced) or comma-separated weights per class id.
    #[serde(default)]
    pub class_weights: Option<String>,
    /// `full`, `partial`, `linear-probe`, `gradual`.
    #[serde(default = "d_freeze")]
    pub freeze_strategy: String,
    /// For `partial`: how many encoder layers (above the embeddings) stay frozen.
    #[serde(default)]
    pub freeze_layers: usize,
    /// For `gradual`: unfreeze one more group every this many epochs.
    #[serde(default)]
    pub unfreeze_every_epochs: Option<usize>,
    /// Extra name patterns (globs) to freeze / keep trainable.
    #[serde(default)]
    pub freeze: Vec<String>,
    #[serde(default)]
    pub unfreeze: Vec<String>,
    /// Layer-wise LR decay factor (e.g. 0.9): the top group gets `lr`, each lower one × decay.
    #[serde(default)]
    pub layerwise_lr_decay: Option<f64>,
    /// L2-SP strength: pulls weights toward their pretrained values.
    #[serde(default)]
    pub l2sp_alpha: Option<f64>,
    /// `auto` (CUDA if available), `cpu`, `cuda`, `cuda:N`.
    #[serde(default = "d_device")]
    pub device: String,
    /// fp16 mixed precision with dynamic loss scaling (CUDA only).
    #[serde(default)]
    pub fp16: bool,
    /// bf16 mixed precision (not available through tch 0.26; refused with a reason).
    #[serde(default)]
    pub bf16: bool,
    /// Print nothing but errors and the final summary.
    #[serde(default)]
    pub quiet: bool,
}

impl Default for TrainingArgs {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

impl TrainingArgs {
    /// Checks the combinations HF would reject, naming the fields involved.
    pub fn validate(&self) -> Result<(), String> {
        if self.per_device_train_batch_size == 0 || self.per_device_eval_batch_size == 0 {
            return Err("batch sizes must be at least 1".into());
        }
        if self.gradient_accumulation_steps == 0 {
            return Err("gradient_accumulation_steps must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if self.max_steps.is_none() && self.num_train_epochs <= 0.0 {
            return Err("num_train_epochs must be positive (or set max_steps)".into());
        }
        if self.eval_strategy == IntervalStrategy::Steps
            && self.eval_steps.unwrap_or(self.logging_steps) == 0
        {
            return Err("eval_steps must be at least 1".into());
        }
        if self.load_best_model_at_end {
            if self.eval_strategy == IntervalStrategy::No {
                return Err(
                    "load_best_model_at_end needs an eval_strategy (steps or epoch)".into(),
                );
            }
            if self.save_strategy != IntervalStrategy::No
                && self.save_strategy != self.eval_strategy
            {
                return Err(format!(
                    "load_best_model_at_end needs save_strategy ({:?}) to match eval_strategy ({:?})",
                    self.save_strategy, self.eval_strategy
                ));
            }
        }
        if self.early_stopping_patience.is_some() && self.eval_strategy == IntervalStrategy::No {
            return Err("early_stopping_patience needs an eval_strategy (steps or epoch)".into());
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return Err(format!(
                "warmup_ratio must be in [0, 1), got {}",
                self.warmup_ratio
            ));
        }
        Ok(())
    }

    /// The metric used to pick the best checkpoint, without the `eval_` prefix.
    pub fn best_metric(&self) -> String {
        let m = self.metric_for_best_model.as_deref().unwrap_or("loss");
        m.strip_prefix("eval_").unwrap_or(m).to_string()
    }

    /// Whether a larger `best_metric` is better.
    pub fn greater_is_better(&self) -> bool {
        self.greater_is_better
            .unwrap_or_else(|| !self.best_metric().ends_with("loss"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_hf_and_json_round_trips() {
        let args = TrainingArgs::default();
        assert_eq!(args.learning_rate, 5e-5);
        assert_eq!(args.lr_scheduler_type, "linear");
        assert_eq!(args.max_grad_norm, 1.0);
        let json = serde_json::to_string(&args).unwrap();
        assert_eq!(serde_json::from_str::<TrainingArgs>(&json).unwrap(), args);
    }

    #[test]
    fn unknown_keys_and_bad_combinations_are_named() {
        let err = serde_json::from_str::<TrainingArgs>(r#"{"learning_rat": 1e-5}"#).unwrap_err();
        assert!(err.to_string().contains("learning_rat"), "{err}");
        let args = TrainingArgs {
            load_best_model_at_end: true,
            ..Default::default()
        };
        assert!(args.validate().unwrap_err().contains("eval_strategy"));
        let args = TrainingArgs {
            metric_for_best_model: Some("eval_accuracy".into()),
            ..Default::default()
        };
        assert_eq!(args.best_metric(), "accuracy");
        assert!(args.greater_is_better());
    }
}
