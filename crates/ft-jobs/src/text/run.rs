//! The text fine-tuning job end to end, as a library call: read and split the data, tokenize,
//! build BERT with a fresh head on the pretrained encoder, train, evaluate on the test split,
//! and leave a self-describing run directory. `ft train` is a thin wrapper around [`run_text`].
use crate::config::{RunConfig, TaskKind};
use crate::resolve::{check_freeze_layers, device, resolve_max_length, resolve_model};
use crate::text::data::load_splits;
use crate::text::task::TextTask;
use anyhow::{bail, Context, Result};
use ft_data::text::{EncodeOptions, Tokenizer};
use ft_data::{Example, LabelMap, Loader, Sampler};
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_optim::loss::{balanced_class_weights, LossOptions};
use ft_train::task::Task as _;
use ft_train::trainer::{TrainOutcome, Trainer};
use ft_train::EvalResult;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::VarStore;

/// What [`run_text`] returns: the training outcome and the final test evaluation.
pub struct TextRunOutcome {
    pub train: TrainOutcome,
    pub test: Option<EvalResult>,
    pub output_dir: PathBuf,
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
    let device = device(args.device)?;
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
        ft_train::task::check_metric_for_best_model(args, &TextTask::metric_names_for(&kind))?;
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
        ft_train::task::check_metric_for_best_model(args, &TextTask::metric_names_for(&head))?;
    }
    // Explicit class weights: one per class, checked before any tokenizing.
    let explicit_weights = match (&args.class_weights, &labels) {
        (Some(spec), Some(labels)) => {
            ft_train::optim_setup::class_weights_for(spec, labels.labels())?
        }
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
        (Some(ft_optim::loss::ClassWeights::Auto), Some(labels)) => {
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
    ft_train::optim_setup::freeze_plan(args, task.layer_groups())?;
    let mut trainer = Trainer::new(args.clone(), &task, &vs)?;
    let outcome = trainer.fit(&train_loader, eval_loader_v.as_ref())?;

    let test_result = test_loader
        .as_ref()
        .map(|l| trainer.evaluate(l))
        .transpose()?;
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
