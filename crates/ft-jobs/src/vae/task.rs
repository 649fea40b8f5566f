//! The VAE as a [`Task`]: loss = per-image negative ELBO (with β and KL warm-up), evaluation =
//! reconstruction / KL / ELBO through ft-metrics' [`VaeAccumulator`], and PNG grids of samples
//! from the prior and of reconstructions.
//!
//! Batches carry `pixel_values` f32 `[N, C, H, W]` in [0, 1]; labels, if any, are ignored.
use crate::vae::grid::{save_grid, save_reconstruction_grid};
use anyhow::{anyhow, Result};
use ft_data::HostBatch;
use ft_metrics::{VaeAccumulator, VaeReport};
use ft_models::vae::{ConvVae, Noise};
use ft_models::{GroupModes, LayerGroup};
use ft_train::batch::TensorBatch;
use ft_train::evaluation::{Evaluation, Metrics};
use ft_train::task::{LossSum, Task};
use std::cell::Cell;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// Evaluation noise is seeded from this and the batch's position, so an evaluation gives the
/// same ELBO every time it runs over the same data in the same order.
const EVAL_SEED: u64 = 0x5EED_E1B0;

/// What the per-epoch (and final) grids show.
pub struct GridSettings {
    /// Fixed images `[N, C, H, W]` in [0, 1] shown above their reconstructions.
    pub originals: Tensor,
    /// How many prior samples to draw (always from the same seed, so epochs compare).
    pub samples: i64,
    pub seed: u64,
    /// Tiles per row.
    pub cols: usize,
}

/// A [`ConvVae`] being trained.
///
/// The loss of a batch is `Σ_images (reconstruction + β_t · KL)` with `count` = the number of
/// images, so the loop's mean is the per-image negative ELBO (when β_t = 1). β_t follows
/// [`ft_models::vae::VaeConfig::kl_weight`] of the step the loop announces via
/// [`VaeTask::set_step`]. Evaluation reports `reconstruction`, `kl`, `elbo`, `neg_elbo` and, as
/// `loss`, the negative ELBO with β = 1 (so runs with different β compare on the same scale).
/// Training log records also carry `reconstruction` and `kl` (per image, averaged since the
/// previous record) and the current `kl_weight`.
pub struct VaeTask {
    pub model: ConvVae,
    step: Cell<usize>,
    last_terms: Cell<Option<(f64, f64)>>,
    /// Summed per-image reconstruction, KL and image count since the last log record.
    window: Cell<(f64, f64, f64)>,
    grids: Option<GridSettings>,
}

impl VaeTask {
    pub fn new(model: ConvVae) -> VaeTask {
        VaeTask {
            model,
            step: Cell::new(0),
            last_terms: Cell::new(None),
            window: Cell::new((0.0, 0.0, 0.0)),
            grids: None,
        }
    }

    /// Writes `samples-epoch-<k>.png` and `reconstructions-epoch-<k>.png` into the output
    /// directory after every epoch (k from 1).
    pub fn with_grids(mut self, grids: GridSettings) -> VaeTask {
        self.grids = Some(grids);
        self
    }

    /// Per-image `(reconstruction, KL)` of the last training micro-batch, for logging the loss
    /// terms separately; `None` before the first step.
    pub fn last_terms(&self) -> Option<(f64, f64)> {
        self.last_terms.get()
    }

    /// Writes `samples-<tag>.png` (prior samples) and `reconstructions-<tag>.png` (originals
    /// above their reconstructions from z = μ) into `dir`; does nothing without grid settings.
    pub fn write_grids(&self, dir: &Path, tag: &str) -> Result<()> {
        let Some(g) = &self.grids else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let samples = self.model.sample(g.samples, g.seed);
        save_grid(&samples, g.cols, &dir.join(format!("samples-{tag}.png")))?;
        let modes = GroupModes::all(self.model.layer_groups().len(), false);
        let recon = tch::no_grad(|| -> Result<Tensor> {
            let out = self.model.forward(&g.originals, &modes, Noise::Mean)?;
            Ok(self.model.to_images(&out.recon))
        })?;
        save_reconstruction_grid(
            &g.originals,
            &recon,
            g.cols,
            &dir.join(format!("reconstructions-{tag}.png")),
        )
    }
}

/// Per-image `(reconstruction, KL)` of `images` under `model` in eval mode, no gradients,
/// one posterior sample per image with noise seeded by `seed`.
fn eval_terms(model: &ConvVae, images: &Tensor, seed: u64) -> Result<(Vec<f32>, Vec<f32>)> {
    let modes = GroupModes::all(model.layer_groups().len(), false);
    let (recon, kl) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
        let out = model.forward(images, &modes, Noise::Seeded(seed))?;
        Ok(model.loss_terms_per_image(images, &out))
    })?;
    let host = |t: Tensor| -> Result<Vec<f32>> {
        Ok(Vec::<f32>::try_from(
            t.to_device(tch::Device::Cpu).to_kind(Kind::Float),
        )?)
    };
    Ok((host(recon)?, host(kl)?))
}

/// The held-out ELBO report (`elbo` is nats per image; higher is better) of `images`
/// `[N, C, H, W]` in [0, 1], in batches of `batch_size`: the number the showcase compares
/// before and after fine-tuning. Deterministic: the noise of batch k is seeded by k.
pub fn held_out_elbo(model: &ConvVae, images: &Tensor, batch_size: i64) -> Result<VaeReport> {
    let n = images.size().first().copied().unwrap_or(0);
    let mut acc = VaeAccumulator::new();
    let mut start = 0;
    let mut k = 0u64;
    while start < n {
        let len = batch_size.max(1).min(n - start);
        let (recon, kl) = eval_terms(model, &images.narrow(0, start, len), EVAL_SEED ^ k)?;
        acc.update(&recon, &kl)?;
        start += len;
        k += 1;
    }
    Ok(acc.compute()?)
}

impl VaeTask {
    /// Sets the 0-based global step whose KL weight the next losses use (the
    /// [`VaeHooks`](crate::vae::hooks::VaeHooks) callback calls it at each step's start).
    pub fn set_step(&self, step: usize) {
        self.step.set(step);
    }

    /// `reconstruction` and `kl` per image over the steps since the last call, and the
    /// current `kl_weight` (β times the warm-up ramp), for a training log record.
    pub fn take_log_values(&self) -> Vec<(String, f64)> {
        let (r, k, n) = self.window.replace((0.0, 0.0, 0.0));
        let mut values = vec![(
            "kl_weight".to_string(),
            self.model.config.kl_weight(self.step.get()),
        )];
        if n > 0.0 {
            values.push(("reconstruction".to_string(), r / n));
            values.push(("kl".to_string(), k / n));
        }
        values
    }

    /// The summed reconstruction, KL and image count since the last log record: what a
    /// checkpoint keeps so a resumed run logs the same averages.
    pub fn log_window(&self) -> (f64, f64, f64) {
        self.window.get()
    }

    pub fn set_log_window(&self, window: (f64, f64, f64)) {
        self.window.set(window);
    }

    /// What a VAE evaluation reports (see [`Task::metric_names`]).
    pub const METRIC_NAMES: &'static [&'static str] =
        &["loss", "reconstruction", "kl", "elbo", "neg_elbo"];
}

impl Task for VaeTask {
    fn layer_groups(&self) -> &[LayerGroup] {
        self.model.layer_groups()
    }

    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum> {
        let x = batch.require("pixel_values")?;
        let out = self.model.forward(x, modes, Noise::Torch)?;
        let (recon, kl) = self.model.loss_terms(x, &out);
        let n = x.size()[0] as f64;
        let (r, k) = (recon.double_value(&[]), kl.double_value(&[]));
        self.last_terms.set(Some((r / n, k / n)));
        let (wr, wk, wn) = self.window.get();
        self.window.set((wr + r, wk + k, wn + n));
        let weight = self.model.config.kl_weight(self.step.get());
        Ok(LossSum::new(recon + kl * weight, n))
    }

    fn new_evaluation(&self) -> Result<Evaluation> {
        Ok(Evaluation::vae())
    }

    fn metric_names(&self) -> Vec<&'static str> {
        VaeTask::METRIC_NAMES.to_vec()
    }

    fn evaluate_batch(
        &self,
        batch: &TensorBatch,
        host: &HostBatch,
        ev: &mut Evaluation,
    ) -> Result<()> {
        let x = batch.require("pixel_values")?;
        let (recon, kl) = eval_terms(&self.model, x, EVAL_SEED ^ host.index as u64)?;
        let neg_elbo: f64 = recon.iter().chain(&kl).map(|&v| v as f64).sum();
        ev.add_loss(neg_elbo, recon.len() as f64);
        match &mut ev.metrics {
            Metrics::Vae(acc) => Ok(acc.update(&recon, &kl)?),
            _ => Err(anyhow!("the VAE task fills a VAE evaluation, not this one")),
        }
    }

    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()> {
        Ok(self.model.save_pretrained(vs, dir)?)
    }
}
