//! `ft train`'s flags: every `TrainingArgs` and `DataConfig` field in kebab-case. Each flag that
//! is given overrides the same snake_case key of the recipe or `--config` file.
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

/// Parses a number flag, refusing NaN and infinities: they would reach the run config as JSON
/// `null` (and fail there with a message about types, not about the flag). clap names the
/// flag in front of this message.
pub fn finite_f64(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("`{text}` is not a finite number"))
    }
}

#[derive(Args, Serialize, Default, Debug)]
#[serde(rename_all = "snake_case")]
pub struct TrainingFlags {
    /// Where the model, checkpoints, logs and metrics go.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<PathBuf>,
    /// Peak learning rate (fine-tuning: 1e-5 … 1e-4).
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_device_train_batch_size: Option<usize>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_device_eval_batch_size: Option<usize>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_train_epochs: Option<f64>,
    /// Total optimizer steps (overrides epochs).
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adam_beta1: Option<f64>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adam_beta2: Option<f64>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adam_epsilon: Option<f64>,
    /// adamw, adam or sgd.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optim: Option<String>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_ratio: Option<f64>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<usize>,
    /// constant, constant_with_warmup, linear, cosine, cosine_with_restarts.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_scheduler_type: Option<String>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_accumulation_steps: Option<usize>,
    /// Clip the global gradient norm (0 disables).
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_grad_norm: Option<f64>,
    /// no, steps or epoch.
    #[arg(long, help_heading = "Evaluation and checkpoints", value_parser = ["no", "steps", "epoch"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_strategy: Option<String>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_steps: Option<usize>,
    /// no, steps or epoch.
    #[arg(long, help_heading = "Evaluation and checkpoints", value_parser = ["no", "steps", "epoch"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_strategy: Option<String>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_steps: Option<usize>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_total_limit: Option<usize>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_best_model_at_end: Option<bool>,
    /// accuracy, f1_macro, entity_f1, pearson, r2, loss, …
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_for_best_model: Option<String>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_is_better: Option<bool>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping_patience: Option<usize>,
    #[arg(long, help_heading = "Evaluation and checkpoints", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping_threshold: Option<f64>,
    /// `latest` or a checkpoint directory.
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_from_checkpoint: Option<String>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_steps: Option<usize>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by_length: Option<bool>,
    #[arg(long, help_heading = "Loss", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_smoothing_factor: Option<f64>,
    /// `auto` (balanced) or w1,w2,… by class id.
    #[arg(long, help_heading = "Loss")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_weights: Option<String>,
    /// full, partial, linear-probe or gradual.
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_strategy: Option<String>,
    /// partial: encoder layers kept frozen above the embeddings.
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_layers: Option<usize>,
    /// gradual: unfreeze one more group every N epochs.
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfreeze_every_epochs: Option<usize>,
    /// Glob of parameter names to freeze (repeatable).
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<String>,
    /// Glob of parameter names to keep trainable (repeatable).
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unfreeze: Vec<String>,
    /// Layer-wise LR decay, e.g. 0.9.
    #[arg(long, help_heading = "Freezing", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layerwise_lr_decay: Option<f64>,
    /// L2-SP strength toward the pretrained weights.
    #[arg(long, help_heading = "Freezing", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l2sp_alpha: Option<f64>,
    /// fp16 mixed precision with dynamic loss scaling (CUDA only).
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fp16: Option<bool>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

#[derive(Args, Serialize, Default, Debug)]
#[serde(rename_all = "snake_case")]
pub struct DataFlags {
    /// A fetched dataset name (rotten-tomatoes, wnut16, whissell): file paths become relative to it.
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// Training data: CSV/TSV/JSONL/CoNLL file (.gz/.bz2 fine) or a folder per class.
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_file: Option<PathBuf>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_file: Option<PathBuf>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_file: Option<PathBuf>,
    /// csv, tsv, jsonl, conll or folder (guessed from the name otherwise).
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_column: Option<String>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_pair_column: Option<String>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// raw=name pairs; raw= drops those rows (fresh=positive,rotten=negative,plot=).
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_map: Option<String>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_size: Option<usize>,
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_size: Option<usize>,
    #[arg(long, help_heading = "Data", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_fraction: Option<f64>,
    #[arg(long, help_heading = "Data", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// Tokens per example, special tokens included.
    #[arg(long, help_heading = "Data")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// IDX labels file of --train-file (Fashion-MNIST).
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_file: Option<PathBuf>,
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_labels_file: Option<PathBuf>,
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_labels_file: Option<PathBuf>,
    /// Keep only these classes, in this order (comma-separated: shirt,t-shirt/top).
    #[arg(long, help_heading = "Images", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Side of the square images the model sees (default: the model's own, 224).
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// Skip and count undecodable images instead of stopping at the first.
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_bad_images: bool,
    /// Linear probe: run the backbone every epoch instead of once (on by default for
    /// --freeze-strategy linear-probe: features computed once, the head trained on them).
    #[arg(long, help_heading = "Images")]
    #[serde(skip)]
    pub no_feature_cache: bool,
    /// true: compute the frozen backbone's features once and train the head on them, also
    /// with random transforms (one augmented view per image, or --cache-views N).
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_cache: Option<bool>,
    /// Feature cache with random training transforms: augmented views precomputed per image
    /// (each epoch draws one). Default 1.
    #[arg(long, help_heading = "Images")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_views: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        training: TrainingFlags,
        #[command(flatten)]
        data: DataFlags,
    }

    #[test]
    fn non_finite_numbers_are_refused_naming_the_flag() {
        assert_eq!(finite_f64("1e-5"), Ok(1e-5));
        for bad in ["nan", "NaN", "inf", "-inf", "infinity"] {
            let flag = format!("--learning-rate={bad}");
            let err = Cli::try_parse_from(["ft", flag.as_str()])
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("--learning-rate") && err.contains("not a finite number"),
                "{bad}: {err}"
            );
        }
        let err = Cli::try_parse_from(["ft", "--validation-fraction", "nan"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--validation-fraction"), "{err}");
        let err = Cli::try_parse_from(["ft", "--adam-beta1", "x"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("--adam-beta1") && err.contains("not a number"),
            "{err}"
        );
        let cli = Cli::try_parse_from(["ft", "--warmup-ratio", "0.1"]).unwrap();
        assert_eq!(cli.training.warmup_ratio, Some(0.1));
    }

    #[test]
    fn every_f64_flag_refuses_nan() {
        // Each `Option<f64>` field of the flags, as its kebab-case flag.
        let source = include_str!("flags.rs");
        let flags: Vec<String> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub "))
            .filter_map(|l| l.strip_suffix(": Option<f64>,"))
            .map(|name| format!("--{}", name.replace('_', "-")))
            .collect();
        assert!(flags.len() >= 15, "{flags:?}");
        for flag in &flags {
            assert!(
                Cli::try_parse_from(["ft", flag.as_str(), "nan"]).is_err(),
                "{flag} nan was accepted"
            );
        }
    }
}
