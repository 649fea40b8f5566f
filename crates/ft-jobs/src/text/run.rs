//! The text fine-tuning job: read and split the data, tokenize, build BERT with a fresh head on
//! the pretrained encoder. The [driver](crate::driver) trains, tests and writes the run
//! directory; this job adds the tokenizer files to it.
use crate::config::{RunConfig, TaskKind};
use crate::job::{Extras, Job, JobContext, Loaders, Model, Prepared};
use crate::resolve::{check_freeze_layers, resolve_max_length, resolve_model};
use crate::text::data::load_splits;
use crate::text::task::TextTask;
use anyhow::{bail, Context, Result};
use ft_data::text::{EncodeOptions, Tokenizer};
use ft_data::{Example, LabelMap, Loader, Sampler};
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_models::Pretrained;
use ft_optim::loss::{balanced_class_weights, LossOptions};
use ft_train::task::Task as _;
use std::path::PathBuf;
use std::sync::Arc;

/// A text job (seq-cls, token-cls, regression) on a BERT-family encoder.
pub struct TextJob {
    /// The pretrained model's directory, once resolved.
    model_dir: PathBuf,
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

impl TextJob {
    /// Checks that `config` is a text task; the model is resolved in [`Job::prepare`].
    pub fn new(config: &RunConfig) -> Result<TextJob> {
        bert_task(config.task, 2)?;
        Ok(TextJob {
            model_dir: PathBuf::new(),
        })
    }
}

impl Job for TextJob {
    type Task = TextTask;

    fn prepare(&mut self, ctx: &JobContext) -> Result<Prepared<TextTask>> {
        let config = ctx.config;
        let kind = bert_task(config.task, 2)?;
        let args = &config.training;
        let model_dir = resolve_model(&config.model)?;
        self.model_dir = model_dir.clone();
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
        ctx.say(&format!(
            "data: {} train / {} validation / {} test examples{}",
            train.len(),
            validation.len(),
            test.len(),
            labels
                .as_ref()
                .map(|l| format!(", labels: {}", l.labels().join(", ")))
                .unwrap_or_default()
        ));

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
                ctx.detail(&format!("{split}: {report}"));
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
        let validation_loader = eval_rows.as_ref().map(eval_loader).transpose()?;
        let test_loader = test_rows.as_ref().map(eval_loader).transpose()?;

        let vs = ctx.var_store();
        let label_names: Vec<String> = labels
            .as_ref()
            .map(|l| l.labels().to_vec())
            .unwrap_or_default();
        if !label_names.is_empty() {
            bert_config.set_labels(&label_names);
        }
        let (model, report) = BertForTask::start_fine_tuning(
            &vs,
            &model_dir,
            &bert_config,
            bert_task(config.task, label_names.len())?,
        )?;

        let class_weights = match (&args.class_weights, &labels) {
            (Some(ft_optim::loss::ClassWeights::Auto), Some(_)) => Some(balanced_class_weights(
                &label_counts(&train_rows, label_names.len()),
            )?),
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
        Ok(Prepared {
            model: Model {
                vs,
                task,
                pretrained: true,
            },
            loaders: Loaders {
                train: train_loader,
                validation: validation_loader,
                test: test_loader,
            },
            resolved,
            source: model_dir,
            labels: (!label_names.is_empty()).then_some(label_names),
            load_report: Some(report.to_string()),
            comparison: None,
        })
    }

    /// The tokenizer files go with the model, so the run directory loads in transformers.
    fn finish(&mut self, ctx: &JobContext, _model: &Model<TextTask>) -> Result<Extras> {
        let out = &ctx.config.training.output_dir;
        for name in [
            "tokenizer.json",
            "vocab.txt",
            "tokenizer_config.json",
            "special_tokens_map.json",
        ] {
            let src = self.model_dir.join(name);
            if src.is_file() {
                std::fs::copy(&src, out.join(name))
                    .with_context(|| format!("copying {name} into {}", out.display()))?;
            }
        }
        Ok(Extras::new())
    }
}

/// How many training targets each class has (tokens for NER), for `class_weights: auto`.
fn label_counts(rows: &[ft_data::Encoded], classes: usize) -> Vec<usize> {
    let mut counts = vec![0usize; classes];
    for row in rows {
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
    counts
}
