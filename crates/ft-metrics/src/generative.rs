//! Generative models: perplexity and bits per dimension from summed negative
//! log-likelihoods, and the VAE loss terms.
//!
//! Both accumulators take sums (or per-example values) rather than means, so
//! batches of different sizes combine correctly: the mean is taken once, over
//! the whole stream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::{check_finite, check_finite_scalar, check_same_len};
use crate::MetricError;

/// Accumulates negative log-likelihood, in nats, over tokens or dimensions.
///
/// `perplexity = exp(total_nll / count)` and
/// `bits_per_dim = total_nll / (count · ln 2)`. For images, pass the NLL of
/// the discretised data (the usual `+ D·ln 256` correction applied) with
/// `count` the number of sub-pixels.
#[derive(Debug, Clone, Default)]
pub struct NllAccumulator {
    nll_sum: f64,
    count: u64,
}

impl NllAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch's summed NLL (nats) and how many tokens / dimensions it covers.
    ///
    /// A cross-entropy loss with `reduction="mean"` must be multiplied back
    /// by its token count first.
    pub fn update(&mut self, nll_sum: f64, count: u64) -> Result<(), MetricError> {
        check_finite_scalar("nll_sum", nll_sum)?;
        self.nll_sum += nll_sum;
        self.count += count;
        Ok(())
    }

    /// Adds per-token (or per-dimension) NLL values.
    pub fn update_values<T: Copy + Into<f64>>(&mut self, nll: &[T]) -> Result<(), MetricError> {
        check_finite("nll", nll)?;
        self.nll_sum += nll.iter().map(|&v| v.into()).sum::<f64>();
        self.count += nll.len() as u64;
        Ok(())
    }

    /// Forgets everything accumulated.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Mean NLL, perplexity and bits per dimension.
    pub fn compute(&self) -> Result<NllReport, MetricError> {
        if self.count == 0 {
            return Err(MetricError::Empty {
                metric: "negative log-likelihood",
            });
        }
        let mean = self.nll_sum / self.count as f64;
        Ok(NllReport {
            count: self.count,
            total_nll: self.nll_sum,
            mean_nll: mean,
            perplexity: mean.exp(),
            bits_per_dim: mean / std::f64::consts::LN_2,
        })
    }
}

/// What [`NllAccumulator::compute`] reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NllReport {
    pub count: u64,
    pub total_nll: f64,
    pub mean_nll: f64,
    /// `exp(mean_nll)`; overflows to infinity above a mean NLL of ~709 nats.
    pub perplexity: f64,
    pub bits_per_dim: f64,
}

impl NllReport {
    /// Flat view: `nll`, `perplexity`, `bits_per_dim`.
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([
            ("nll".to_string(), self.mean_nll),
            ("perplexity".to_string(), self.perplexity),
            ("bits_per_dim".to_string(), self.bits_per_dim),
        ])
    }
}

/// Accumulates the per-example terms of a VAE's evidence lower bound.
///
/// Sign convention: `reconstruction` is the reconstruction *loss* (negative
/// log-likelihood of the input given the latent), `kl` the KL divergence of
/// the posterior from the prior, both per example; then
/// `elbo = −(reconstruction + kl)`, and the training loss is `−elbo`.
#[derive(Debug, Clone, Default)]
pub struct VaeAccumulator {
    reconstruction_sum: f64,
    kl_sum: f64,
    n: u64,
}

impl VaeAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds per-example reconstruction losses and KL terms (same length).
    pub fn update<T: Copy + Into<f64>>(
        &mut self,
        reconstruction: &[T],
        kl: &[T],
    ) -> Result<(), MetricError> {
        check_same_len("reconstruction", reconstruction.len(), "kl", kl.len())?;
        check_finite("reconstruction", reconstruction)?;
        check_finite("kl", kl)?;
        self.reconstruction_sum += reconstruction.iter().map(|&v| v.into()).sum::<f64>();
        self.kl_sum += kl.iter().map(|&v| v.into()).sum::<f64>();
        self.n += kl.len() as u64;
        Ok(())
    }

    /// Forgets everything accumulated.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Per-example means of the terms.
    pub fn compute(&self) -> Result<VaeReport, MetricError> {
        if self.n == 0 {
            return Err(MetricError::Empty { metric: "VAE" });
        }
        let n = self.n as f64;
        let reconstruction = self.reconstruction_sum / n;
        let kl = self.kl_sum / n;
        Ok(VaeReport {
            num_examples: self.n,
            reconstruction,
            kl,
            elbo: -(reconstruction + kl),
        })
    }
}

/// What [`VaeAccumulator::compute`] reports (per-example means).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeReport {
    pub num_examples: u64,
    pub reconstruction: f64,
    pub kl: f64,
    pub elbo: f64,
}

impl VaeReport {
    /// Flat view: `reconstruction`, `kl`, `elbo`, `neg_elbo` (the loss).
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([
            ("reconstruction".to_string(), self.reconstruction),
            ("kl".to_string(), self.kl),
            ("elbo".to_string(), self.elbo),
            ("neg_elbo".to_string(), -self.elbo),
        ])
    }
}
