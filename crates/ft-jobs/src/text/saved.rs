//! A finished run directory opened again: its model, tokenizer and run config, ready to evaluate
//! on a split or to predict on new texts (`ft eval`, `ft predict`).
use crate::config::{RunConfig, TaskKind};
use crate::saved::{Evaluated, InputKind, PredictInputs, SavedJob};
use crate::text::data::{load_splits, read_examples};
use crate::text::task::TextTask;
use anyhow::{bail, Context, Result};
use ft_data::text::{EncodeOptions, Tokenizer};
use ft_data::{Example, LabelMap, Loader, Sampler, Target, TextInput};
use ft_models::bert::BertForTask;
use ft_models::GroupModes;
use ft_models::Pretrained;
use ft_optim::loss::LossOptions;
use ft_train::{EvalResult, TensorBatch};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::VarStore;

pub struct SavedRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub labels: Vec<String>,
    tokenizer: Tokenizer,
    task: TextTask,
    vs: VarStore,
}

/// One prediction, as `ft predict` prints it (one JSON object per input line).
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub text: String,
    /// Class name (classification) — absent for regression and NER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Probability of `label`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Every class's probability, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<std::collections::BTreeMap<String, f64>>,
    /// Regression output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// NER: `(word, tag)` per whitespace-separated word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<(String, String)>>,
}

impl SavedRun {
    /// Opens a text run directory (seq-cls, token-cls or regression). A run of another kind, or
    /// a directory that is no run, is refused in one line naming what it is.
    pub fn open(dir: &Path, device: tch::Device) -> Result<SavedRun> {
        crate::saved::require_kind(
            dir,
            &[TaskKind::SeqCls, TaskKind::TokenCls, TaskKind::Regression],
            "a text run (seq-cls, token-cls or regression)",
        )?;
        let config = crate::run_files::read_run_config(dir)?;
        let vs = VarStore::new(device);
        // The head comes from the saved config.json, as transformers reads it.
        let (model, _) = BertForTask::open_saved(&vs, dir)?;
        let labels = model.config.labels().unwrap_or_default();
        let labels = if config.task == TaskKind::Regression {
            Vec::new()
        } else {
            labels
        };
        let tokenizer = Tokenizer::from_dir(dir)?;
        let task = TextTask::new(model, labels.clone(), LossOptions::default());
        Ok(SavedRun {
            dir: dir.to_path_buf(),
            config,
            labels,
            tokenizer,
            task,
            vs,
        })
    }

    fn label_map(&self) -> Result<Option<LabelMap>> {
        Ok(match self.config.task {
            TaskKind::Regression => None,
            _ => Some(LabelMap::from_labels(self.labels.clone())?),
        })
    }

    fn loader(
        &self,
        examples: &[Example],
        labels: Option<&LabelMap>,
        sampler: Sampler,
    ) -> Result<Loader> {
        let max_length = self
            .config
            .data
            .max_length
            .unwrap_or(crate::config::DEFAULT_MAX_LENGTH);
        let opts = EncodeOptions::new(max_length).threads(2);
        let (rows, _) = self.tokenizer.encode_examples(examples, labels, &opts)?;
        Ok(Loader::new(
            Arc::new(rows),
            sampler,
            self.tokenizer.collator(),
            self.config.training.per_device_eval_batch_size,
        )?)
    }

    /// Evaluates on `file` (read like the training data), or on the run's own test split.
    pub fn evaluate(&self, file: Option<&Path>) -> Result<EvalResult> {
        let examples = match file {
            Some(f) => read_examples(&self.config.data, self.config.task, f)?,
            None => {
                let (_, _, test) = load_splits(&self.config)?;
                if test.is_empty() {
                    bail!("the run has no test split: pass a file to evaluate on");
                }
                test
            }
        };
        let labels = self.label_map()?;
        // Metrics do not depend on row order: batch rows of similar length.
        let loader = self.loader(&examples, labels.as_ref(), Sampler::ByLength)?;
        crate::saved::evaluate_with(&self.task, &self.vs, &self.config, &self.dir, &loader)
    }

    /// Predicts for raw texts (NER: words split on whitespace).
    pub fn predict(&self, texts: &[String]) -> Result<Vec<Prediction>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let location = ft_data::Location::new(Arc::from(Path::new("<input>")), 0);
        let examples: Vec<Example> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Example {
                input: match self.config.task {
                    TaskKind::TokenCls => {
                        TextInput::Words(t.split_whitespace().map(str::to_string).collect())
                    }
                    _ => TextInput::Single(t.clone()),
                },
                target: Target::None,
                location: ft_data::Location {
                    line: i as u64 + 1,
                    ..location.clone()
                },
            })
            .collect();
        let loader = self.loader(&examples, None, Sampler::Sequential)?;
        let modes = GroupModes::all(self.task.model.layer_groups().len(), false);
        let mut out = Vec::with_capacity(texts.len());
        for host in loader.epoch(0) {
            let host = host?;
            let batch = TensorBatch::from_host(&host, self.vs.device())?;
            let logits = tch::no_grad(|| self.task.logits(&batch, &modes))?;
            let rows = host.batch_size();
            for r in 0..rows {
                let example = host.examples[r];
                let text = texts[example].clone();
                let row = logits.get(r as i64);
                let pred = match self.config.task {
                    TaskKind::Regression => Prediction {
                        value: Some(row.double_value(&[0])),
                        ..Prediction::bare(text)
                    },
                    TaskKind::SeqCls => {
                        let probs = Vec::<f64>::try_from(row.softmax(-1, tch::Kind::Double))?;
                        let best = argmax(&probs);
                        Prediction {
                            label: Some(self.labels[best].clone()),
                            score: Some(probs[best]),
                            probabilities: Some(self.labels.iter().cloned().zip(probs).collect()),
                            ..Prediction::bare(text)
                        }
                    }
                    TaskKind::TokenCls => {
                        let ids = Vec::<i64>::try_from(row.argmax(-1, false))?;
                        let word_ids = &host
                            .word_ids
                            .as_ref()
                            .context("NER batches carry word ids")?[r];
                        let words: Vec<String> =
                            text.split_whitespace().map(str::to_string).collect();
                        let per_word = ft_data::text::word_predictions(word_ids, &ids, words.len());
                        let tags = words
                            .into_iter()
                            .zip(per_word)
                            // A word cut off by max_length gets no prediction: say so, don't guess.
                            .map(|(w, p)| {
                                (
                                    w,
                                    p.map(|id| self.labels[id as usize].clone())
                                        .unwrap_or_else(|| "O (truncated)".into()),
                                )
                            })
                            .collect();
                        Prediction {
                            tags: Some(tags),
                            ..Prediction::bare(text)
                        }
                    }
                    other => bail!("{other:?} runs have no text predictions"),
                };
                out.push(pred);
            }
        }
        Ok(out)
    }
}

impl Prediction {
    fn bare(text: String) -> Prediction {
        Prediction {
            text,
            label: None,
            score: None,
            probabilities: None,
            value: None,
            tags: None,
        }
    }
}

fn argmax(xs: &[f64]) -> usize {
    xs.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &x)| {
            if x > best.1 {
                (i, x)
            } else {
                best
            }
        })
        .0
}

impl SavedJob for SavedRun {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn kind(&self) -> TaskKind {
        self.config.task
    }

    fn evaluate(&self, data: Option<&Path>) -> Result<Evaluated> {
        Ok(Evaluated {
            result: SavedRun::evaluate(self, data)?,
            labels: self.labels.clone(),
        })
    }

    fn predict_inputs(&self) -> Option<InputKind> {
        Some(InputKind::Texts)
    }

    fn predict(&self, inputs: PredictInputs) -> Result<Vec<crate::saved::Prediction>> {
        let PredictInputs::Texts(texts) = inputs else {
            bail!(
                "{} is a text model: give texts on stdin or with --input",
                self.dir.display()
            );
        };
        Ok(SavedRun::predict(self, texts)?
            .into_iter()
            .map(crate::saved::Prediction::Text)
            .collect())
    }
}
