//! Image classification: a vision model with a fresh head, trained on pixels or, for a linear
//! probe, on the frozen backbone's cached features (see [`crate::image::feature_cache`]).
use anyhow::{bail, Result};
use ft_data::HostBatch;
use ft_models::vision::VisionModel;
use ft_models::{GroupModes, LayerGroup};
use ft_optim::loss::{cross_entropy_sum, LossOptions};
use ft_train::batch::{to_vec_f32, to_vec_i64, TensorBatch};
use ft_train::evaluation::{Evaluation, Metrics};
use ft_train::task::{LossSum, Task};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// What the batches hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageInput {
    /// `pixel_values` `[N, C, H, W]`: the whole model runs.
    Pixels,
    /// `features` `[N, F]` from the frozen backbone: only the head runs.
    Features,
}

pub struct ImageTask {
    pub model: VisionModel,
    /// Class names by id.
    pub labels: Vec<String>,
    pub loss_options: LossOptions,
    pub input: ImageInput,
}

impl ImageTask {
    pub fn new(model: VisionModel, labels: Vec<String>, loss_options: LossOptions) -> ImageTask {
        ImageTask {
            model,
            labels,
            loss_options,
            input: ImageInput::Pixels,
        }
    }

    /// Logits for a batch of whichever input the task is set to (the caller decides grad mode).
    pub fn logits(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        Ok(self.model.classify(&self.pooled(batch, modes)?, modes))
    }

    /// The pooled backbone features of a batch: computed from pixels, or the cached ones.
    fn pooled(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        Ok(match self.input {
            ImageInput::Pixels => self.model.features(batch.require("pixel_values")?, modes),
            ImageInput::Features => batch.require("features")?.shallow_clone(),
        })
    }

    fn loss_of(&self, logits: &Tensor, labels: &Tensor) -> Result<LossSum> {
        let (sum, count) = cross_entropy_sum(logits, labels, &self.loss_options)?;
        Ok(LossSum::new(sum, count))
    }
}

impl Task for ImageTask {
    fn layer_groups(&self) -> &[LayerGroup] {
        self.model.layer_groups()
    }

    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum> {
        if self.input == ImageInput::Features {
            // Training the head on cached features is only equal to training on pixels when the
            // backbone is frozen; the feature cache is only built then, this guards misuse.
            let head = self.layer_groups().len() - 1;
            if (0..head).any(|g| modes.is_train(g)) {
                bail!("cached features need a frozen backbone, but a backbone group is training");
            }
        }
        let features = self.pooled(batch, modes)?;
        let logits = self.model.classify(&features, modes);
        Ok(self
            .loss_of(&logits, batch.require("labels")?)?
            .with_features(features))
    }

    fn features(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<Tensor> {
        self.pooled(batch, modes)
    }

    fn metric_names(&self) -> Vec<&'static str> {
        ft_train::task::classification_metric_names(self.labels.len())
    }

    fn new_evaluation(&self) -> Result<Evaluation> {
        Evaluation::classification(&self.labels)
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
        if let Metrics::Classification(acc) = &mut ev.metrics {
            acc.update_logits(&to_vec_f32(&logits)?, &to_vec_i64(labels)?)?;
        }
        Ok(())
    }

    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()> {
        Ok(self.model.save_pretrained(vs, dir)?)
    }
}
