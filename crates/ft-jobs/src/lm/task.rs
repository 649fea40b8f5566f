//! Causal language modelling with GPT-2: next-token cross-entropy on packed blocks, evaluated
//! as perplexity.
use anyhow::{bail, Result};
use ft_data::HostBatch;
use ft_models::gpt2::{shift_for_causal_lm, Gpt2LMHeadModel};
use ft_models::{GroupModes, LayerGroup};
use ft_optim::loss::{cross_entropy_sum, LossOptions};
use ft_train::batch::TensorBatch;
use ft_train::evaluation::{Evaluation, Metrics};
use ft_train::task::{LossSum, Task};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// A GPT-2 trained to predict each next token. Batches hold `input_ids` and `labels` (usually
/// the same ids, as [`ft_data::lm::Packed::rows`] makes them; the shift by one happens in the
/// loss), and optionally `attention_mask`.
pub struct LmTask {
    pub model: Gpt2LMHeadModel,
    pub loss_options: LossOptions,
}

impl LmTask {
    pub fn new(model: Gpt2LMHeadModel) -> LmTask {
        LmTask {
            model,
            loss_options: LossOptions::default(),
        }
    }

    fn logits(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        Ok(self.model.forward(
            batch.require("input_ids")?,
            batch.get("attention_mask"),
            None,
            modes,
        )?)
    }

    /// The summed loss over every predicted token (each position but the last of a row, minus
    /// labels of -100) and that token count.
    fn loss_of(&self, logits: &Tensor, labels: &Tensor) -> Result<LossSum> {
        let (logits, labels) = shift_for_causal_lm(logits, labels);
        let (sum, count) = cross_entropy_sum(&logits, &labels, &self.loss_options)?;
        Ok(LossSum::new(sum, count))
    }

    /// What a perplexity evaluation reports (see [`Task::metric_names`]).
    pub const METRIC_NAMES: &'static [&'static str] =
        &["loss", "nll", "perplexity", "bits_per_dim"];
}

impl Task for LmTask {
    fn layer_groups(&self) -> &[LayerGroup] {
        self.model.layer_groups()
    }

    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum> {
        let logits = self.logits(batch, modes)?;
        self.loss_of(&logits, batch.require("labels")?)
    }

    fn metric_names(&self) -> Vec<&'static str> {
        LmTask::METRIC_NAMES.to_vec()
    }

    fn new_evaluation(&self) -> Result<Evaluation> {
        Ok(Evaluation::perplexity())
    }

    fn evaluate_batch(
        &self,
        batch: &TensorBatch,
        _host: &HostBatch,
        ev: &mut Evaluation,
    ) -> Result<()> {
        let modes = GroupModes::all(self.layer_groups().len(), false);
        let loss = tch::no_grad(|| -> Result<LossSum> {
            let logits = self.logits(batch, &modes)?;
            self.loss_of(&logits, batch.require("labels")?)
        })?;
        let sum = loss.sum.double_value(&[]);
        ev.add_loss(sum, loss.count);
        match &mut ev.metrics {
            Metrics::Perplexity(acc) => acc.update(sum, loss.count as u64)?,
            _ => bail!("a language-model task fills a perplexity evaluation only"),
        }
        Ok(())
    }

    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()> {
        Ok(self.model.save_pretrained(vs, dir)?)
    }
}
