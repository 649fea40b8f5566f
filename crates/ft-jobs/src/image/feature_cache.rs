//! The cached-feature linear probe.
//!
//! When every backbone group is frozen (in eval mode, so BatchNorm and dropout are fixed), the
//! backbone maps an image to the same features in every epoch as long as the image's pixels
//! are the same. So the backbone runs once per image (or once per precomputed augmented view)
//! and the head trains on the stored features: E epochs cost one backbone pass instead of E.
//!
//! With deterministic transforms this is exactly the uncached loop (same batches, same head
//! dropout draws). With random transforms, `views` augmented views are computed up front and
//! each epoch draws one per image, which is a weaker augmentation than a fresh crop per epoch;
//! the run log says so.
use anyhow::{bail, Context, Result};
use ft_data::{BatchContext, BatchSource, HostBatch, HostTensor, Loader, Sampler};
use ft_models::vision::VisionModel;
use ft_models::GroupModes;
use ft_train::batch::TensorBatch;
use std::collections::BTreeMap;
use std::sync::Arc;
use tch::{Device, Kind};

/// Backbone features of a data set, `views` per image, served as `features` + `labels` batches.
#[derive(Debug, Clone)]
pub struct FeatureSource {
    dim: usize,
    views: usize,
    /// `[view][row][dim]`, flattened.
    features: Vec<f32>,
    labels: Vec<i64>,
}

impl FeatureSource {
    /// Runs the backbone of `model` (every group in eval mode, no gradients) over `images`
    /// (a source yielding `pixel_values` and `labels`) `views` times, view `v` being the
    /// source's epoch `v` with the loader's `seed`.
    pub fn extract(
        model: &VisionModel,
        images: Arc<dyn BatchSource>,
        views: usize,
        seed: u64,
        batch_size: usize,
        device: Device,
    ) -> Result<FeatureSource> {
        if views == 0 {
            bail!("the feature cache needs at least one view per image");
        }
        let rows = images.len();
        let dim = model.num_features() as usize;
        let modes = GroupModes::all(model.layer_groups().len(), false);
        let loader = Loader::from_source(images, Sampler::Sequential, batch_size)?.seed(seed);
        let mut features = vec![0f32; views * rows * dim];
        let mut labels = vec![-1i64; rows];
        // How many views reached each row: an unreadable image skipped by the source
        // (`skip_bad_images`) is missing from every view.
        let mut present = vec![0usize; rows];
        for view in 0..views {
            for host in loader.epoch(view as u64) {
                let host = host?;
                if host.batch_size() == 0 {
                    continue;
                }
                let batch = TensorBatch::from_host(&host, device)?;
                let pixels = batch.require("pixel_values")?;
                let f = tch::no_grad(|| model.features(pixels, &modes))
                    .to_device(Device::Cpu)
                    .to_kind(Kind::Float)
                    .contiguous();
                let f = Vec::<f32>::try_from(f.view([-1]))?;
                let y = host
                    .i64s("labels")
                    .context("image batches carry `labels`")?;
                for (k, &row) in host.rows.iter().enumerate() {
                    let at = (view * rows + row) * dim;
                    features[at..at + dim].copy_from_slice(&f[k * dim..(k + 1) * dim]);
                    labels[row] = y[k];
                    present[row] += 1;
                }
            }
        }
        let kept: Vec<usize> = (0..rows).filter(|&r| present[r] == views).collect();
        if kept.is_empty() {
            bail!("the feature cache got no readable image");
        }
        if kept.len() < rows {
            // The source already counted the skipped images for the run summary; the cache
            // holds the readable ones only, so no batch sees a hole.
            let mut packed = Vec::with_capacity(views * kept.len() * dim);
            for view in 0..views {
                for &row in &kept {
                    let at = (view * rows + row) * dim;
                    packed.extend_from_slice(&features[at..at + dim]);
                }
            }
            features = packed;
            labels = kept.iter().map(|&r| labels[r]).collect();
        }
        Ok(FeatureSource {
            dim,
            views,
            features,
            labels,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn views(&self) -> usize {
        self.views
    }

    /// Bytes held.
    pub fn size_bytes(&self) -> usize {
        self.features.len() * std::mem::size_of::<f32>()
    }

    /// The view row `row` uses in `epoch`: one draw per (seed, epoch, row), so it does not
    /// depend on batching or resume.
    fn view_of(&self, ctx: &BatchContext, row: usize) -> usize {
        if self.views == 1 {
            return 0;
        }
        let mut x = ctx.seed ^ ctx.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (row as u64) << 1;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((x ^ (x >> 31)) % self.views as u64) as usize
    }
}

impl BatchSource for FeatureSource {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn collate(&self, rows: &[usize], ctx: BatchContext) -> ft_data::error::Result<HostBatch> {
        let n = self.labels.len();
        let mut data = Vec::with_capacity(rows.len() * self.dim);
        for &row in rows {
            let at = (self.view_of(&ctx, row) * n + row) * self.dim;
            data.extend_from_slice(&self.features[at..at + self.dim]);
        }
        let labels = rows.iter().map(|&r| self.labels[r]).collect();
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "features".to_string(),
            HostTensor::f32(vec![rows.len(), self.dim], data),
        );
        tensors.insert(
            "labels".to_string(),
            HostTensor::i64(vec![rows.len()], labels),
        );
        Ok(HostBatch {
            tensors,
            index: ctx.index,
            rows: rows.to_vec(),
            examples: rows.to_vec(),
            word_ids: None,
        })
    }
}
