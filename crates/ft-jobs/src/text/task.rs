//! BERT-family text tasks: sequence classification, token classification (NER), regression.
use anyhow::{anyhow, bail, Result};
use ft_data::HostBatch;
use ft_models::bert::{BertForTask, BertTask};
use ft_models::{GroupModes, LayerGroup};
use ft_optim::loss::{cross_entropy_sum, LossOptions};
use ft_train::batch::{to_vec_f32, to_vec_i64, TensorBatch};
use ft_train::evaluation::{Evaluation, Metrics};
use ft_train::task::{LossSum, Task};
use std::path::Path;
use tch::nn::VarStore;
use tch::{Reduction, Tensor};

/// A BERT model with a head, its label names and the loss options of the run.
pub struct TextTask {
    pub model: BertForTask,
    /// Class (or tag) names by id; empty for regression.
    pub labels: Vec<String>,
    pub loss_options: LossOptions,
}

impl TextTask {
    pub fn new(model: BertForTask, labels: Vec<String>, loss_options: LossOptions) -> TextTask {
        TextTask {
            model,
            labels,
            loss_options,
        }
    }

    /// Logits for a batch (the caller decides about grad mode).
    pub fn logits(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        Ok(self.model.head(&self.encode(batch, modes)?, modes))
    }

    /// What the head reads (see [`BertForTask::features`]).
    fn encode(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        Ok(self.model.features(
            batch.require("input_ids")?,
            batch.get("attention_mask"),
            batch.get("token_type_ids"),
            modes,
        ))
    }

    fn loss_of(&self, logits: &Tensor, labels: &Tensor) -> Result<LossSum> {
        Ok(match self.model.task {
            BertTask::Regression => {
                let preds = logits.view([-1]);
                let target = labels.view([-1]).to_kind(preds.kind());
                LossSum::new(
                    preds.mse_loss(&target, Reduction::Sum),
                    target.size()[0] as f64,
                )
            }
            BertTask::SequenceClassification { num_labels }
            | BertTask::TokenClassification { num_labels } => {
                let (sum, count) = cross_entropy_sum(
                    &logits.view([-1, num_labels]),
                    &labels.view([-1]),
                    &self.loss_options,
                )?;
                LossSum::new(sum, count)
            }
        })
    }

    /// The metric names an evaluation of a `task` head with `num_labels` classes reports
    /// (see [`Task::metric_names`]); a job checks `metric_for_best_model` against them before
    /// the model exists.
    pub fn metric_names_for(task: &BertTask) -> Vec<&'static str> {
        match task {
            BertTask::SequenceClassification { num_labels } => {
                ft_train::task::classification_metric_names(*num_labels as usize)
            }
            BertTask::TokenClassification { .. } => vec![
                "loss",
                "entity_precision",
                "entity_recall",
                "entity_f1",
                "entity_precision_macro",
                "entity_recall_macro",
                "entity_f1_macro",
                "entity_precision_weighted",
                "entity_recall_weighted",
                "entity_f1_weighted",
                "token_accuracy",
            ],
            BertTask::Regression => vec!["loss", "mse", "rmse", "mae", "r2", "pearson", "spearman"],
        }
    }
}

impl Task for TextTask {
    fn layer_groups(&self) -> &[LayerGroup] {
        self.model.layer_groups()
    }

    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum> {
        let features = self.encode(batch, modes)?;
        let logits = self.model.head(&features, modes);
        Ok(self
            .loss_of(&logits, batch.require("labels")?)?
            .with_features(features))
    }

    fn features(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        self.encode(batch, modes)
    }

    fn metric_names(&self) -> Vec<&'static str> {
        TextTask::metric_names_for(&self.model.task)
    }

    fn new_evaluation(&self) -> Result<Evaluation> {
        Ok(match self.model.task {
            BertTask::SequenceClassification { .. } => Evaluation::classification(&self.labels)?,
            BertTask::TokenClassification { .. } => Evaluation::sequence(&self.labels),
            BertTask::Regression => Evaluation::regression(),
        })
    }

    fn evaluate_batch(
        &self,
        batch: &TensorBatch,
        _host: &HostBatch,
        ev: &mut Evaluation,
    ) -> Result<()> {
        let modes = GroupModes::all(self.layer_groups().len(), false);
        let logits = tch::no_grad(|| self.logits(batch, &modes))?;
        let labels = batch.require("labels")?;
        let loss = self.loss_of(&logits, labels)?;
        ev.add_loss(loss.sum.double_value(&[]), loss.count);
        match &mut ev.metrics {
            Metrics::Classification(acc) => {
                let scores = to_vec_f32(&logits)?;
                acc.update_logits(&scores, &to_vec_i64(labels)?)?;
            }
            Metrics::Regression(acc) => {
                acc.update(&to_vec_f32(&logits)?, &to_vec_f32(labels)?)?;
            }
            Metrics::Sequence { acc, labels: names } => {
                let (b, t) = labels.size2()?;
                let preds = to_vec_i64(&logits.argmax(-1, false))?;
                let refs = to_vec_i64(labels)?;
                let name = |id: i64| -> Result<String> {
                    names
                        .get(id as usize)
                        .cloned()
                        .ok_or_else(|| anyhow!("tag id {id} is outside the label map"))
                };
                let (mut pred_tags, mut ref_tags) = (Vec::new(), Vec::new());
                for row in 0..b as usize {
                    let (mut p, mut r) = (Vec::new(), Vec::new());
                    for col in 0..t as usize {
                        let i = row * t as usize + col;
                        // Only the first sub-token of each word carries a label; the rest are -100.
                        if refs[i] != -100 {
                            p.push(name(preds[i])?);
                            r.push(name(refs[i])?);
                        }
                    }
                    pred_tags.push(p);
                    ref_tags.push(r);
                }
                acc.update(&pred_tags, &ref_tags)?;
            }
            Metrics::Perplexity(_) => bail!("a BERT task cannot fill a perplexity evaluation"),
            Metrics::Vae(_) => bail!("a text task cannot fill a VAE evaluation"),
        }
        Ok(())
    }

    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()> {
        Ok(self.model.save_pretrained(vs, dir)?)
    }
}
