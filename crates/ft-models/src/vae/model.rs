//! The convolutional VAE: encoder blocks → (μ, log σ²) heads → reparameterisation → decoder.
use super::config::{Likelihood, VaeConfig};
use super::noise::seeded_normal;
use crate::loading::{load_into, LoadReport, NameMap};
use crate::{GroupModes, LayerGroup, ModelError};
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Kind, Reduction, Tensor};

/// Where the reparameterisation noise ε in `z = μ + σ·ε` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// libtorch's global generator: training, where the trainer reseeds it per step.
    Torch,
    /// Host-generated from this seed: reproducible evaluation on any device.
    Seeded(u64),
    /// No noise, `z = μ`: deterministic reconstructions for grids.
    Mean,
}

/// What [`ConvVae::forward`] returns.
pub struct VaeOutput {
    /// Decoder output: logits (Bernoulli) or the mean in [0, 1] (Gaussian), `[N, C, H, W]`.
    pub recon: Tensor,
    /// Posterior mean, `[N, latent_dim]`.
    pub mu: Tensor,
    /// Posterior log-variance, `[N, latent_dim]`.
    pub logvar: Tensor,
}

/// A convolutional VAE for small square images.
///
/// Variables (and thus `model.safetensors` names): `encoder.<i>.{weight,bias}` (4×4 stride-2
/// convolutions, ReLU), `fc_mu`, `fc_logvar` (linear heads on the flattened top feature map),
/// `decoder_input` (linear, latent → top feature map), `decoder.<i>` (4×4 stride-2 transposed
/// convolutions mirroring the encoder; the last one outputs the image channels, no activation).
///
/// There is no dropout or BatchNorm, so [`GroupModes`] change nothing today; the methods take
/// them so the VAE plugs into the same per-group train/eval machinery as the other models.
#[derive(Debug)]
pub struct ConvVae {
    pub config: VaeConfig,
    encoder: Vec<nn::Conv2D>,
    fc_mu: nn::Linear,
    fc_logvar: nn::Linear,
    decoder_input: nn::Linear,
    decoder: Vec<nn::ConvTranspose2D>,
    groups: Vec<LayerGroup>,
}

impl ConvVae {
    /// Builds the model under `root`; an invalid config (e.g. an unsupported image size) is an
    /// error saying what is supported.
    pub fn new(root: &nn::Path, config: &VaeConfig) -> Result<ConvVae, ModelError> {
        config.validate().map_err(ModelError::Invalid)?;
        let conv = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let deconv = nn::ConvTransposeConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let hidden = &config.hidden_channels;
        let mut encoder = Vec::new();
        let mut in_ch = config.channels;
        for (i, &out_ch) in hidden.iter().enumerate() {
            encoder.push(nn::conv2d(root / "encoder" / i, in_ch, out_ch, 4, conv));
            in_ch = out_ch;
        }
        let top = *hidden.last().expect("validated: at least one block");
        let flat = top * config.bottom_size() * config.bottom_size();
        let lin = Default::default();
        let fc_mu = nn::linear(root / "fc_mu", flat, config.latent_dim, lin);
        let fc_logvar = nn::linear(root / "fc_logvar", flat, config.latent_dim, lin);
        let decoder_input = nn::linear(root / "decoder_input", config.latent_dim, flat, lin);
        let widths: Vec<i64> = hidden.iter().rev().copied().collect();
        let mut decoder = Vec::new();
        for i in 0..widths.len() {
            let out_ch = widths.get(i + 1).copied().unwrap_or(config.channels);
            decoder.push(nn::conv_transpose2d(
                root / "decoder" / i,
                widths[i],
                out_ch,
                4,
                deconv,
            ));
        }
        Ok(ConvVae {
            config: config.clone(),
            encoder,
            fc_mu,
            fc_logvar,
            decoder_input,
            decoder,
            groups: layer_groups(hidden.len()),
        })
    }

    /// The layer groups, bottom to top: `encoder.0` … `encoder.<L-1>`, `latent` (the μ and
    /// log σ² heads), `decoder_input`, `decoder.0` … `decoder.<L-1>` (the last is the output
    /// block). So "freeze the encoder" is the bottom `L + 1` groups (ft-optim's `partial` with
    /// `layers = L`, or the patterns `encoder.*`, `fc_*`), and "freeze the decoder's lower
    /// blocks" is the patterns `decoder_input.*`, `decoder.0.*`, ….
    pub fn layer_groups(&self) -> &[LayerGroup] {
        &self.groups
    }

    /// Checks that `x` is a batch `[N, channels, image_size, image_size]` of this config.
    fn check_images(&self, x: &Tensor) -> Result<(), ModelError> {
        let c = &self.config;
        let want = [c.channels, c.image_size, c.image_size];
        let size = x.size();
        if size.len() != 4 || size[1..] != want {
            return Err(ModelError::Invalid(format!(
                "the VAE expects images of shape [N, {}, {}, {}] (config image_size {}, channels {}), got {:?}",
                c.channels, c.image_size, c.image_size, c.image_size, c.channels, size
            )));
        }
        Ok(())
    }

    /// The posterior's `(μ, log σ²)` for images `x` in [0, 1].
    pub fn encode(&self, x: &Tensor, _modes: &GroupModes) -> Result<(Tensor, Tensor), ModelError> {
        self.check_images(x)?;
        let mut h = x.shallow_clone();
        for conv in &self.encoder {
            h = conv.forward(&h).relu();
        }
        let h = h.flatten(1, -1);
        Ok((self.fc_mu.forward(&h), self.fc_logvar.forward(&h)))
    }

    /// The decoder on latent codes `z` `[N, latent_dim]`: logits (Bernoulli) or the mean in
    /// [0, 1] (Gaussian), `[N, C, H, W]`.
    pub fn decode(&self, z: &Tensor, _modes: &GroupModes) -> Tensor {
        let c = &self.config;
        let top = *c.hidden_channels.last().expect("validated");
        let mut h =
            self.decoder_input
                .forward(z)
                .relu()
                .view([-1, top, c.bottom_size(), c.bottom_size()]);
        let last = self.decoder.len() - 1;
        for (i, deconv) in self.decoder.iter().enumerate() {
            h = deconv.forward(&h);
            if i < last {
                h = h.relu();
            }
        }
        match c.likelihood {
            Likelihood::Bernoulli => h,
            Likelihood::Gaussian => h.sigmoid(),
        }
    }

    /// Turns a decoder output into pixel values in [0, 1] (the Bernoulli mean for logits).
    pub fn to_images(&self, decoded: &Tensor) -> Tensor {
        match self.config.likelihood {
            Likelihood::Bernoulli => decoded.sigmoid(),
            Likelihood::Gaussian => decoded.shallow_clone(),
        }
    }

    /// Encode, draw `z = μ + exp(½ log σ²)·ε` with ε from `noise`, decode.
    pub fn forward(
        &self,
        x: &Tensor,
        modes: &GroupModes,
        noise: Noise,
    ) -> Result<VaeOutput, ModelError> {
        let (mu, logvar) = self.encode(x, modes)?;
        let z = match noise {
            Noise::Torch => &mu + (&logvar * 0.5).exp() * mu.randn_like(),
            Noise::Seeded(seed) => {
                let eps = seeded_normal(&mu.size(), seed, mu.device()).to_kind(mu.kind());
                &mu + (&logvar * 0.5).exp() * eps
            }
            Noise::Mean => mu.shallow_clone(),
        };
        Ok(VaeOutput {
            recon: self.decode(&z, modes),
            mu,
            logvar,
        })
    }

    /// Per-image loss terms `(reconstruction, kl)`, each `[N]`:
    /// reconstruction = Σ over sub-pixels of BCE-with-logits (Bernoulli) or `½(x − mean)²`
    /// (Gaussian); kl = `KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²)`.
    pub fn loss_terms_per_image(&self, x: &Tensor, out: &VaeOutput) -> (Tensor, Tensor) {
        let x = x.to_kind(out.recon.kind());
        let per_pixel = match self.config.likelihood {
            Likelihood::Bernoulli => out.recon.binary_cross_entropy_with_logits::<Tensor>(
                &x,
                None,
                None,
                Reduction::None,
            ),
            Likelihood::Gaussian => (&out.recon - &x).square() * 0.5,
        };
        let recon = per_pixel
            .flatten(1, -1)
            .sum_dim_intlist(1, false, Kind::Float);
        let kl = ((out.mu.square() + out.logvar.exp() - 1.0 - &out.logvar) * 0.5).sum_dim_intlist(
            1,
            false,
            Kind::Float,
        );
        (recon, kl)
    }

    /// The batch's summed loss terms `(reconstruction_sum, kl_sum)` (over pixels and images),
    /// as scalar tensors that carry gradients. The training loss is `recon + β_t · kl`
    /// ([`VaeConfig::kl_weight`]); with β_t = 1 it is the negative ELBO.
    pub fn loss_terms(&self, x: &Tensor, out: &VaeOutput) -> (Tensor, Tensor) {
        let (recon, kl) = self.loss_terms_per_image(x, out);
        (recon.sum(Kind::Float), kl.sum(Kind::Float))
    }

    /// `n` images in [0, 1] decoded from prior draws `z ~ N(0, I)` seeded by `seed`
    /// (without gradients; the device is the model's).
    pub fn sample(&self, n: i64, seed: u64) -> Tensor {
        let device = self.fc_mu.ws.device();
        let z = seeded_normal(&[n, self.config.latent_dim], seed, device);
        let modes = GroupModes::all(self.groups.len(), false);
        tch::no_grad(|| self.to_images(&self.decode(&z, &modes)))
    }

    /// Writes `config.json` and `model.safetensors` into `dir`, both atomically.
    pub fn save_pretrained(&self, vs: &nn::VarStore, dir: &Path) -> Result<(), ModelError> {
        crate::config_file::write_model_dir(dir, &self.config, vs)
    }

    /// Loads a `model.safetensors` written by [`ConvVae::save_pretrained`]. Every variable must
    /// be present with its shape; otherwise nothing is loaded and the error lists what differs.
    pub fn load_pretrained(
        &self,
        vs: &nn::VarStore,
        path: &Path,
    ) -> Result<LoadReport, ModelError> {
        let names = NameMap {
            rename: &|name| Some(name.to_string()),
            may_be_missing: &|_| false,
        };
        load_into(&vs.variables(), crate::st::read(path)?, &names, path)
    }
}

fn layer_groups(blocks: usize) -> Vec<LayerGroup> {
    let mut groups: Vec<LayerGroup> = (0..blocks)
        .map(|i| LayerGroup::new(format!("encoder.{i}"), &[&format!("encoder.{i}.")]))
        .collect();
    groups.push(LayerGroup::new("latent", &["fc_mu.", "fc_logvar."]));
    groups.push(LayerGroup::new("decoder_input", &["decoder_input."]));
    groups.extend(
        (0..blocks).map(|i| LayerGroup::new(format!("decoder.{i}"), &[&format!("decoder.{i}.")])),
    );
    groups
}
