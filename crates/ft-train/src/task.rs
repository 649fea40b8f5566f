//! A `Task` is everything model-specific the loop needs: a loss, predictions for the metrics,
//! and how to save. The loop itself knows nothing about BERT or images.
use crate::batch::TensorBatch;
use crate::evaluation::Evaluation;
use anyhow::Result;
use ft_data::HostBatch;
use ft_models::{GroupModes, LayerGroup};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// A batch's loss as a sum with the number of targets it counts: the loop divides by the count
/// of the whole accumulated batch, so 4 micro-batches of 4 equal one batch of 16 even when the
/// micro-batches hold different numbers of labelled tokens.
pub struct LossSum {
    pub sum: Tensor,
    pub count: f64,
}

pub trait Task {
    /// The model's layer groups, bottom to top (the last is the head).
    fn layer_groups(&self) -> &[LayerGroup];
    /// Forward pass in the given per-group modes, returning the summed loss.
    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum>;
    /// A fresh metric accumulator for this task.
    fn new_evaluation(&self) -> Result<Evaluation>;
    /// Forward in eval mode (no grad) and feed predictions and the loss to `evaluation`.
    fn evaluate_batch(
        &self,
        batch: &TensorBatch,
        host: &HostBatch,
        evaluation: &mut Evaluation,
    ) -> Result<()>;
    /// Writes the model in its upstream layout (e.g. HF `config.json` + `model.safetensors`).
    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()>;

    /// Called by the loop before each optimizer step with its 0-based global step, so a task
    /// whose loss depends on the step (the VAE's KL warm-up) can read it in [`Task::loss`].
    /// Most tasks ignore it.
    fn on_step(&self, _step: usize) {}

    /// Extra scalars for the training log record (e.g. the VAE's reconstruction and KL terms),
    /// averaged by the task over the steps since the previous record, which this call starts
    /// anew. Most tasks have none.
    fn take_log_values(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// Called by the loop after each completed epoch (0-based) with the output directory, for
    /// per-epoch artefacts such as the VAE's sample grids. Most tasks do nothing.
    fn on_epoch_end(&self, _epoch: usize, _output_dir: &Path) -> Result<()> {
        Ok(())
    }
}
