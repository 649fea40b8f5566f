//! [`ImageSource`]: the [`BatchSource`] that decodes and augments images for a [`crate::Loader`].
//!
//! The loader's prefetch thread asks for one batch at a time; the batch's images are decoded
//! and transformed in parallel on rayon's pool, each with the generator of
//! `(seed, epoch, row)`, so the pixels do not depend on the thread count. Memory is bounded by
//! the loader's prefetch depth: nothing is decoded ahead of the batches in flight unless
//! [`ImageSource::cache_decoded`] is set.

use super::dataset::ImageDataset;
use super::pixels::Pixels;
use super::transform::{Chw, Transform};
use crate::batch::{HostBatch, HostTensor};
use crate::error::{DataError, Result};
use crate::loader::{BatchContext, BatchSource};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Images + labels of an [`ImageDataset`], transformed per epoch; see the module docs.
///
/// Batches hold `pixel_values` (`f32 [N, C, H, W]`) and `labels` (`i64 [N]`). With
/// [`ImageSource::skip_bad_images`], a batch can hold fewer rows than asked for (its `rows`
/// say which), or none at all when every image in it was bad: callers skip empty batches.
#[derive(Debug)]
pub struct ImageSource {
    dataset: Arc<ImageDataset>,
    transform: Transform,
    skip_bad: bool,
    /// One slot per row when decoded images are cached.
    cache: Option<Vec<OnceLock<Arc<Pixels>>>>,
    skipped: Mutex<BTreeSet<PathBuf>>,
}

impl ImageSource {
    /// Defaults: a bad image is an error; nothing cached.
    pub fn new(dataset: Arc<ImageDataset>, transform: Transform) -> Self {
        ImageSource {
            dataset,
            transform,
            skip_bad: false,
            cache: None,
            skipped: Mutex::new(BTreeSet::new()),
        }
    }

    /// `--skip-bad-images`: drop an image that cannot be decoded from its batch and remember
    /// its path ([`ImageSource::skipped`]) instead of failing.
    pub fn skip_bad_images(mut self, skip: bool) -> Self {
        self.skip_bad = skip;
        self
    }

    /// Keep every decoded image (before augmentation) in memory after its first use. Costs
    /// `width * height * 3` bytes per image; worth it for small sets trained for many epochs.
    pub fn cache_decoded(mut self, cache: bool) -> Self {
        self.cache = cache.then(|| (0..self.dataset.len()).map(|_| OnceLock::new()).collect());
        self
    }

    pub fn dataset(&self) -> &Arc<ImageDataset> {
        &self.dataset
    }

    pub fn transform(&self) -> &Transform {
        &self.transform
    }

    /// Images skipped so far as undecodable (each path once), for the run summary.
    pub fn skipped(&self) -> Vec<PathBuf> {
        self.skipped
            .lock()
            .expect("no panics while holding the lock")
            .iter()
            .cloned()
            .collect()
    }

    fn decode(&self, row: usize) -> Result<Arc<Pixels>> {
        match &self.cache {
            Some(slots) => {
                if let Some(p) = slots[row].get() {
                    return Ok(Arc::clone(p));
                }
                let p = Arc::new(self.dataset.load(row)?);
                Ok(Arc::clone(slots[row].get_or_init(|| p)))
            }
            None => Ok(Arc::new(self.dataset.load(row)?)),
        }
    }

    /// One row, transformed; `Ok(None)` when it is bad and skipping is on.
    fn row(&self, row: usize, ctx: BatchContext) -> Result<Option<Chw>> {
        if row >= self.dataset.len() {
            return Err(DataError::Invalid(format!(
                "row {row} out of range ({} images)",
                self.dataset.len()
            )));
        }
        let img = match self.decode(row) {
            Ok(img) => img,
            Err(e @ (DataError::BadImage { .. } | DataError::Io { .. })) if self.skip_bad => {
                drop(e);
                self.skipped
                    .lock()
                    .expect("no panics while holding the lock")
                    .insert(self.dataset.describe(row));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        // Without a cache we own the only reference, so this does not copy.
        let img = Arc::try_unwrap(img).unwrap_or_else(|shared| (*shared).clone());
        self.transform
            .apply_seeded(img, ctx.seed, ctx.epoch, row as u64)
            .map(Some)
            .map_err(|e| DataError::BadImage {
                path: self.dataset.describe(row),
                message: e.to_string(),
            })
    }
}

impl BatchSource for ImageSource {
    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn collate(&self, rows: &[usize], ctx: BatchContext) -> Result<HostBatch> {
        let done: Vec<Option<Chw>> = rows
            .par_iter()
            .map(|&r| self.row(r, ctx))
            .collect::<Result<_>>()?;
        let kept: Vec<(usize, Chw)> = rows
            .iter()
            .zip(done)
            .filter_map(|(&r, t)| t.map(|t| (r, t)))
            .collect();
        let shape = kept
            .first()
            .map(|(_, t)| [t.channels, t.height, t.width])
            .unwrap_or([0, 0, 0]);
        let per = shape.iter().product::<usize>();
        let mut pixels = Vec::with_capacity(per * kept.len());
        for (r, t) in &kept {
            if [t.channels, t.height, t.width] != shape {
                return Err(DataError::BadImage {
                    path: self.dataset.describe(*r),
                    message: format!(
                        "transformed to {}x{}x{} but the batch's first image is {}x{}x{}; \
                         end the transform with a fixed-size crop or resize",
                        t.channels, t.height, t.width, shape[0], shape[1], shape[2]
                    ),
                });
            }
            pixels.extend_from_slice(&t.data);
        }
        let n = kept.len();
        let labels = kept
            .iter()
            .map(|(r, _)| self.dataset.label(*r) as i64)
            .collect();
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "pixel_values".into(),
            HostTensor::f32(vec![n, shape[0], shape[1], shape[2]], pixels),
        );
        tensors.insert("labels".into(), HostTensor::i64(vec![n], labels));
        let rows: Vec<usize> = kept.iter().map(|(r, _)| *r).collect();
        Ok(HostBatch {
            tensors,
            index: ctx.index,
            examples: rows.clone(),
            rows,
            word_ids: None,
        })
    }
}
