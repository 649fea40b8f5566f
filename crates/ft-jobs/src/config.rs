//! A run described as data: task, model, data and training arguments. Recipes are files of
//! this shape; `ft train` builds one from `--recipe`, `--config` and its flags.
use ft_train::args::TrainingArgs;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

ft_train::choice! {
    /// How a data file is read (`format`). Which formats a kind of run reads is checked by
    /// [`DataConfig::validate`].
    pub enum DataFormat {
        Csv = "csv",
        Tsv = "tsv",
        Jsonl = "jsonl",
        /// One token and its tag per line, sentences separated by blank lines.
        Conll = "conll",
        /// One sub-folder per class.
        Folder = "folder",
        /// IDX image and label files (Fashion-MNIST).
        Idx = "idx",
        /// sklearn's digits: 8x8 pixels valued 0..16, the class in the last column.
        PixelCsv = "pixel-csv",
    }
}

/// What the model learns to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// One class per text (sentiment, topic).
    SeqCls,
    /// One tag per word (NER).
    TokenCls,
    /// One number per text.
    Regression,
    /// One class per image.
    ImageCls,
    /// A variational autoencoder on images (no labels).
    Vae,
    /// Next-token prediction on text (GPT-2).
    CausalLm,
}

impl TaskKind {
    /// The name configs and `--task` use (`seq-cls`, `image-cls`, …).
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::SeqCls => "seq-cls",
            TaskKind::TokenCls => "token-cls",
            TaskKind::Regression => "regression",
            TaskKind::ImageCls => "image-cls",
            TaskKind::Vae => "vae",
            TaskKind::CausalLm => "causal-lm",
        }
    }
}

impl std::str::FromStr for TaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| {
                format!(
                    "task `{s}` is not one of seq-cls, token-cls, regression, image-cls, vae, causal-lm"
                )
            })
    }
}

fn d_text() -> String {
    "text".into()
}
fn d_label() -> String {
    "label".into()
}
/// Tokens per example when `max_length` is not given (capped at the model's positions).
pub const DEFAULT_MAX_LENGTH: usize = 128;

/// Where the examples come from and how they are split and tokenized: every key of every kind,
/// which is what the jobs read. A config a user wrote is read through the section of its kind
/// ([`DataConfig::for_task`], called by [`RunConfig::from_value`]), which refuses the keys of
/// other kinds; the keys a kind does not take stay at their defaults here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A cache dataset name (`rotten-tomatoes`, `wnut16`, `whissell`); file paths are then
    /// relative to its folder.
    #[serde(default)]
    pub dataset: Option<String>,
    /// The training file (CSV/TSV/JSONL/CoNLL, optionally .gz/.bz2) or a folder-per-class root.
    pub train_file: PathBuf,
    /// Separate validation / test files; when absent, they are split off `train_file`.
    #[serde(default)]
    pub validation_file: Option<PathBuf>,
    #[serde(default)]
    pub test_file: Option<PathBuf>,
    /// Text: `csv`, `tsv`, `jsonl`, `conll` or `folder`; images: `folder`, `idx` or
    /// `pixel-csv`. Guessed from the file name when absent.
    #[serde(default)]
    pub format: Option<DataFormat>,
    #[serde(default = "d_text")]
    pub text_column: String,
    #[serde(default)]
    pub text_pair_column: Option<String>,
    #[serde(default = "d_label")]
    pub label_column: String,
    /// `raw=name` pairs; `raw=` drops rows with that label (`fresh=positive,rotten=negative,plot=`).
    #[serde(default)]
    pub label_map: Option<String>,
    /// Shuffle seed of the split (defaults to the training seed).
    #[serde(default)]
    pub split_seed: Option<u64>,
    #[serde(default)]
    pub train_size: Option<usize>,
    #[serde(default)]
    pub validation_size: Option<usize>,
    #[serde(default)]
    pub test_size: Option<usize>,
    /// Fractions, used when sizes are not given (default 0.8 / 0.1 / 0.1).
    #[serde(default)]
    pub validation_fraction: Option<f64>,
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Tokens per example (special tokens included); for causal-lm, the block length. When
    /// absent: [`DEFAULT_MAX_LENGTH`], or the model's position count when that is smaller. A
    /// value given that exceeds the model's positions is refused. Runs record the value used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,

    // Image tasks.
    /// The IDX labels file belonging to `train_file` (Fashion-MNIST); likewise for the
    /// validation and test files.
    #[serde(default)]
    pub labels_file: Option<PathBuf>,
    #[serde(default)]
    pub validation_labels_file: Option<PathBuf>,
    #[serde(default)]
    pub test_labels_file: Option<PathBuf>,
    /// Keep only these classes, indexed in this order (`["shirt", "t-shirt/top"]`).
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// The side of the square images the model sees (default: the model's, 224).
    #[serde(default)]
    pub image_size: Option<usize>,
    /// Transform pipelines (ft-data `Transform` JSON lists). Default: torchvision's ImageNet
    /// presets with the model's normalisation — RandomResizedCrop + flip for training,
    /// Resize + CenterCrop for evaluation.
    #[serde(default)]
    pub train_transforms: Option<serde_json::Value>,
    #[serde(default)]
    pub eval_transforms: Option<serde_json::Value>,
    /// Skip (and count) undecodable images instead of stopping at the first.
    #[serde(default)]
    pub skip_bad_images: bool,
    /// Linear probe only: run the frozen backbone once and train the head on stored features.
    /// Default on for `freeze_strategy = linear-probe`.
    #[serde(default)]
    pub feature_cache: Option<bool>,
    /// With random training transforms, how many augmented views per image the feature cache
    /// precomputes (each epoch draws one per image). Default 1.
    #[serde(default)]
    pub cache_views: Option<usize>,
    /// Image tasks: the classes of the test file when they differ from `classes` (the VAE
    /// showcase pretrains without sneakers and tests on held-out sneakers).
    #[serde(default)]
    pub test_classes: Option<Vec<String>>,

    // Causal LM.
    /// The test set is `test_size` documents of this label, drawn (with `split_seed`) before
    /// anything else sees the data and removed from training, validation and BPE training, so
    /// two runs with different `label_map`s (pre-training, fine-tuning) test on the same texts.
    #[serde(default)]
    pub held_out_label: Option<String>,
    /// Vocabulary size of the byte-level BPE trained on the training texts when the model
    /// starts from scratch (default 4000).
    #[serde(default)]
    pub bpe_vocab_size: Option<usize>,
}

impl DataConfig {
    /// The data section of a `task` run from JSON, read into that kind's own section type: a
    /// key the kind does not take is refused, naming it and listing the keys it does take, so
    /// `classes` in a seq-cls run or `text_column` in an image run is an error, not ignored.
    pub fn for_task(task: TaskKind, value: serde_json::Value) -> Result<DataConfig, String> {
        let read = |e: String| {
            let e = e.strip_prefix("data.").unwrap_or(&e).to_string();
            format!("data.{e} (the data keys of {task} runs)")
        };
        let value = match value {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                // `null` is a key left out (what run files of older versions hold).
                map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
            ),
            other => other,
        };
        Ok(match task {
            TaskKind::SeqCls | TaskKind::TokenCls | TaskKind::Regression => {
                ft_train::keyed::from_value::<TextData>(value)
                    .map_err(read)?
                    .into()
            }
            TaskKind::ImageCls => ft_train::keyed::from_value::<ImageData>(value)
                .map_err(read)?
                .into(),
            TaskKind::Vae => ft_train::keyed::from_value::<VaeData>(value)
                .map_err(read)?
                .into(),
            TaskKind::CausalLm => ft_train::keyed::from_value::<LmData>(value)
                .map_err(read)?
                .into(),
        })
    }
}

/// One kind's data section: the keys every kind takes (where the data is and how it is split)
/// and that kind's own, with `deny_unknown_fields` (which `#[serde(flatten)]` would defeat).
/// Read by [`DataConfig::for_task`] and turned into the [`DataConfig`] the jobs use, where the
/// keys of other kinds keep their defaults. The keys are documented on [`DataConfig`].
macro_rules! data_section {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty $(= $default:literal)?),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            #[serde(default)]
            dataset: Option<String>,
            train_file: PathBuf,
            #[serde(default)]
            validation_file: Option<PathBuf>,
            #[serde(default)]
            test_file: Option<PathBuf>,
            #[serde(default)]
            format: Option<DataFormat>,
            #[serde(default)]
            split_seed: Option<u64>,
            #[serde(default)]
            train_size: Option<usize>,
            #[serde(default)]
            validation_size: Option<usize>,
            #[serde(default)]
            test_size: Option<usize>,
            #[serde(default)]
            validation_fraction: Option<f64>,
            #[serde(default)]
            test_fraction: Option<f64>,
            $(
                #[serde(default $(= $default)?)]
                $field: $ty,
            )*
        }

        impl From<$name> for DataConfig {
            fn from(s: $name) -> DataConfig {
                DataConfig {
                    dataset: s.dataset,
                    validation_file: s.validation_file,
                    test_file: s.test_file,
                    format: s.format,
                    split_seed: s.split_seed,
                    train_size: s.train_size,
                    validation_size: s.validation_size,
                    test_size: s.test_size,
                    validation_fraction: s.validation_fraction,
                    test_fraction: s.test_fraction,
                    $($field: s.$field,)*
                    ..DataConfig::new(s.train_file)
                }
            }
        }
    };
}

data_section! {
    /// seq-cls, token-cls and regression: columns, labels and tokenization.
    TextData {
        text_column: String = "d_text",
        text_pair_column: Option<String>,
        label_column: String = "d_label",
        label_map: Option<String>,
        max_length: Option<usize>,
    }
}

data_section! {
    /// image-cls: label files, classes, image size and transforms, bad images, the feature cache.
    ImageData {
        labels_file: Option<PathBuf>,
        validation_labels_file: Option<PathBuf>,
        test_labels_file: Option<PathBuf>,
        classes: Option<Vec<String>>,
        test_classes: Option<Vec<String>>,
        image_size: Option<usize>,
        train_transforms: Option<serde_json::Value>,
        eval_transforms: Option<serde_json::Value>,
        skip_bad_images: bool,
        feature_cache: Option<bool>,
        cache_views: Option<usize>,
    }
}

data_section! {
    /// vae: label files and classes (to choose the images), one transform pipeline.
    VaeData {
        labels_file: Option<PathBuf>,
        validation_labels_file: Option<PathBuf>,
        test_labels_file: Option<PathBuf>,
        classes: Option<Vec<String>>,
        test_classes: Option<Vec<String>>,
        train_transforms: Option<serde_json::Value>,
    }
}

data_section! {
    /// causal-lm: columns, labels, the block length, the held-out documents, the BPE size.
    LmData {
        text_column: String = "d_text",
        label_column: String = "d_label",
        label_map: Option<String>,
        max_length: Option<usize>,
        held_out_label: Option<String>,
        bpe_vocab_size: Option<usize>,
    }
}

/// A whole run: `ft train --config run.json` reads this; recipes are these too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    #[serde(default)]
    pub description: Option<String>,
    pub task: TaskKind,
    /// A cache model name (`minilm-l6`, `bert-base-uncased`, `resnet50`, `gpt2`), a directory
    /// with `config.json` (a saved run, to fine-tune further), or `scratch` for a VAE / GPT-2
    /// built from `model_config` with random weights.
    pub model: String,
    /// The architecture (the model's `config.json` fields) when `model` is `scratch`.
    #[serde(default)]
    pub model_config: Option<serde_json::Value>,
    /// Generative showcases: also train the same architecture from scratch with the same data
    /// and steps (in `<output_dir>/from-scratch`) and report both on the test set.
    #[serde(default)]
    pub compare_with_scratch: bool,
    pub data: DataConfig,
    #[serde(default)]
    pub training: TrainingArgs,
}

/// Whether a task is one of the BERT text tasks (seq-cls, token-cls, regression).
fn is_text(task: TaskKind) -> bool {
    matches!(
        task,
        TaskKind::SeqCls | TaskKind::TokenCls | TaskKind::Regression
    )
}

/// Whether a task's loss is a cross-entropy over classes (class weights and label smoothing
/// apply to it).
fn has_classes(task: TaskKind) -> bool {
    matches!(
        task,
        TaskKind::SeqCls | TaskKind::TokenCls | TaskKind::ImageCls
    )
}

impl RunConfig {
    /// A run config from JSON (a recipe, or `--config` merged with flags), read whole and
    /// checked whole before anything else happens: an error names the key at fault
    /// (`training.optim`, `data.format`) and, for a choice, lists the names allowed; then
    /// [`RunConfig::validate`].
    pub fn from_value(value: serde_json::Value) -> Result<RunConfig, String> {
        // The kind first: it decides which keys the data section may hold.
        let task = value.get("task").cloned();
        let data = value.get("data").cloned();
        let mut config: RunConfig = ft_train::keyed::from_value(value)?;
        if let (Some(_), Some(data)) = (task, data) {
            config.data = DataConfig::for_task(config.task, data)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Every check that needs nothing but the config: [`TrainingArgs::validate`], then the data
    /// options ([`DataConfig::validate`]) and the training options that only some tasks take.
    /// `ft train` calls it before it opens any file; each job calls it again first thing, so a
    /// library caller gets the same messages.
    pub fn validate(&self) -> Result<(), String> {
        self.training.validate()?;
        self.data.validate(self.task, &self.training)?;
        let args = &self.training;
        if !has_classes(self.task) {
            if let Some(w) = &args.class_weights {
                return Err(format!(
                    "class_weights (`{w}`) applies to seq-cls, token-cls and image-cls; a {} \
                     run has no classes",
                    self.task
                ));
            }
            if args.label_smoothing_factor != 0.0 {
                return Err(format!(
                    "label_smoothing_factor ({}) applies to seq-cls, token-cls and image-cls; a \
                     {} run has no class labels to smooth",
                    args.label_smoothing_factor, self.task
                ));
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl DataConfig {
    /// A data section with only `train_file` set and every other key at its default.
    pub fn new(train_file: PathBuf) -> DataConfig {
        DataConfig {
            dataset: None,
            train_file,
            validation_file: None,
            test_file: None,
            format: None,
            text_column: d_text(),
            text_pair_column: None,
            label_column: d_label(),
            label_map: None,
            split_seed: None,
            train_size: None,
            validation_size: None,
            test_size: None,
            validation_fraction: None,
            test_fraction: None,
            max_length: None,
            labels_file: None,
            validation_labels_file: None,
            test_labels_file: None,
            classes: None,
            image_size: None,
            train_transforms: None,
            eval_transforms: None,
            skip_bad_images: false,
            feature_cache: None,
            cache_views: None,
            test_classes: None,
            held_out_label: None,
            bpe_vocab_size: None,
        }
    }

    /// The data options of a `task` run, checked without reading any file: fractions in range
    /// and leaving rows to train on, sizes and lengths of at least 1, known formats, a label
    /// map that parses, and validation data whenever `training` evaluates.
    pub fn validate(&self, task: TaskKind, training: &TrainingArgs) -> Result<(), String> {
        for (key, value) in [
            ("validation_fraction", self.validation_fraction),
            ("test_fraction", self.test_fraction),
        ] {
            if let Some(f) = value {
                if !(f.is_finite() && (0.0..1.0).contains(&f)) {
                    return Err(format!("{key} must be in [0, 1), got {f}"));
                }
            }
        }
        // The shares split off the training file, as the readers compute them.
        let share = |file: &Option<PathBuf>, fraction: Option<f64>| match file {
            Some(_) => 0.0,
            None => fraction.unwrap_or(0.1),
        };
        let (validation, test) = (
            share(&self.validation_file, self.validation_fraction),
            share(&self.test_file, self.test_fraction),
        );
        let fractions_used = task != TaskKind::CausalLm && self.train_size.is_none();
        if fractions_used && validation + test >= 1.0 - 1e-9 {
            return Err(format!(
                "validation_fraction ({validation}) + test_fraction ({test}) = {} leaves no \
                 rows to train on: the two must add up to less than 1",
                validation + test
            ));
        }
        if self.train_size == Some(0) {
            return Err("train_size must be at least 1, got 0".into());
        }
        if is_text(task)
            && self.train_size.is_none()
            && (self.validation_size.is_some() || self.test_size.is_some())
        {
            return Err(format!(
                "validation_size / test_size split the training file by counts, which needs \
                 train_size too for a {task} run (or give validation_fraction / test_fraction)"
            ));
        }
        if matches!(task, TaskKind::ImageCls | TaskKind::Vae) {
            for (key, value) in [
                ("image_size", self.image_size),
                ("cache_views", self.cache_views),
            ] {
                if value == Some(0) {
                    return Err(format!("{key} must be at least 1, got 0"));
                }
            }
        } else if let Some(n) = self.max_length.filter(|&n| n < 2) {
            return Err(format!(
                "max_length must be at least 2 tokens (special tokens included), got {n}"
            ));
        }
        if task == TaskKind::CausalLm {
            if let Some(v) = self.bpe_vocab_size {
                // Byte-level BPE: the 256 byte symbols and <|endoftext|> come first.
                if v < 257 {
                    return Err(format!(
                        "bpe_vocab_size must be at least 257 (the 256 byte symbols and \
                         <|endoftext|>), got {v}"
                    ));
                }
            }
            if self.held_out_label.is_some() && self.test_size.is_none() {
                return Err(
                    "held_out_label needs test_size (how many documents to hold out)".into(),
                );
            }
        }
        if let Some(format) = self.format {
            use DataFormat::*;
            let allowed: &[DataFormat] = match task {
                TaskKind::ImageCls | TaskKind::Vae => &[Folder, Idx, PixelCsv],
                TaskKind::CausalLm => &[Csv, Tsv, Jsonl],
                _ => &[Csv, Tsv, Jsonl, Conll, Folder],
            };
            if !allowed.contains(&format) {
                let names: Vec<&str> = allowed.iter().map(DataFormat::as_str).collect();
                return Err(format!(
                    "format `{format}` is not one of {} (for a {task} run)",
                    names.join(", ")
                ));
            }
        }
        if let Some(map) = &self.label_map {
            ft_data::text::LabelFilter::parse(map).map_err(|e| format!("label_map: {e}"))?;
        }
        if training.eval_strategy != ft_train::args::IntervalStrategy::No {
            if let Some(why) = self.no_validation_data(task) {
                return Err(format!(
                    "eval_strategy is {:?} but the run has no validation data: {why} (give \
                     validation_file, a validation size or fraction, or eval_strategy no)",
                    training.eval_strategy
                ));
            }
        }
        Ok(())
    }

    /// Why the run surely has no validation split, when the config alone says so.
    fn no_validation_data(&self, task: TaskKind) -> Option<String> {
        if self.validation_file.is_some() {
            return None;
        }
        match task {
            TaskKind::CausalLm => match self.validation_size {
                None | Some(0) => Some("validation_size is 0 or not set".into()),
                Some(_) => None,
            },
            _ if self.validation_size == Some(0) => Some("validation_size is 0".into()),
            _ if is_text(task) && self.train_size.is_some() && self.validation_size.is_none() => {
                Some("train_size is set and validation_size is not".into())
            }
            _ if self.validation_fraction == Some(0.0) && self.validation_size.is_none() => {
                Some("validation_fraction is 0".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ft_train::args::IntervalStrategy;

    fn config(task: TaskKind, data: serde_json::Value) -> RunConfig {
        let mut data = data;
        data["train_file"] = "train.csv".into();
        serde_json::from_value(serde_json::json!({
            "task": task,
            "model": "m",
            "data": data,
        }))
        .unwrap()
    }

    fn refused(c: &RunConfig) -> String {
        c.validate().expect_err("should be refused")
    }

    /// Why a run of `task` with these data options is refused: as the config is read (a bad
    /// choice), or by [`RunConfig::validate`].
    fn refused_data(task: TaskKind, data: serde_json::Value) -> String {
        let mut data = data;
        data["train_file"] = "train.csv".into();
        let value = serde_json::json!({"task": task, "model": "m", "data": data});
        RunConfig::from_value(value).expect_err("should be refused")
    }

    #[test]
    fn data_values_are_checked_before_any_file_is_read() {
        use serde_json::json;
        let seq = TaskKind::SeqCls;
        for (task, data, want) in [
            (
                seq,
                json!({"validation_fraction": 1.5}),
                "validation_fraction must be in [0, 1), got 1.5",
            ),
            (
                seq,
                json!({"test_fraction": -0.1}),
                "test_fraction must be in [0, 1), got -0.1",
            ),
            (
                seq,
                json!({"validation_fraction": 0.6, "test_fraction": 0.5}),
                "validation_fraction (0.6) + test_fraction (0.5) = 1.1 leaves no rows to train on",
            ),
            (
                TaskKind::ImageCls,
                json!({"validation_fraction": 0.9}),
                "validation_fraction (0.9) + test_fraction (0.1) = 1 leaves no rows",
            ),
            (
                seq,
                json!({"train_size": 0}),
                "train_size must be at least 1, got 0",
            ),
            (
                seq,
                json!({"validation_size": 10}),
                "needs train_size too for a seq-cls run",
            ),
            (
                seq,
                json!({"max_length": 0}),
                "max_length must be at least 2 tokens (special tokens included), got 0",
            ),
            (
                TaskKind::ImageCls,
                json!({"image_size": 0}),
                "image_size must be at least 1, got 0",
            ),
            (
                TaskKind::ImageCls,
                json!({"cache_views": 0}),
                "cache_views must be at least 1, got 0",
            ),
            (
                TaskKind::CausalLm,
                json!({"bpe_vocab_size": 100}),
                "bpe_vocab_size must be at least 257",
            ),
            (
                TaskKind::CausalLm,
                json!({"held_out_label": "fresh"}),
                "held_out_label needs test_size",
            ),
            (
                seq,
                json!({"format": "xlsx"}),
                "format `xlsx` is not one of csv, tsv, jsonl, conll, folder",
            ),
            (
                TaskKind::ImageCls,
                json!({"format": "csv"}),
                "format `csv` is not one of folder, idx, pixel-csv",
            ),
        ] {
            let got = refused_data(task, data);
            assert!(got.contains(want), "want `{want}`, got `{got}`");
        }
        // A separate validation file takes validation_fraction out of the sum.
        config(
            seq,
            json!({"validation_file": "v.csv", "test_fraction": 0.5}),
        )
        .validate()
        .unwrap();
        // Images split by counts alone.
        config(TaskKind::ImageCls, json!({"validation_size": 10}))
            .validate()
            .unwrap();
        // Image tasks do not tokenize: max_length is not theirs to check.
        config(TaskKind::Vae, json!({"max_length": 0}))
            .validate()
            .unwrap();
    }

    #[test]
    fn task_specific_options_and_evaluation_without_data_are_refused() {
        use serde_json::json;
        let mut c = config(TaskKind::Regression, json!({}));
        c.training.class_weights = Some("1,2".parse().unwrap());
        assert!(refused(&c).contains(
            "class_weights (`1,2`) applies to seq-cls, token-cls and image-cls; a regression run"
        ));
        let mut c = config(TaskKind::Vae, json!({}));
        c.training.label_smoothing_factor = 0.1;
        assert!(refused(&c).contains("label_smoothing_factor (0.1) applies to"));

        let mut c = config(TaskKind::SeqCls, json!({"train_size": 100}));
        c.training.eval_strategy = IntervalStrategy::Epoch;
        let e = refused(&c);
        assert!(
            e.contains(
                "eval_strategy is Epoch but the run has no validation data: train_size is set"
            ),
            "{e}"
        );
        let mut c = config(TaskKind::SeqCls, json!({"validation_fraction": 0.0}));
        c.training.eval_strategy = IntervalStrategy::Steps;
        assert!(refused(&c).contains("validation_fraction is 0"));
        let mut c = config(TaskKind::CausalLm, json!({}));
        c.training.eval_strategy = IntervalStrategy::Steps;
        assert!(refused(&c).contains("validation_size is 0 or not set"));
        // The training arguments are validated too.
        let mut c = config(TaskKind::SeqCls, json!({}));
        c.training.max_steps = Some(0);
        assert!(refused(&c).contains("max_steps must be at least 1"));
        config(TaskKind::SeqCls, json!({})).validate().unwrap();
    }

    #[test]
    fn each_kind_reads_only_its_own_data_keys() {
        use serde_json::json;
        for (task, key, value) in [
            (TaskKind::SeqCls, "classes", json!(["a"])),
            (TaskKind::TokenCls, "image_size", json!(32)),
            (TaskKind::ImageCls, "text_column", json!("review")),
            (TaskKind::ImageCls, "max_length", json!(64)),
            (TaskKind::Vae, "feature_cache", json!(true)),
            (TaskKind::CausalLm, "skip_bad_images", json!(true)),
            (TaskKind::Regression, "bpe_vocab_size", json!(500)),
        ] {
            let e = refused_data(task, json!({ key: value }));
            assert!(
                e.starts_with("data.")
                    && e.contains(&format!("unknown field `{key}`"))
                    && e.contains("expected one of")
                    && e.contains(&format!("the data keys of {task} runs")),
                "{task} {key}: {e}"
            );
        }
        // Each kind's own keys, with `null` read as left out (older run files hold nulls).
        for (task, data) in [
            (
                TaskKind::SeqCls,
                json!({"text_column": "t", "label_map": "a=b", "max_length": 64}),
            ),
            (
                TaskKind::ImageCls,
                json!({"classes": ["a", "b"], "skip_bad_images": true, "cache_views": 2}),
            ),
            (
                TaskKind::Vae,
                json!({"classes": ["a"], "train_transforms": [{"to_tensor": {}}]}),
            ),
            (
                TaskKind::CausalLm,
                json!({"held_out_label": "x", "test_size": 5, "bpe_vocab_size": 300}),
            ),
            (
                TaskKind::SeqCls,
                json!({"classes": null, "image_size": null}),
            ),
        ] {
            let mut data = data;
            data["train_file"] = "train.csv".into();
            let value = json!({"task": task, "model": "m", "data": data.clone()});
            let via_kind = RunConfig::from_value(value).unwrap_or_else(|e| panic!("{task}: {e}"));
            // The kind's section and the union read the same values.
            let data: serde_json::Map<String, serde_json::Value> = data
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let union: DataConfig = serde_json::from_value(data.into()).unwrap();
            assert_eq!(via_kind.data, union, "{task}");
        }
    }

    #[test]
    fn task_kinds_display_as_written_in_configs() {
        for kind in [
            TaskKind::SeqCls,
            TaskKind::TokenCls,
            TaskKind::Regression,
            TaskKind::ImageCls,
            TaskKind::Vae,
            TaskKind::CausalLm,
        ] {
            assert_eq!(kind.to_string().parse::<TaskKind>().unwrap(), kind);
        }
    }
}
