//! The VAE's `config.json`: image geometry, layer widths, likelihood and the KL schedule.
use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Image sizes the convolutional VAE is built for (square images).
pub const SUPPORTED_IMAGE_SIZES: [i64; 3] = [28, 32, 64];

/// How the decoder's output explains a pixel, i.e. what the reconstruction loss is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Each sub-pixel in [0, 1] is a Bernoulli probability; the decoder outputs logits and the
    /// loss is binary cross-entropy with logits (the classic choice for (Fashion-)MNIST).
    Bernoulli,
    /// Each sub-pixel is Gaussian with unit variance around the decoder's mean (a sigmoid, so
    /// the mean stays in [0, 1]); the loss is `½‖x − mean‖²`, the exact negative log-likelihood
    /// up to the constant `D/2 · ln 2π` that we leave out.
    Gaussian,
}

/// Everything needed to rebuild a [`super::ConvVae`]; saved next to the weights as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Side of the square input images: 28, 32 or 64.
    pub image_size: i64,
    /// 1 (grey) or 3 (RGB).
    pub channels: i64,
    /// Dimension of the latent code z.
    pub latent_dim: i64,
    /// Output channels of each encoder block, bottom to top. Every block halves the image side,
    /// so `image_size` must be divisible by `2^len` (28 allows at most 2 blocks: 28 → 14 → 7).
    /// The decoder mirrors the list.
    pub hidden_channels: Vec<i64>,
    pub likelihood: Likelihood,
    /// Weight of the KL term (β-VAE); 1 gives the ELBO.
    #[serde(default = "one")]
    pub beta: f64,
    /// The KL weight ramps linearly from `1/kl_warmup_steps` to 1 over this many optimizer
    /// steps (0: no warm-up), which keeps the posterior from collapsing onto the prior early.
    #[serde(default)]
    pub kl_warmup_steps: usize,
}

fn one() -> f64 {
    1.0
}

impl VaeConfig {
    /// A small Fashion-MNIST VAE: 28×28 grey, blocks of 32 and 64 channels, 16 latent dims,
    /// Bernoulli likelihood.
    pub fn fashion_mnist() -> VaeConfig {
        VaeConfig {
            image_size: 28,
            channels: 1,
            latent_dim: 16,
            hidden_channels: vec![32, 64],
            likelihood: Likelihood::Bernoulli,
            beta: 1.0,
            kl_warmup_steps: 0,
        }
    }

    /// Reads and checks `dir/config.json`.
    pub fn from_dir(dir: &Path) -> Result<VaeConfig, ModelError> {
        VaeConfig::from_file(&dir.join("config.json"))
    }

    /// Reads and checks a VAE config file; errors name the file.
    pub fn from_file(path: &Path) -> Result<VaeConfig, ModelError> {
        crate::config_file::read(path, VaeConfig::validate)
    }

    /// [`VaeConfig::from_file`] on bytes already in memory; `path` names them in errors.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<VaeConfig, ModelError> {
        crate::config_file::parse(bytes, path, VaeConfig::validate)
    }

    /// Says what is wrong with the config, if anything, in words a user can act on.
    pub fn validate(&self) -> Result<(), String> {
        if !SUPPORTED_IMAGE_SIZES.contains(&self.image_size) {
            return Err(format!(
                "image_size {} is not supported: the VAE supports 28, 32 and 64",
                self.image_size
            ));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(format!(
                "channels {} is not supported: use 1 (grey) or 3 (RGB)",
                self.channels
            ));
        }
        if self.latent_dim < 1 {
            return Err(format!(
                "field `latent_dim` must be at least 1, got {}",
                self.latent_dim
            ));
        }
        if self.hidden_channels.is_empty() || self.hidden_channels.iter().any(|&c| c < 1) {
            return Err(format!(
                "hidden_channels must list at least one positive width, got {:?}",
                self.hidden_channels
            ));
        }
        let blocks = self.hidden_channels.len() as u32;
        if blocks > 6 || self.image_size % (1i64 << blocks) != 0 {
            return Err(format!(
                "{} encoder blocks each halve the image side, but image_size {} is not divisible by {}; \
                 use fewer hidden_channels",
                blocks,
                self.image_size,
                1i64 << blocks.min(62)
            ));
        }
        if !(self.beta >= 0.0 && self.beta.is_finite()) {
            return Err(format!(
                "beta must be a finite number ≥ 0, got {}",
                self.beta
            ));
        }
        Ok(())
    }

    /// Side of the smallest feature map (after the last encoder block).
    pub fn bottom_size(&self) -> i64 {
        self.image_size >> self.hidden_channels.len()
    }

    /// The KL weight at optimizer step `step` (0-based): `beta` times the warm-up ramp
    /// `min(1, (step + 1) / kl_warmup_steps)`.
    pub fn kl_weight(&self, step: usize) -> f64 {
        let ramp = if self.kl_warmup_steps == 0 {
            1.0
        } else {
            ((step + 1) as f64 / self.kl_warmup_steps as f64).min(1.0)
        };
        self.beta * ramp
    }
}
