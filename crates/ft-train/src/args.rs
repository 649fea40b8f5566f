//! `TrainingArgs`: the knobs of a run, named as Hugging Face's `TrainingArguments` where a
//! counterpart exists, so a config written for HF Trainer reads the same here.
use ft_optim::loss::ClassWeights;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

crate::choice! {
    /// When to evaluate or save: never, every `*_steps` optimizer steps, or at each epoch end.
    #[derive(Default)]
    pub enum IntervalStrategy {
        #[default]
        No = "no",
        Steps = "steps",
        Epoch = "epoch",
    }
}

crate::choice! {
    /// The optimizer (`optim`), by Hugging Face's names.
    #[derive(Default)]
    pub enum Optim {
        /// Adam with decoupled weight decay (`adamw_torch` reads as it).
        #[default]
        AdamW = "adamw" | "adamw_torch",
        Adam = "adam",
        /// SGD, with `momentum`.
        Sgd = "sgd",
    }
}

crate::choice! {
    /// The learning-rate schedule after warmup (`lr_scheduler_type`), as in transformers.
    pub enum LrSchedulerType {
        Constant = "constant",
        ConstantWithWarmup = "constant_with_warmup",
        Linear = "linear",
        Cosine = "cosine",
        CosineWithRestarts = "cosine_with_restarts",
    }
}

crate::choice! {
    /// What trains (`freeze_strategy`): everything, all but the bottom `freeze_layers` groups,
    /// the head only, or the head first with one more group every `unfreeze_every_epochs`.
    #[derive(Default)]
    pub enum FreezeStrategyKind {
        #[default]
        Full = "full",
        Partial = "partial",
        /// `linear_probe` reads as it.
        LinearProbe = "linear-probe" | "linear_probe",
        Gradual = "gradual",
    }
}

/// Where a run computes (`device`): `auto` (CUDA when there is one), `cpu`, `cuda` or `cuda:N`.
/// The spelling is checked when the config is read; whether that GPU exists, when the job
/// starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Auto,
    Cpu,
    /// `cuda` (`None`, the first GPU) or `cuda:N`.
    Cuda(Option<usize>),
}

impl DeviceSpec {
    /// The libtorch device, `None` for `auto` (decided by the hardware).
    pub fn device(&self) -> Option<tch::Device> {
        match self {
            DeviceSpec::Auto => None,
            DeviceSpec::Cpu => Some(tch::Device::Cpu),
            DeviceSpec::Cuda(n) => Some(tch::Device::Cuda(n.unwrap_or(0))),
        }
    }
}

impl std::str::FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(None)),
            s => match s.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
                Some(n) => Ok(DeviceSpec::Cuda(Some(n))),
                None => Err(format!(
                    "device `{s}` is not one of auto, cpu, cuda, cuda:N"
                )),
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(None) => f.write_str("cuda"),
            DeviceSpec::Cuda(Some(n)) => write!(f, "cuda:{n}"),
        }
    }
}

crate::serde_as_string!(DeviceSpec);

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
fn d_sched() -> LrSchedulerType {
    LrSchedulerType::Linear
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
    #[serde(default)]
    pub optim: Optim,
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
    pub lr_scheduler_type: LrSchedulerType,
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
    pub class_weights: Option<ClassWeights>,
    /// `full`, `partial`, `linear-probe`, `gradual`.
    #[serde(default)]
    pub freeze_strategy: FreezeStrategyKind,
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
    #[serde(default)]
    pub device: DeviceSpec,
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
    /// Checks every value and combination that needs nothing but the arguments themselves
    /// (no data, no model), so a typo fails in the first millisecond, not after tokenizing or
    /// mid-run. Each message names the key (as in `training_args.json`; the flag is the same
    /// name in kebab-case) and the value given.
    pub fn validate(&self) -> Result<(), String> {
        // NaN and infinities first: every comparison below is false for NaN, so a range check
        // alone would let it through, and serialised as JSON it would become `null`.
        for (key, value) in [
            ("learning_rate", self.learning_rate),
            ("num_train_epochs", self.num_train_epochs),
            ("weight_decay", self.weight_decay),
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
            ("adam_epsilon", self.adam_epsilon),
            ("momentum", self.momentum),
            ("warmup_ratio", self.warmup_ratio),
            ("max_grad_norm", self.max_grad_norm),
            ("early_stopping_threshold", self.early_stopping_threshold),
            ("label_smoothing_factor", self.label_smoothing_factor),
            ("layerwise_lr_decay", self.layerwise_lr_decay.unwrap_or(1.0)),
            ("l2sp_alpha", self.l2sp_alpha.unwrap_or(0.0)),
        ] {
            if !value.is_finite() {
                return Err(format!("{key} must be a finite number, got {value}"));
            }
        }
        let at_least_one = [
            (
                "per_device_train_batch_size",
                self.per_device_train_batch_size,
            ),
            (
                "per_device_eval_batch_size",
                self.per_device_eval_batch_size,
            ),
            (
                "gradient_accumulation_steps",
                self.gradient_accumulation_steps,
            ),
            ("logging_steps", self.logging_steps),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(format!("{key} must be at least 1, got 0"));
            }
        }
        for (key, value) in [
            ("max_steps", self.max_steps),
            ("save_total_limit", self.save_total_limit),
            ("early_stopping_patience", self.early_stopping_patience),
            ("unfreeze_every_epochs", self.unfreeze_every_epochs),
        ] {
            if value == Some(0) {
                return Err(format!("{key} must be at least 1, got 0"));
            }
        }
        if self.learning_rate <= 0.0 {
            return Err(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if self.max_steps.is_none() && self.num_train_epochs <= 0.0 {
            return Err(format!(
                "num_train_epochs must be positive (or set max_steps), got {}",
                self.num_train_epochs
            ));
        }
        if self.weight_decay < 0.0 {
            return Err(format!(
                "weight_decay must be >= 0, got {}",
                self.weight_decay
            ));
        }
        for (key, value) in [
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
            ("momentum", self.momentum),
            ("warmup_ratio", self.warmup_ratio),
            ("label_smoothing_factor", self.label_smoothing_factor),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(format!("{key} must be in [0, 1), got {value}"));
            }
        }
        if self.adam_epsilon <= 0.0 {
            return Err(format!(
                "adam_epsilon must be positive, got {}",
                self.adam_epsilon
            ));
        }
        for (key, value) in [
            ("max_grad_norm", self.max_grad_norm),
            ("early_stopping_threshold", self.early_stopping_threshold),
            ("l2sp_alpha", self.l2sp_alpha.unwrap_or(0.0)),
        ] {
            if value < 0.0 {
                return Err(format!("{key} must be >= 0, got {value}"));
            }
        }
        if let Some(decay) = self.layerwise_lr_decay {
            if !(decay > 0.0 && decay <= 1.0) {
                return Err(format!("layerwise_lr_decay must be in (0, 1], got {decay}"));
            }
        }
        if let Some(max_steps) = self.max_steps {
            if self.warmup_steps > max_steps {
                return Err(format!(
                    "warmup_steps ({}) exceeds max_steps ({max_steps})",
                    self.warmup_steps
                ));
            }
        }
        if self.eval_strategy == IntervalStrategy::Steps && self.eval_steps == Some(0) {
            return Err("eval_steps must be at least 1, got 0".into());
        }
        if self.save_strategy == IntervalStrategy::Steps && self.save_steps == 0 {
            return Err(
                "save_steps must be at least 1 with save_strategy steps, got 0 (save_strategy no \
                 saves no checkpoints)"
                    .into(),
            );
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
        if let Some(metric) = &self.metric_for_best_model {
            if metric.trim().is_empty() {
                return Err("metric_for_best_model is empty".into());
            }
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
    use serde_json::json;

    #[test]
    fn defaults_follow_hf_and_json_round_trips() {
        let args = TrainingArgs::default();
        assert_eq!(args.learning_rate, 5e-5);
        assert_eq!(args.lr_scheduler_type, LrSchedulerType::Linear);
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

    /// The message `validate` gives for `args`, which must be refused.
    fn refused(args: TrainingArgs) -> String {
        args.validate().expect_err("should be refused")
    }

    #[test]
    fn bad_values_are_refused_naming_key_and_value() {
        let d = TrainingArgs::default;
        let cases: Vec<(TrainingArgs, &str)> = vec![
            (
                TrainingArgs {
                    max_steps: Some(0),
                    ..d()
                },
                "max_steps must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    label_smoothing_factor: 2.0,
                    ..d()
                },
                "label_smoothing_factor must be in [0, 1), got 2",
            ),
            (
                TrainingArgs {
                    learning_rate: f64::NAN,
                    ..d()
                },
                "learning_rate must be a finite number, got NaN",
            ),
            (
                TrainingArgs {
                    learning_rate: -1e-5,
                    ..d()
                },
                "learning_rate must be positive, got -0.00001",
            ),
            (
                TrainingArgs {
                    num_train_epochs: f64::INFINITY,
                    ..d()
                },
                "num_train_epochs must be a finite number, got inf",
            ),
            (
                TrainingArgs {
                    num_train_epochs: 0.0,
                    ..d()
                },
                "num_train_epochs must be positive (or set max_steps), got 0",
            ),
            (
                TrainingArgs {
                    weight_decay: -0.1,
                    ..d()
                },
                "weight_decay must be >= 0, got -0.1",
            ),
            (
                TrainingArgs {
                    adam_beta1: 1.0,
                    ..d()
                },
                "adam_beta1 must be in [0, 1), got 1",
            ),
            (
                TrainingArgs {
                    adam_beta2: -0.5,
                    ..d()
                },
                "adam_beta2 must be in [0, 1), got -0.5",
            ),
            (
                TrainingArgs {
                    adam_epsilon: 0.0,
                    ..d()
                },
                "adam_epsilon must be positive, got 0",
            ),
            (
                TrainingArgs {
                    momentum: 1.5,
                    ..d()
                },
                "momentum must be in [0, 1), got 1.5",
            ),
            (
                TrainingArgs {
                    warmup_ratio: 1.0,
                    ..d()
                },
                "warmup_ratio must be in [0, 1), got 1",
            ),
            (
                TrainingArgs {
                    max_grad_norm: f64::NEG_INFINITY,
                    ..d()
                },
                "max_grad_norm must be a finite number, got -inf",
            ),
            (
                TrainingArgs {
                    max_grad_norm: -1.0,
                    ..d()
                },
                "max_grad_norm must be >= 0, got -1",
            ),
            (
                TrainingArgs {
                    early_stopping_threshold: -0.1,
                    ..d()
                },
                "early_stopping_threshold must be >= 0, got -0.1",
            ),
            (
                TrainingArgs {
                    layerwise_lr_decay: Some(0.0),
                    ..d()
                },
                "layerwise_lr_decay must be in (0, 1], got 0",
            ),
            (
                TrainingArgs {
                    layerwise_lr_decay: Some(f64::NAN),
                    ..d()
                },
                "layerwise_lr_decay must be a finite number, got NaN",
            ),
            (
                TrainingArgs {
                    l2sp_alpha: Some(-1.0),
                    ..d()
                },
                "l2sp_alpha must be >= 0, got -1",
            ),
            (
                TrainingArgs {
                    per_device_train_batch_size: 0,
                    ..d()
                },
                "per_device_train_batch_size must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    per_device_eval_batch_size: 0,
                    ..d()
                },
                "per_device_eval_batch_size must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    gradient_accumulation_steps: 0,
                    ..d()
                },
                "gradient_accumulation_steps must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    logging_steps: 0,
                    ..d()
                },
                "logging_steps must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    save_total_limit: Some(0),
                    ..d()
                },
                "save_total_limit must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    unfreeze_every_epochs: Some(0),
                    ..d()
                },
                "unfreeze_every_epochs must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    save_strategy: IntervalStrategy::Steps,
                    save_steps: 0,
                    ..d()
                },
                "save_steps must be at least 1 with save_strategy steps, got 0",
            ),
            (
                TrainingArgs {
                    eval_strategy: IntervalStrategy::Steps,
                    eval_steps: Some(0),
                    ..d()
                },
                "eval_steps must be at least 1, got 0",
            ),
            (
                TrainingArgs {
                    max_steps: Some(5),
                    warmup_steps: 10,
                    ..d()
                },
                "warmup_steps (10) exceeds max_steps (5)",
            ),
        ];
        for (args, want) in cases {
            let got = refused(args);
            assert!(got.contains(want), "want `{want}`, got `{got}`");
        }
        // Choices are enums: a bad name is refused as the arguments are read, naming the key
        // and listing the names allowed.
        let json_cases = [
            (
                json!({"optim": "adamx"}),
                "optim `adamx` is not one of adamw",
            ),
            (
                json!({"lr_scheduler_type": "cosin"}),
                "lr_scheduler_type `cosin` is not one of constant",
            ),
            (
                json!({"freeze_strategy": "half"}),
                "freeze_strategy `half` is not one of full",
            ),
            (
                json!({"device": "gpu"}),
                "device `gpu` is not one of auto, cpu, cuda, cuda:N",
            ),
            (
                json!({"class_weights": "1,nan"}),
                "class_weights: `nan` in `1,nan` is not a finite number >= 0",
            ),
            (
                json!({"class_weights": "0,0"}),
                "class_weights `0,0`: every weight is 0",
            ),
            (
                json!({"class_weights": "1,-2"}),
                "`-2` in `1,-2` is not a finite number >= 0",
            ),
            (
                json!({"eval_strategy": "sometimes"}),
                "eval_strategy `sometimes` is not one of no, steps, epoch",
            ),
        ];
        for (value, want) in json_cases {
            let got = crate::keyed::from_value::<TrainingArgs>(value).expect_err("refused");
            assert!(got.contains(want), "want `{want}`, got `{got}`");
        }
        // `save_steps 0` is harmless (and allowed) when nothing is saved by steps.
        TrainingArgs {
            save_steps: 0,
            ..d()
        }
        .validate()
        .unwrap();
        TrainingArgs {
            class_weights: Some(ClassWeights::Auto),
            ..d()
        }
        .validate()
        .unwrap();
        let args: TrainingArgs = serde_json::from_value(json!({"device": "cuda:1"})).unwrap();
        assert_eq!(args.device, DeviceSpec::Cuda(Some(1)));
        assert_eq!(serde_json::to_value(args.device).unwrap(), json!("cuda:1"));
    }
}
