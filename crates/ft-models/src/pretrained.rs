//! One interface over the zoo's architectures: read a model directory's `config.json`, build
//! the model, load `model.safetensors` and say what did not fit, save in the upstream layout.
//!
//! Every job opens a model directory in one of two situations, and each has its own rule for
//! what the weights file must hold:
//!
//! - **a saved fine-tuned model** (a finished run, `ft eval`, `ft predict`, `ft generate`, a
//!   phase-1 model a later phase starts from): the file must fill *every* variable with a tensor
//!   of the right shape. A variable left at its random initialisation would make predictions
//!   quietly wrong, so [`Pretrained::open_saved`] refuses it, naming the tensor and the file.
//! - **a fine-tuning start** (MiniLM, `resnet50`, `gpt2` from the cache): the body must be
//!   complete, but the task head may be absent or of another shape (an encoder checkpoint has
//!   no classifier; an ImageNet `fc` has 1000 classes), and is then freshly initialised.
//!   [`Pretrained::start_fine_tuning`] accepts exactly that and returns the [`LoadReport`] so
//!   the job can print what was newly initialised.
//!
//! Which names may be fresh at a fine-tuning start is each architecture's own rule, kept in
//! its `load_pretrained` (BERT: `classifier.*`; vision: the head, and BatchNorm's
//! `num_batches_tracked` counters, which timm drops; GPT-2 and the VAE: nothing). The trait
//! only delegates to those functions, so the rules live in one place each.
//!
//! ```no_run
//! use ft_models::bert::{BertForTask, BertTask};
//! use ft_models::Pretrained;
//! let dir = std::path::Path::new("/root/.cache/ft/models/minilm-l6");
//! // A fine-tuning start: the head is new, the report says so.
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let config = BertForTask::read_config(dir)?;
//! let head = BertTask::SequenceClassification { num_labels: 2 };
//! let (model, report) = BertForTask::start_fine_tuning(&vs, dir, &config, head)?;
//! println!("weights: {report}");
//! // Later: the saved run reopens from its directory alone.
//! model.save_pretrained(&vs, "run/".as_ref())?;
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let (model, _complete) = BertForTask::open_saved(&vs, "run/".as_ref())?;
//! # Ok::<(), ft_models::ModelError>(())
//! ```
use crate::bert::{BertConfig, BertForTask, BertTask};
use crate::gpt2::{Gpt2Config, Gpt2LMHeadModel};
use crate::loading::LoadReport;
use crate::vae::{ConvVae, VaeConfig};
use crate::vision::{VisionConfig, VisionModel};
use crate::{LayerGroup, ModelError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::path::Path;
use tch::nn::{self, VarStore};

/// The config file of a model directory, as transformers names it.
pub const CONFIG_FILE: &str = "config.json";
/// The weights file of a model directory, as transformers names it.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// A pretrained architecture: how to read, build, load and save it from a model directory
/// (`config.json` + `model.safetensors`, the names transformers and torchvision use).
///
/// **Why a separate [`Pretrained::Head`].** Building needs, besides the config, the head the
/// model is fine-tuned for, and where that comes from depends on the situation:
///
/// - at a fine-tuning start the pretrained `config.json` cannot say it: MiniLM's names
///   `BertModel` and transformers' default two labels, whatever task you are about to train.
///   So [`Pretrained::start_fine_tuning`] takes the head from the caller, typed
///   ([`BertTask`]), rather than from config fields the caller would have to edit by hand;
/// - a saved fine-tuned model's `config.json` does say it (`architectures`, `problem_type`,
///   `id2label`, which `save_pretrained` writes and transformers' `AutoModelFor…` reads), so
///   [`Pretrained::open_saved`] derives it with [`Pretrained::saved_head`], the way
///   transformers does: the directory alone describes the model.
///
/// Architectures whose config already fixes the head (a vision model's `num_classes`) or that
/// have no task head (GPT-2's tied output, the VAE's decoder) use `Head = ()`.
///
/// Build on an empty [`VarStore`], at its root: loading matches the store's variable names to
/// the file's, so a model built under a sub-path or beside other variables would not load.
pub trait Pretrained: Sized {
    /// The `config.json` contents. Serde, so jobs can record it or take it inline from a run
    /// config; the checks happen in [`Pretrained::read_config`].
    type Config: Clone + fmt::Debug + Serialize + DeserializeOwned;
    /// What building needs besides the config (see the trait's documentation).
    type Head: Clone + fmt::Debug;

    /// Reads and checks `dir/config.json`; errors name the file (and the field at fault).
    fn read_config(dir: &Path) -> Result<Self::Config, ModelError>;

    /// The head a saved fine-tuned model was built with, from its config; `Err` says which
    /// field does not name one (the caller adds the file).
    fn saved_head(config: &Self::Config) -> Result<Self::Head, String>;

    /// Builds the model under `p`, freshly initialised.
    fn build(p: &nn::Path, config: &Self::Config, head: Self::Head) -> Result<Self, ModelError>;

    /// The config the model was built from (labels included), as saving would write it.
    fn config(&self) -> Self::Config;

    /// The model's layer groups, bottom to top; the last is the head.
    fn layer_groups(&self) -> &[LayerGroup];

    /// Loads the safetensors file at `path` into `vs` with the architecture's name mapping and
    /// its rule for what may be fresh; nothing is loaded unless everything else fits (the error
    /// names the file and each missing, unexpected, mis-shaped or refused tensor).
    fn load_pretrained(&self, vs: &VarStore, path: &Path) -> Result<LoadReport, ModelError>;

    /// Writes `dir/config.json` and `dir/model.safetensors` in the upstream layout, each
    /// atomically (a crash never leaves a torn file where a good one was).
    fn save_pretrained(&self, vs: &VarStore, dir: &Path) -> Result<(), ModelError>;

    /// Opens a saved fine-tuned model from `dir` into the empty store `vs`: the config, the
    /// head it names ([`Pretrained::saved_head`]), and weights that fill every variable. A
    /// tensor that is missing, mis-shaped or would be left at its initialisation is an error
    /// naming it and the file. The report is complete (nothing newly initialised).
    fn open_saved(vs: &VarStore, dir: &Path) -> Result<(Self, LoadReport), ModelError> {
        let config = Self::read_config(dir)?;
        let head = Self::saved_head(&config).map_err(|message| ModelError::Config {
            path: dir.join(CONFIG_FILE),
            message,
        })?;
        let model = Self::build(&vs.root(), &config, head)?;
        let weights = dir.join(WEIGHTS_FILE);
        let report = model.load_pretrained(vs, &weights)?;
        report.require_complete(&weights)?;
        Ok((model, report))
    }

    /// Starts fine-tuning from the pretrained weights in `dir/model.safetensors`: builds the
    /// model from `config` (read with [`Pretrained::read_config`], then given the run's labels
    /// or classes) and `head`, into the empty store `vs`, and loads the body. Only what the
    /// architecture allows to be fresh (the head) may be missing; it is listed in the returned
    /// report as newly initialised. Anything else missing is an error naming it and the file.
    fn start_fine_tuning(
        vs: &VarStore,
        dir: &Path,
        config: &Self::Config,
        head: Self::Head,
    ) -> Result<(Self, LoadReport), ModelError> {
        let model = Self::build(&vs.root(), config, head)?;
        let report = model.load_pretrained(vs, &dir.join(WEIGHTS_FILE))?;
        Ok((model, report))
    }
}

/// BERT with a task head. The head is the fine-tuning task; a saved model's is read back from
/// `architectures` / `problem_type` / `id2label` (see [`bert_saved_head`]).
impl Pretrained for BertForTask {
    type Config = BertConfig;
    type Head = BertTask;

    fn read_config(dir: &Path) -> Result<BertConfig, ModelError> {
        BertConfig::from_dir(dir)
    }
    fn saved_head(config: &BertConfig) -> Result<BertTask, String> {
        bert_saved_head(config)
    }
    fn build(p: &nn::Path, config: &BertConfig, head: BertTask) -> Result<Self, ModelError> {
        BertForTask::new(p, config, head)
    }
    fn config(&self) -> BertConfig {
        self.config.clone()
    }
    fn layer_groups(&self) -> &[LayerGroup] {
        BertForTask::layer_groups(self)
    }
    fn load_pretrained(&self, vs: &VarStore, path: &Path) -> Result<LoadReport, ModelError> {
        BertForTask::load_pretrained(self, vs, path)
    }
    fn save_pretrained(&self, vs: &VarStore, dir: &Path) -> Result<(), ModelError> {
        BertForTask::save_pretrained(self, vs, dir)
    }
}

/// The head of a fine-tuned BERT as transformers reads it from `config.json`:
/// `BertForTokenClassification` is one label per token; `BertForSequenceClassification` is
/// regression when `problem_type` says so (or, with no `problem_type`, when there is one
/// label), single-label classification otherwise. The number of labels is `id2label`'s.
/// A config naming no task head is a pretrained encoder: a fine-tuning start, not a saved
/// model.
fn bert_saved_head(config: &BertConfig) -> Result<BertTask, String> {
    let architectures: Vec<&str> = config
        .extra
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let num_labels = || match config.labels() {
        Some(labels) if !labels.is_empty() => Ok(labels.len() as i64),
        _ => Err(
            "field `id2label` is missing or empty: a fine-tuned classifier names its \
                  labels there"
                .to_string(),
        ),
    };
    match architectures.as_slice() {
        ["BertForTokenClassification"] => Ok(BertTask::TokenClassification {
            num_labels: num_labels()?,
        }),
        ["BertForSequenceClassification"] => match config.problem_type.as_deref() {
            Some("regression") => Ok(BertTask::Regression),
            Some("single_label_classification") => Ok(BertTask::SequenceClassification {
                num_labels: num_labels()?,
            }),
            None => Ok(match num_labels()? {
                1 => BertTask::Regression,
                n => BertTask::SequenceClassification { num_labels: n },
            }),
            Some(other) => Err(format!(
                "field `problem_type` is \"{other}\"; supported are \"regression\" and \
                 \"single_label_classification\""
            )),
        },
        other => Err(format!(
            "field `architectures` is {other:?}, not a fine-tuned head \
             ([\"BertForSequenceClassification\"] or [\"BertForTokenClassification\"]): \
             a pretrained encoder is a fine-tuning start, not a saved model"
        )),
    }
}

/// ResNet or EfficientNet-Lite; the head is the config's `num_classes` (and `id2label`).
impl Pretrained for VisionModel {
    type Config = VisionConfig;
    type Head = ();

    fn read_config(dir: &Path) -> Result<VisionConfig, ModelError> {
        VisionConfig::from_dir(dir)
    }
    fn saved_head(_: &VisionConfig) -> Result<(), String> {
        Ok(())
    }
    fn build(p: &nn::Path, config: &VisionConfig, _: ()) -> Result<Self, ModelError> {
        VisionModel::new(p, config)
    }
    fn config(&self) -> VisionConfig {
        VisionModel::config(self)
    }
    fn layer_groups(&self) -> &[LayerGroup] {
        VisionModel::layer_groups(self)
    }
    fn load_pretrained(&self, vs: &VarStore, path: &Path) -> Result<LoadReport, ModelError> {
        VisionModel::load_pretrained(self, vs, path)
    }
    fn save_pretrained(&self, vs: &VarStore, dir: &Path) -> Result<(), ModelError> {
        VisionModel::save_pretrained(self, vs, dir)
    }
}

/// GPT-2 with its tied language-model head: nothing may be fresh.
impl Pretrained for Gpt2LMHeadModel {
    type Config = Gpt2Config;
    type Head = ();

    fn read_config(dir: &Path) -> Result<Gpt2Config, ModelError> {
        Gpt2Config::from_dir(dir)
    }
    fn saved_head(_: &Gpt2Config) -> Result<(), String> {
        Ok(())
    }
    fn build(p: &nn::Path, config: &Gpt2Config, _: ()) -> Result<Self, ModelError> {
        Gpt2LMHeadModel::new(p, config)
    }
    fn config(&self) -> Gpt2Config {
        self.config.clone()
    }
    fn layer_groups(&self) -> &[LayerGroup] {
        Gpt2LMHeadModel::layer_groups(self)
    }
    fn load_pretrained(&self, vs: &VarStore, path: &Path) -> Result<LoadReport, ModelError> {
        Gpt2LMHeadModel::load_pretrained(self, vs, path)
    }
    fn save_pretrained(&self, vs: &VarStore, dir: &Path) -> Result<(), ModelError> {
        Gpt2LMHeadModel::save_pretrained(self, vs, dir)
    }
}

/// The convolutional VAE: it only ever starts from ft's own files, so nothing may be fresh.
impl Pretrained for ConvVae {
    type Config = VaeConfig;
    type Head = ();

    fn read_config(dir: &Path) -> Result<VaeConfig, ModelError> {
        VaeConfig::from_dir(dir)
    }
    fn saved_head(_: &VaeConfig) -> Result<(), String> {
        Ok(())
    }
    fn build(p: &nn::Path, config: &VaeConfig, _: ()) -> Result<Self, ModelError> {
        ConvVae::new(p, config)
    }
    fn config(&self) -> VaeConfig {
        self.config.clone()
    }
    fn layer_groups(&self) -> &[LayerGroup] {
        ConvVae::layer_groups(self)
    }
    fn load_pretrained(&self, vs: &VarStore, path: &Path) -> Result<LoadReport, ModelError> {
        ConvVae::load_pretrained(self, vs, path)
    }
    fn save_pretrained(&self, vs: &VarStore, dir: &Path) -> Result<(), ModelError> {
        ConvVae::save_pretrained(self, vs, dir)
    }
}

/// As written to `config.json` ([`VisionConfig::to_json`]), so that like every other config it
/// can be recorded or taken inline.
impl Serialize for VisionConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Dispatches on `model_type` as [`VisionConfig::from_slice`] does; like the other configs'
/// derived `Deserialize`, without the range checks (those are [`Pretrained::read_config`]'s).
impl<'de> Deserialize<'de> for VisionConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        match value.get("model_type").and_then(Value::as_str) {
            Some("resnet") => serde_json::from_value(value).map(VisionConfig::ResNet),
            Some("efficientnet_lite") => {
                serde_json::from_value(value).map(VisionConfig::EfficientNet)
            }
            other => {
                return Err(D::Error::custom(format!(
                    "field `model_type` is {other:?}; expected \"resnet\" or \"efficientnet_lite\""
                )))
            }
        }
        .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::{EfficientNetConfig, ResNetConfig};
    use std::collections::HashMap;
    use tch::{Device, Tensor};

    /// Every variable of a store, by name.
    fn tensors(vs: &VarStore) -> HashMap<String, Tensor> {
        vs.variables()
    }

    /// A copy of the model directory `from` in `to` whose weights lack the tensors `drop`
    /// says to drop.
    fn without(from: &Path, to: &Path, drop: impl Fn(&str) -> bool) -> std::path::PathBuf {
        std::fs::create_dir_all(to).unwrap();
        std::fs::copy(from.join(CONFIG_FILE), to.join(CONFIG_FILE)).unwrap();
        let kept: Vec<(String, Tensor)> = crate::st::read(&from.join(WEIGHTS_FILE))
            .unwrap()
            .into_iter()
            .filter(|(name, _)| !drop(name))
            .collect();
        crate::st::write_atomic(&to.join(WEIGHTS_FILE), &kept).unwrap();
        to.join(WEIGHTS_FILE)
    }

    /// The error of an opener, as text.
    fn refused<M: Pretrained>(result: Result<(M, LoadReport), ModelError>) -> String {
        match result {
            Ok((_, report)) => panic!("accepted: {report}"),
            Err(e) => e.to_string(),
        }
    }

    /// The contract, for one architecture: build → save → `open_saved` gives the same tensors
    /// and a complete report; a file without the body tensor `body` is refused by both openers
    /// naming it and the file; a file without the head (the last layer group) is refused by
    /// `open_saved` and, if `head_may_be_fresh`, accepted by `start_fine_tuning` with the head
    /// reported as newly initialised (refused otherwise).
    fn contract<M: Pretrained>(
        config: M::Config,
        head: M::Head,
        body: &str,
        head_may_be_fresh: bool,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let saved = tmp.path().join("saved");
        let vs = VarStore::new(Device::Cpu);
        let model = M::build(&vs.root(), &config, head.clone()).unwrap();
        model.save_pretrained(&vs, &saved).unwrap();
        let original = tensors(&vs);
        assert!(original.contains_key(body), "no variable {body}");

        let reopened = VarStore::new(Device::Cpu);
        let (again, report) = M::open_saved(&reopened, &saved).unwrap();
        assert_eq!(again.layer_groups(), model.layer_groups());
        assert_eq!(report.loaded, original.len(), "{report}");
        assert!(
            report.is_ok() && report.newly_initialised.is_empty(),
            "{report}"
        );
        let reopened = tensors(&reopened);
        assert_eq!(reopened.len(), original.len());
        for (name, tensor) in &original {
            assert!(tensor.equal(&reopened[name]), "{name} differs");
        }

        // A body tensor missing: refused by both openers, naming it and the file.
        let dir = tmp.path().join("no-body");
        let weights = without(&saved, &dir, |n| n == body);
        let fresh = || VarStore::new(Device::Cpu);
        let start = |dir: &Path| M::start_fine_tuning(&fresh(), dir, &config, head.clone());
        for err in [refused(M::open_saved(&fresh(), &dir)), refused(start(&dir))] {
            assert!(
                err.contains(&weights.display().to_string()) && err.contains(body),
                "{err}"
            );
        }

        // Only the head missing: a fine-tuning start (if the architecture has a fresh head),
        // never a saved model.
        let head_group = model.layer_groups().last().unwrap().clone();
        let mut head_names: Vec<String> = original
            .keys()
            .filter(|n| head_group.owns(n))
            .cloned()
            .collect();
        head_names.sort();
        assert!(!head_names.is_empty());
        let dir = tmp.path().join("no-head");
        let weights = without(&saved, &dir, |n| head_group.owns(n));
        let err = refused(M::open_saved(&fresh(), &dir));
        assert!(
            err.contains(&weights.display().to_string()) && err.contains(&head_names[0]),
            "{err}"
        );
        if head_may_be_fresh {
            let (_, report) = start(&dir).unwrap();
            assert_eq!(report.newly_initialised, head_names, "{report}");
            assert_eq!(report.loaded, original.len() - head_names.len());
            assert!(report.to_string().contains("newly initialised"), "{report}");
        } else {
            let err = refused(start(&dir));
            assert!(
                err.contains(&weights.display().to_string()) && err.contains(&head_names[0]),
                "{err}"
            );
        }
    }

    #[test]
    fn bert_keeps_the_contract_and_reads_its_head_back() {
        let mut config = BertConfig::tiny();
        config.set_labels(&["neg".into(), "pos".into(), "mixed".into()]);
        contract::<BertForTask>(
            config.clone(),
            BertTask::SequenceClassification { num_labels: 3 },
            "bert.embeddings.word_embeddings.weight",
            true,
        );
        // What save_pretrained writes is what saved_head reads back, for every head.
        let tmp = tempfile::tempdir().unwrap();
        for head in [
            BertTask::SequenceClassification { num_labels: 3 },
            BertTask::TokenClassification { num_labels: 3 },
            BertTask::Regression,
        ] {
            let vs = VarStore::new(Device::Cpu);
            let model = BertForTask::build(&vs.root(), &config, head).unwrap();
            model.save_pretrained(&vs, tmp.path()).unwrap();
            let (model, _) = BertForTask::open_saved(&VarStore::new(Device::Cpu), tmp.path())
                .unwrap_or_else(|e| panic!("{head:?}: {e}"));
            assert_eq!(model.task, head);
        }
        // A pretrained encoder's config names no task head: a start, not a saved model.
        let err = bert_saved_head(&BertConfig::tiny()).unwrap_err();
        assert!(err.contains("`architectures`"), "{err}");
        std::fs::write(
            tmp.path().join(CONFIG_FILE),
            serde_json::to_vec(&BertConfig::tiny()).unwrap(),
        )
        .unwrap();
        let err = refused(BertForTask::open_saved(
            &VarStore::new(Device::Cpu),
            tmp.path(),
        ));
        assert!(
            err.contains(&tmp.path().join(CONFIG_FILE).display().to_string())
                && err.contains("fine-tuning start"),
            "{err}"
        );
        // transformers' own rules: one label and no problem_type is regression.
        let mut one = config.clone();
        one.set_labels(&["score".into()]);
        one.extra.insert(
            "architectures".into(),
            serde_json::json!(["BertForSequenceClassification"]),
        );
        assert_eq!(bert_saved_head(&one), Ok(BertTask::Regression));
        one.problem_type = Some("multi_label_classification".into());
        assert!(bert_saved_head(&one).unwrap_err().contains("problem_type"));
        // A directory with no config says which file it lacks.
        let empty = tempfile::tempdir().unwrap();
        let err = refused(BertForTask::open_saved(
            &VarStore::new(Device::Cpu),
            empty.path(),
        ));
        assert!(err.contains(CONFIG_FILE), "{err}");
    }

    #[test]
    fn resnet_keeps_the_contract() {
        contract::<VisionModel>(
            ResNetConfig::new(18, 3).into(),
            (),
            "layer1.0.conv1.weight",
            true,
        );
    }

    #[test]
    fn efficientnet_reopens_and_a_new_class_count_gets_a_fresh_head() {
        let tmp = tempfile::tempdir().unwrap();
        let vs = VarStore::new(Device::Cpu);
        let mut config: VisionConfig = EfficientNetConfig::lite0(3).into();
        config.set_labels(&["a".into(), "b".into(), "c".into()]);
        let model = VisionModel::build(&vs.root(), &config, ()).unwrap();
        model.save_pretrained(&vs, tmp.path()).unwrap();
        let (again, report) =
            VisionModel::open_saved(&VarStore::new(Device::Cpu), tmp.path()).unwrap();
        assert_eq!(report.loaded, vs.variables().len());
        assert_eq!(Pretrained::config(&again).labels(), config.labels());
        // The 3-class head does not fit 2 classes: skipped, and the new one reported.
        let two: VisionConfig = EfficientNetConfig::lite0(2).into();
        let (_, report) =
            VisionModel::start_fine_tuning(&VarStore::new(Device::Cpu), tmp.path(), &two, ())
                .unwrap();
        assert_eq!(report.newly_initialised, ["_fc.bias", "_fc.weight"]);
        assert_eq!(report.ignored, ["_fc.bias", "_fc.weight"]);
        // The config as serde: what `config.json` holds, and back.
        let value = serde_json::to_value(&config).unwrap();
        assert_eq!(value, config.to_json());
        let back: VisionConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back.to_json(), config.to_json());
        let err = serde_json::from_value::<VisionConfig>(serde_json::json!({"model_type": "vit"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("model_type"), "{err}");
    }

    #[test]
    fn gpt2_keeps_the_contract_with_no_fresh_head() {
        contract::<Gpt2LMHeadModel>(
            Gpt2Config::small(50, 16, 16, 2, 2, 49),
            (),
            "transformer.h.0.attn.c_attn.weight",
            false,
        );
    }

    #[test]
    fn vae_keeps_the_contract_with_no_fresh_head() {
        let config = VaeConfig {
            hidden_channels: vec![4, 8],
            latent_dim: 4,
            ..VaeConfig::fashion_mnist()
        };
        contract::<ConvVae>(config, (), "encoder.0.weight", false);
    }
}
