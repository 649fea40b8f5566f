//! A convolutional variational autoencoder for small images (28×28 grey, 32×32 / 64×64 RGB).
//!
//! The encoder maps an image to a Gaussian posterior `(μ, log σ²)` over a latent code z; a
//! sample `z = μ + σ·ε` (the reparameterisation trick, so gradients flow through μ and σ) is
//! decoded back to pixels. Training minimises the negative evidence lower bound (ELBO):
//! reconstruction loss + β · KL(posterior ‖ N(0, I)), with an optional linear KL warm-up.
//!
//! ```no_run
//! use ft_models::vae::{ConvVae, Noise, VaeConfig};
//! use ft_models::GroupModes;
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let vae = ConvVae::new(&vs.root(), &VaeConfig::fashion_mnist())?;
//! let x = tch::Tensor::rand([8, 1, 28, 28], (tch::Kind::Float, tch::Device::Cpu));
//! let modes = GroupModes::all(vae.layer_groups().len(), true);
//! let out = vae.forward(&x, &modes, Noise::Torch)?;
//! let (recon, kl) = vae.loss_terms(&x, &out);
//! let loss = (recon + kl) / 8.0; // the per-image negative ELBO
//! # Ok::<(), ft_models::ModelError>(())
//! ```
mod config;
mod model;
mod noise;

pub use config::{Likelihood, VaeConfig, SUPPORTED_IMAGE_SIZES};
pub use model::{ConvVae, Noise, VaeOutput};
pub use noise::seeded_normal;
