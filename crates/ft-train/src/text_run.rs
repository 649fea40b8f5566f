//! The text fine-tuning job end to end, as a library call: read and split the data, tokenize,
//! build BERT with a fresh head on the pretrained encoder, train, evaluate on the test split,
//! and leave a self-describing run directory. `ft train` is a thin wrapper around [`run_text`].
use crate::run_config::{DataConfig, RunConfig, TaskKind};
use crate::task::Task as _;
use crate::text_task::TextTask;
use crate::trainer::{summarize, TrainOutcome, Trainer};
use crate::EvalResult;
use anyhow::{bail, Context, Result};
use ft_data::text::{
    read_class_folders, read_conll, read_csv, read_jsonl, ConllSpec, CsvSpec, EncodeOptions,
    JsonlSpec, LabelFilter, Tokenizer,
};
use ft_data::{split_seeded, Example, LabelMap, Loader, Sampler, SplitSizes};
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_optim::loss::{balanced_class_weights, LossOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::VarStore;

/// What [`run_text`] returns: the training outcome and the final test evaluation.
pub struct TextRunOutcome {
    pub train: TrainOutcome,
    pub test: Option<EvalResult>,
    pub output_dir: PathBuf,
}

/// A model directory: `spec` itself when it exists, otherwise the fetched cache model it names.
pub fn resolve_dir(spec: &str) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    ft_data::assets::Cache::from_env()
        .resolve(spec)
        .with_context(|| format!("`{spec}` is neither a model directory nor a fetched cache model"))
}

/// A model directory from a cache name or a path, checked to hold `config.json`.
pub fn resolve_model(spec: &str) -> Result<PathBuf> {
    let dir = resolve_dir(spec)?;
    if !dir.join("config.json").is_file() {
        bail!(
            "{} has no config.json: not a model directory",
            dir.display()
        );
    }
    Ok(dir)
}

/// A data file's path: relative to the dataset's cache folder when the config names a dataset.
pub(crate) fn resolve_data_file(data: &DataConfig, file: &Path) -> Result<PathBuf> {
    let path = match &data.dataset {
        Some(name) if file.is_relative() => {
            ft_data::assets::Cache::from_env().resolve(name)?.join(file)
        }
        _ => file.to_path_buf(),
    };
    if !path.exists() {
        bail!("data file {} does not exist", path.display());
    }
    Ok(path)
}

fn format_of(data: &DataConfig, path: &Path) -> String {
    if let Some(f) = &data.format {
        return f.clone();
    }
    if path.is_dir() {
        return "folder".into();
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.trim_end_matches(".gz").trim_end_matches(".bz2");
    if name.ends_with(".jsonl") || name.ends_with(".json") {
        "jsonl".into()
    } else if name.ends_with(".tsv") {
        "tsv".into()
    } else if name.ends_with(".csv") {
        "csv".into()
    } else {
        "conll".into()
    }
}

/// Reads one data file with the configured reader.
pub fn read_examples(data: &DataConfig, task: TaskKind, file: &Path) -> Result<Vec<Example>> {
    let path = resolve_data_file(data, file)?;
    let filter = data
        .label_map
        .as_deref()
        .map(LabelFilter::parse)
        .transpose()?;
    let examples = match format_of(data, &path).as_str() {
        "csv" | "tsv" => {
            let mut spec =
                CsvSpec::new(data.text_column.as_str()).label(data.label_column.as_str());
            if let Some(pair) = &data.text_pair_column {
                spec = spec.pair(pair.as_str());
            }
            if task == TaskKind::Regression {
                spec = spec.regression();
            }
            if let Some(f) = filter {
                spec = spec.filter(f);
            }
            read_csv(&path, &spec)?
        }
        "jsonl" => {
            let mut spec = JsonlSpec::new(&data.text_column).label(&data.label_column);
            if let Some(pair) = &data.text_pair_column {
                spec = spec.pair(pair);
            }
            if task == TaskKind::Regression {
                spec = spec.regression();
            }
            if let Some(f) = filter {
                spec = spec.filter(f);
            }
            read_jsonl(&path, &spec)?
        }
        "conll" => read_conll(&path, &ConllSpec::default())?,
        "folder" => {
            let examples = read_class_folders(&path, None)?;
            match filter {
                // aclImdb's `train/unsup` is dropped with `unsup=` in the label map.
                Some(f) => f.filter_examples(examples)?,
                None => examples,
            }
        }
        other => bail!("data format `{other}` is not one of csv, tsv, jsonl, conll, folder"),
    };
    Ok(examples)
}

/// Train / validation / test examples as the config says.
pub fn load_splits(config: &RunConfig) -> Result<(Vec<Example>, Vec<Example>, Vec<Example>)> {
    let data = &config.data;
    let train_all = read_examples(data, config.task, &data.train_file)?;
    let seed = data.split_seed.unwrap_or(config.training.seed);
    match (&data.validation_file, &data.test_file) {
        (Some(v), Some(t)) => Ok((
            train_all,
            read_examples(data, config.task, v)?,
            read_examples(data, config.task, t)?,
        )),
        (v, t) => {
            let sizes = match (data.train_size, data.validation_size, data.test_size) {
                (Some(train), validation, test) => SplitSizes::Counts {
                    train,
                    validation: validation.unwrap_or(0),
                    test: test.unwrap_or(0),
                },
                _ => {
                    let validation = if v.is_some() {
                        0.0
                    } else {
                        data.validation_fraction.unwrap_or(0.1)
                    };
                    let test = if t.is_some() {
                        0.0
                    } else {
                        data.test_fraction.unwrap_or(0.1)
                    };
                    SplitSizes::Fractions {
                        train: 1.0 - validation - test,
                        validation,
                        test,
                    }
                }
            };
            let s = split_seeded(train_all, seed, sizes)?;
            let validation = match v {
                Some(v) => read_examples(data, config.task, v)?,
                None => s.validation,
            };
            let test = match t {
                Some(t) => read_examples(data, config.task, t)?,
                None => s.test,
            };
            Ok((s.train, validation, test))
        }
    }
}

/// The BERT head of a text task; other tasks have their own runners.
pub(crate) fn bert_task(kind: TaskKind, labels: usize) -> Result<BertTask> {
    let num_labels = labels as i64;
    Ok(match kind {
        TaskKind::SeqCls => BertTask::SequenceClassification { num_labels },
        TaskKind::TokenCls => BertTask::TokenClassification { num_labels },
        TaskKind::Regression => BertTask::Regression,
        other => bail!("{other:?} is not a text task (seq-cls, token-cls, regression)"),
    })
}

/// `device` as written (`auto`, `cpu`, `cuda`, `cuda:N`), without looking at the hardware:
/// `None` for `auto`. [`TrainingArgs::validate`](crate::TrainingArgs::validate) uses it for the
/// spelling; [`device`] also checks that the GPU is there.
pub fn parse_device(spec: &str) -> std::result::Result<Option<tch::Device>, String> {
    Ok(Some(match spec {
        "auto" => return Ok(None),
        "cpu" => tch::Device::Cpu,
        "cuda" => tch::Device::Cuda(0),
        s => match s.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => tch::Device::Cuda(n),
            None => {
                return Err(format!(
                    "device `{s}` is not one of auto, cpu, cuda, cuda:N"
                ))
            }
        },
    }))
}

/// The device named by `spec` (`auto`, `cpu`, `cuda`, `cuda:N`). A CUDA device that is not
/// there is an error saying so (and how many there are), not a libtorch panic at the first
/// tensor.
pub fn device(spec: &str) -> Result<tch::Device> {
    match parse_device(spec).map_err(anyhow::Error::msg)? {
        None => Ok(tch::Device::cuda_if_available()),
        Some(tch::Device::Cuda(n)) => {
            let count = if tch::Cuda::is_available() {
                tch::Cuda::device_count().max(0) as usize
            } else {
                0
            };
            if count == 0 {
                bail!(
                    "device `{spec}`: no CUDA device is visible (no GPU, no driver, or a CPU-only \
                     libtorch); use --device cpu or auto"
                );
            }
            if n >= count {
                bail!(
                    "device `{spec}`: there {} {count} CUDA device{} (cuda:0{})",
                    if count == 1 { "is" } else { "are" },
                    if count == 1 { "" } else { "s" },
                    if count == 1 {
                        String::new()
                    } else {
                        format!(" to cuda:{}", count - 1)
                    }
                );
            }
            Ok(tch::Device::Cuda(n))
        }
        Some(d) => Ok(d),
    }
}

/// The tokens per example of a run: `max_length` as given, refused (naming both numbers) when
/// it exceeds the model's position embeddings (`key` in `config.json`) — a longer row would
/// index past the position table in the middle of a run ("index out of range in self"); when
/// not given, [`DEFAULT_MAX_LENGTH`](crate::run_config::DEFAULT_MAX_LENGTH) capped at the
/// positions.
pub(crate) fn resolve_max_length(
    max_length: Option<usize>,
    positions: i64,
    key: &str,
    model_dir: &Path,
) -> Result<usize> {
    let positions_u = positions.max(0) as usize;
    match max_length {
        None => Ok(crate::run_config::DEFAULT_MAX_LENGTH.min(positions_u)),
        Some(n) if n > positions_u => bail!(
            "max_length {n} exceeds the {positions} positions of the model in {} ({key} in \
             its config.json): use --max-length {positions} or less",
            model_dir.display()
        ),
        Some(n) => Ok(n),
    }
}

/// Errors naming the depth when `freeze_strategy partial` asks to freeze more layer groups
/// above the embeddings than the model has (`depth`, described by `what`: where it comes from).
pub(crate) fn check_freeze_layers(
    args: &crate::TrainingArgs,
    depth: i64,
    what: &str,
    model_dir: &Path,
) -> Result<()> {
    if args.freeze_strategy == "partial" && args.freeze_layers as i64 > depth {
        bail!(
            "freeze_layers {} exceeds the depth of the model in {}: it has {depth} layer \
             groups above the embeddings ({what}), and its head must train",
            args.freeze_layers,
            model_dir.display()
        );
    }
    Ok(())
}

/// The labels of `examples` that `labels` (built from the training split) lacks, each with the
/// place it was first read: such a split cannot be scored by a model that never saw the class.
pub(crate) fn check_split_labels(
    labels: &LabelMap,
    split: &str,
    examples: &[Example],
) -> Result<()> {
    labels.check_split(split, examples)?;
    Ok(())
}

/// The whole job. The output directory ends up holding the fine-tuned model in HF's layout
/// plus `metrics.json`, `run.json`, `training_args.json`, `train_log.jsonl` and checkpoints.
pub fn run_text(config: &RunConfig) -> Result<TextRunOutcome> {
    config.validate().map_err(anyhow::Error::msg)?;
    let kind = bert_task(config.task, 2)?;
    let args = &config.training;
    let device = device(&args.device)?;
    let out = args.output_dir.clone();
    let model_dir = resolve_model(&config.model)?;
    let mut bert_config = BertConfig::from_dir(&model_dir)?;
    let max_length = resolve_max_length(
        config.data.max_length,
        bert_config.max_position_embeddings,
        "max_position_embeddings",
        &model_dir,
    )?;
    // The run directory records the length used, so `ft eval` / `ft predict` tokenize alike.
    let mut resolved = config.clone();
    resolved.data.max_length = Some(max_length);
    let layers = bert_config.num_hidden_layers;
    // Sequence heads (classification, regression) sit on the pooler, a group of its own.
    let (depth, what) = if !matches!(kind, BertTask::TokenClassification { .. }) {
        (
            layers + 1,
            format!("num_hidden_layers {layers} in its config.json, and the pooler"),
        )
    } else {
        (
            layers,
            format!("num_hidden_layers {layers} in its config.json"),
        )
    };
    check_freeze_layers(args, depth, &what, &model_dir)?;
    if kind == BertTask::Regression {
        crate::task::check_metric_for_best_model(args, &TextTask::metric_names_for(&kind))?;
    }

    let (train, validation, test) = load_splits(config)?;
    let labels = match config.task {
        TaskKind::Regression => None,
        _ => Some(LabelMap::from_train(&train)?),
    };
    if let Some(labels) = &labels {
        check_split_labels(labels, "validation", &validation)?;
        check_split_labels(labels, "test", &test)?;
        let head = bert_task(config.task, labels.len())?;
        crate::task::check_metric_for_best_model(args, &TextTask::metric_names_for(&head))?;
    }
    // Explicit class weights: one per class, checked before any tokenizing.
    let explicit_weights = match (&args.class_weights, &labels) {
        (Some(spec), Some(labels)) => crate::optim_setup::class_weights_for(spec, labels.labels())?,
        _ => None,
    };
    println!(
        "data: {} train / {} validation / {} test examples{}",
        train.len(),
        validation.len(),
        test.len(),
        labels
            .as_ref()
            .map(|l| format!(", labels: {}", l.labels().join(", ")))
            .unwrap_or_default()
    );

    let tokenizer = Tokenizer::from_dir(&model_dir)?;
    if tokenizer.vocab_size() as i64 > bert_config.vocab_size {
        bail!(
            "the tokenizer of {} has {} tokens but the model's embedding matrix has {} rows: \
             tokenizer and weights do not belong together",
            model_dir.display(),
            tokenizer.vocab_size(),
            bert_config.vocab_size
        );
    }
    let opts = EncodeOptions::new(max_length).threads(2);
    let encode =
        |split: &str, examples: &[Example]| -> Result<Option<Arc<Vec<ft_data::Encoded>>>> {
            if examples.is_empty() {
                return Ok(None);
            }
            let (encoded, report) = tokenizer
                .encode_examples(examples, labels.as_ref(), &opts)
                .with_context(|| format!("tokenizing the {split} split"))?;
            if !args.quiet {
                println!("{split}: {report}");
            }
            Ok(Some(Arc::new(encoded)))
        };
    let train_rows = encode("train", &train)?.context("the training split is empty")?;
    let eval_rows = encode("validation", &validation)?;
    let test_rows = encode("test", &test)?;

    let sampler = if args.group_by_length {
        Sampler::LengthGrouped { mult: None }
    } else {
        Sampler::Random
    };
    let train_loader = Loader::new(
        train_rows.clone(),
        sampler,
        tokenizer.collator(),
        args.per_device_train_batch_size,
    )?
    .seed(args.seed);
    // Metrics do not depend on row order, so evaluation batches rows of similar length.
    let eval_loader = |rows: &Arc<Vec<ft_data::Encoded>>| {
        Loader::new(
            rows.clone(),
            Sampler::ByLength,
            tokenizer.collator(),
            args.per_device_eval_batch_size,
        )
    };
    let eval_loader_v = eval_rows.as_ref().map(eval_loader).transpose()?;
    let test_loader = test_rows.as_ref().map(eval_loader).transpose()?;

    tch::manual_seed(args.seed as i64);
    let vs = VarStore::new(device);
    let label_names: Vec<String> = labels
        .as_ref()
        .map(|l| l.labels().to_vec())
        .unwrap_or_default();
    if !label_names.is_empty() {
        bert_config.set_labels(&label_names);
    }
    let model = BertForTask::new(
        &vs.root(),
        &bert_config,
        bert_task(config.task, label_names.len())?,
    )?;
    let weights = model_dir.join("model.safetensors");
    let report = model.load_pretrained(&vs, &weights)?;
    if !args.quiet {
        println!("weights: {report}");
    }

    let class_weights = match (&args.class_weights, &labels) {
        (Some(spec), Some(labels)) if spec.trim() == "auto" => {
            let mut counts = vec![0usize; labels.len()];
            for row in train_rows.iter() {
                match &row.label {
                    ft_data::EncodedLabel::Class(id) => counts[*id as usize] += 1,
                    ft_data::EncodedLabel::Tokens(ids) => {
                        for &id in ids.iter().filter(|&&id| id >= 0) {
                            counts[id as usize] += 1;
                        }
                    }
                    _ => {}
                }
            }
            Some(balanced_class_weights(&counts)?)
        }
        _ => explicit_weights,
    };
    let loss_options = LossOptions {
        label_smoothing: args.label_smoothing_factor,
        class_weights,
    };
    loss_options.check(label_names.len().max(1))?;
    let task = TextTask::new(model, label_names.clone(), loss_options);
    // A freezing plan that cannot apply (partial past the depth) is refused before training.
    crate::optim_setup::freeze_plan(args, task.layer_groups())?;
    let mut trainer = Trainer::new(args.clone(), &task, &vs)?;
    let outcome = trainer.fit(&train_loader, eval_loader_v.as_ref())?;

    let test_result = test_loader
        .as_ref()
        .map(|l| trainer.evaluate(l))
        .transpose()?;
    if let Some(r) = &test_result {
        println!("test: {}", summarize(r));
    }
    let labels = (!label_names.is_empty()).then_some(label_names.as_slice());
    write_run_files(
        &resolved,
        &model_dir,
        &out,
        &outcome,
        test_result.as_ref(),
        labels,
    )?;
    Ok(TextRunOutcome {
        train: outcome,
        test: test_result,
        output_dir: out,
    })
}

fn write_run_files(
    config: &RunConfig,
    model_dir: &Path,
    out: &Path,
    outcome: &TrainOutcome,
    test: Option<&EvalResult>,
    labels: Option<&[String]>,
) -> Result<()> {
    for name in [
        "tokenizer.json",
        "vocab.txt",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        let src = model_dir.join(name);
        if src.is_file() {
            std::fs::copy(&src, out.join(name))
                .with_context(|| format!("copying {name} into {}", out.display()))?;
        }
    }
    crate::run_files::write_outcome(config, model_dir, out, outcome, test, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_that_are_not_there_are_errors() {
        assert_eq!(device("cpu").unwrap(), tch::Device::Cpu);
        let e = device("gpu").unwrap_err().to_string();
        assert!(e.contains("device `gpu` is not one of"), "{e}");
        if tch::Cuda::is_available() {
            let n = tch::Cuda::device_count();
            let e = device("cuda:999").unwrap_err().to_string();
            assert!(e.contains(&format!("{n} CUDA device")), "{e}");
        } else {
            for spec in ["cuda", "cuda:1"] {
                let e = device(spec).unwrap_err().to_string();
                assert!(
                    e.contains(&format!("device `{spec}`: no CUDA device is visible")),
                    "{e}"
                );
            }
            assert_eq!(device("auto").unwrap(), tch::Device::Cpu);
        }
    }

    #[test]
    fn lengths_and_depths_past_the_model_are_named() {
        let dir = Path::new("models/tiny");
        let key = "max_position_embeddings";
        assert_eq!(resolve_max_length(Some(512), 512, key, dir).unwrap(), 512);
        assert_eq!(resolve_max_length(None, 512, key, dir).unwrap(), 128);
        assert_eq!(resolve_max_length(None, 64, key, dir).unwrap(), 64);
        let e = resolve_max_length(Some(2000), 512, key, dir)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_length 2000 exceeds the 512 positions of the model in models/tiny")
                && e.contains("max_position_embeddings"),
            "{e}"
        );
        let args = crate::TrainingArgs {
            freeze_strategy: "partial".into(),
            freeze_layers: 99,
            ..Default::default()
        };
        let e = check_freeze_layers(&args, 6, "num_hidden_layers 6", dir)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("freeze_layers 99 exceeds the depth")
                && e.contains("it has 6 layer groups above the embeddings (num_hidden_layers 6)"),
            "{e}"
        );
        check_freeze_layers(
            &crate::TrainingArgs {
                freeze_layers: 99,
                ..Default::default()
            },
            6,
            "num_hidden_layers",
            dir,
        )
        .unwrap();
    }
}
