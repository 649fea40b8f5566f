//! A run described as data: task, model, data and training arguments. Recipes are files of
//! this shape; `ft train` builds one from `--recipe`, `--config` and its flags.
use crate::args::TrainingArgs;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
fn d_max_len() -> usize {
    128
}

/// Where the examples come from and how they are split and tokenized.
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
    /// `csv`, `tsv`, `jsonl`, `conll` or `folder`; guessed from the file name when absent.
    #[serde(default)]
    pub format: Option<String>,
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
    #[serde(default = "d_max_len")]
    pub max_length: usize,

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
