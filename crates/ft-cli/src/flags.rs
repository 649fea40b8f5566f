//! `ft train`'s flags: every `TrainingArgs` and `DataConfig` field in kebab-case. Each flag that
//! is given overrides the same snake_case key of the recipe or `--config` file.
use anyhow::{bail, Context, Result};
use clap::Args;
use ft_jobs::config::DataFormat;
use ft_jobs::{RunConfig, TaskKind};
use ft_optim::loss::ClassWeights;
use ft_train::{DeviceSpec, FreezeStrategyKind, IntervalStrategy, LrSchedulerType, Optim};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

/// `ft train`'s arguments: where the run config comes from (a recipe or a file), the flags that
/// override it, and what to do with the output directory.
#[derive(clap::Args)]
pub struct TrainCmd {
    /// A built-in recipe (see `ft recipes`).
    #[arg(long)]
    pub recipe: Option<String>,
    /// A run config JSON (task, model, data, training); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// seq-cls, token-cls, regression, image-cls, vae or causal-lm.
    #[arg(long)]
    pub task: Option<TaskKind>,
    /// A fetched model name (minilm-l6) or a model directory.
    #[arg(long)]
    pub model: Option<String>,
    /// Replace the earlier ft run in --output-dir. The old run is kept aside until this one
    /// writes its first checkpoint, and comes back if this one fails first. Refused for a
    /// directory that is not an ft run, or that holds an input, the asset cache or the current
    /// directory.
    #[arg(long)]
    pub overwrite: bool,
    /// Only errors and the final summary.
    #[arg(long)]
    pub quiet: bool,
    /// A line saying what the run is for (kept in run_config.json).
    #[arg(long)]
    pub description: Option<String>,
    /// --model scratch: the architecture, as the fields of the model's config.json (JSON).
    #[arg(long, value_parser = json_value)]
    pub model_config: Option<serde_json::Value>,
    /// VAE / causal LM: also train the same architecture from scratch on the same data and
    /// steps (in <output-dir>/from-scratch) and report both on the test set.
    #[arg(long)]
    pub compare_with_scratch: bool,
    #[command(flatten)]
    pub data: DataFlags,
    #[command(flatten)]
    pub training: TrainingFlags,
}

fn merge(base: &mut Value, key: &str, patch: Value) {
    let slot = base
        .as_object_mut()
        .expect("config is an object")
        .entry(key)
        .or_insert(Value::Object(Default::default()));
    if let (Some(obj), Value::Object(p)) = (slot.as_object_mut(), patch) {
        obj.extend(p);
    }
}

impl TrainCmd {
    /// The run config these arguments describe, read and checked whole before any file is
    /// opened: a bad value fails here, naming its key.
    pub fn run_config(&self) -> Result<RunConfig> {
        build_config(self)
    }
}

fn build_config(cmd: &TrainCmd) -> Result<RunConfig> {
    let mut config = match (&cmd.recipe, &cmd.config) {
        (Some(name), None) => crate::recipes::get(name)?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
        }
        (None, None) => serde_json::json!({}),
        (Some(_), Some(_)) => bail!("give --recipe or --config, not both"),
    };
    if let Some(task) = cmd.task {
        config["task"] = Value::String(task.name().into());
    }
    if let Some(model) = &cmd.model {
        config["model"] = Value::String(model.clone());
    }
    if let Some(description) = &cmd.description {
        config["description"] = Value::String(description.clone());
    }
    if let Some(model_config) = &cmd.model_config {
        config["model_config"] = model_config.clone();
    }
    if cmd.compare_with_scratch {
        config["compare_with_scratch"] = Value::Bool(true);
    }
    let mut data = serde_json::to_value(&cmd.data)?;
    if cmd.data.no_feature_cache {
        data["feature_cache"] = Value::Bool(false);
    }
    merge(&mut config, "data", data);
    merge(
        &mut config,
        "training",
        serde_json::to_value(&cmd.training)?,
    );
    if cmd.quiet {
        config["training"]["quiet"] = Value::Bool(true);
    }
    RunConfig::from_value(config).map_err(|e| {
        if e.contains("missing field") {
            anyhow::anyhow!(
                "incomplete run configuration: {e} (a run needs --task, --model and \
                 --train-file, or a --recipe)"
            )
        } else {
            anyhow::anyhow!("invalid run configuration: {e}")
        }
    })
}

/// Parses a JSON flag (the image transform pipelines), naming what is wrong with it.
pub fn json_value(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
}

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
    pub optim: Option<Optim>,
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
    pub lr_scheduler_type: Option<LrSchedulerType>,
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_accumulation_steps: Option<usize>,
    /// Clip the global gradient norm (0 disables).
    #[arg(long, help_heading = "Training", value_parser = finite_f64)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_grad_norm: Option<f64>,
    /// no, steps or epoch.
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_strategy: Option<IntervalStrategy>,
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_steps: Option<usize>,
    /// no, steps or epoch.
    #[arg(long, help_heading = "Evaluation and checkpoints")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_strategy: Option<IntervalStrategy>,
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
    pub class_weights: Option<ClassWeights>,
    /// full, partial, linear-probe or gradual.
    #[arg(long, help_heading = "Freezing")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_strategy: Option<FreezeStrategyKind>,
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
    /// bf16 mixed precision: not available through tch 0.26, refused with the reason.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bf16: Option<bool>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, help_heading = "Training")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceSpec>,
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
    pub format: Option<DataFormat>,
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
    /// The training pipeline as a JSON list of transforms
    /// ('[{"random_resized_crop": {"size": 224}}, {"to_tensor": {}}]'); default: torchvision's
    /// ImageNet preset with the model's normalisation.
    #[arg(long, help_heading = "Images", value_parser = json_value)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_transforms: Option<serde_json::Value>,
    /// The evaluation pipeline, likewise (default: resize, center crop, normalise).
    #[arg(long, help_heading = "Images", value_parser = json_value)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_transforms: Option<serde_json::Value>,
    /// The classes of the test file when they differ from --classes (comma-separated).
    #[arg(long, help_heading = "Images", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_classes: Option<Vec<String>>,
    /// causal-lm: test on --test-size documents of this label, kept out of training.
    #[arg(long, help_heading = "Language models")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_label: Option<String>,
    /// causal-lm from scratch: vocabulary size of the BPE trained on the data (default 4000).
    #[arg(long, help_heading = "Language models")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpe_vocab_size: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::BTreeSet;

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

    /// The field names a serde struct's derive reads (its `deserialize_struct` fields).
    fn keys_of<T: serde::de::DeserializeOwned>() -> BTreeSet<String> {
        use serde::de::{Error as _, Visitor};
        struct Keys(Vec<&'static str>);
        impl<'de> serde::Deserializer<'de> for &mut Keys {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(Self::Error::custom("keys only"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0.extend_from_slice(fields);
                Err(Self::Error::custom("keys only"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let mut keys = Keys(Vec::new());
        let _ = T::deserialize(&mut keys);
        keys.0.iter().map(|k| k.to_string()).collect()
    }

    #[derive(Parser)]
    struct Train {
        #[command(flatten)]
        cmd: TrainCmd,
    }

    #[test]
    fn every_config_key_has_its_flag_and_every_flag_its_key() {
        use clap::CommandFactory;
        let flags: BTreeSet<String> = Train::command()
            .get_arguments()
            .filter_map(|a| a.get_long())
            .map(|l| l.replace('-', "_"))
            .collect();
        let mut keys = keys_of::<ft_train::TrainingArgs>();
        keys.extend(keys_of::<ft_jobs::DataConfig>());
        keys.extend(keys_of::<RunConfig>());
        // Sections of the config, and flags that say where the config comes from or what to
        // do with the output directory.
        let sections = ["data", "training"];
        let flag_only = ["recipe", "config", "overwrite", "no_feature_cache"];
        assert!(keys.len() > 60, "{keys:?}");
        let no_flag: Vec<&String> = keys
            .iter()
            .filter(|k| !sections.contains(&k.as_str()) && !flags.contains(*k))
            .collect();
        assert!(
            no_flag.is_empty(),
            "config keys without a flag: {no_flag:?}"
        );
        let no_key: Vec<&String> = flags
            .iter()
            .filter(|f| !flag_only.contains(&f.as_str()) && !keys.contains(*f))
            .collect();
        assert!(no_key.is_empty(), "flags without a config key: {no_key:?}");
    }

    #[test]
    fn bad_choices_name_the_flag_or_key_and_list_the_choices() {
        let err = Train::try_parse_from(["ft", "--optim", "adamw_torchx"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("--optim") && err.contains("is not one of adamw, adam, sgd"),
            "{err}"
        );
        let cmd = Train::try_parse_from(["ft", "--recipe", "sentiment"])
            .unwrap()
            .cmd;
        let mut config = serde_json::to_value(cmd.run_config().unwrap()).unwrap();
        config["training"]["lr_scheduler_type"] = "cosin".into();
        let err = RunConfig::from_value(config).unwrap_err();
        assert!(
            err.starts_with("training.lr_scheduler_type `cosin` is not one of constant, "),
            "{err}"
        );
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
