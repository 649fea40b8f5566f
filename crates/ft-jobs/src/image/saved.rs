//! A finished image run opened again (`ft eval`, `ft predict`): its model, class names and the
//! evaluation pipeline it was trained with (from `run_config.json`).
use crate::config::{RunConfig, TaskKind};
use crate::image::model::transforms;
use crate::image::task::ImageTask;
use crate::image_data::load_image_splits;
use crate::saved::{Evaluated, InputKind, PredictInputs, SavedJob};
use anyhow::{bail, Context, Result};
use ft_data::vision::{ImageDataset, ImageSource, Pixels, Transform, IMAGE_EXTENSIONS};
use ft_data::{Loader, Sampler};
use ft_models::vision::VisionModel;
use ft_models::GroupModes;
use ft_models::Pretrained;
use ft_optim::loss::LossOptions;
use ft_train::EvalResult;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::VarStore;
use tch::Tensor;

pub struct SavedImageRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub labels: Vec<String>,
    task: ImageTask,
    vs: VarStore,
    eval_transform: Transform,
}

/// One image's prediction, as `ft predict` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePrediction {
    pub path: PathBuf,
    pub label: String,
    /// Probability of `label`.
    pub score: f64,
    pub probabilities: BTreeMap<String, f64>,
}

/// Whether a run directory holds an image model (its `run_config.json` says `image-cls`).
pub fn is_image_run(dir: &Path) -> bool {
    crate::run_files::is_run_of(dir, TaskKind::ImageCls)
}

impl SavedImageRun {
    /// Opens an image-cls run directory. A run of another kind, or a directory that is no run,
    /// is refused in one line naming what it is.
    pub fn open(dir: &Path, device: tch::Device) -> Result<SavedImageRun> {
        crate::saved::require_kind(dir, &[TaskKind::ImageCls], "an image-cls run")?;
        let config = crate::run_files::read_run_config(dir)?;
        let vs = VarStore::new(device);
        let (model, _) = VisionModel::open_saved(&vs, dir)?;
        let labels = model.config().labels().unwrap_or_default();
        let (_, eval_transform) = transforms(&config.data, &model)?;
        let task = ImageTask::new(model, labels.clone(), LossOptions::default());
        Ok(SavedImageRun {
            dir: dir.to_path_buf(),
            config,
            labels,
            task,
            vs,
            eval_transform,
        })
    }

    /// Evaluates on an image folder with the run's class sub-folders, or on the run's own test
    /// split.
    pub fn evaluate(&self, folder: Option<&Path>) -> Result<EvalResult> {
        let dataset = match folder {
            Some(f) => {
                let d = ImageDataset::folder(f)?;
                let names: Vec<&str> = self.labels.iter().map(String::as_str).collect();
                d.filter_classes(&names).with_context(|| {
                    format!(
                        "{} must have one sub-folder per class of the run",
                        f.display()
                    )
                })?
            }
            None => {
                let (_, _, test) = load_image_splits(&self.config)?;
                if test.is_empty() {
                    bail!("the run has no test split: pass a folder to evaluate on");
                }
                test
            }
        };
        let source = ImageSource::new(Arc::new(dataset), self.eval_transform.clone())
            .skip_bad_images(self.config.data.skip_bad_images);
        let loader = Loader::from_source(
            Arc::new(source),
            Sampler::Sequential,
            self.config.training.per_device_eval_batch_size,
        )?;
        crate::saved::evaluate_with(&self.task, &self.vs, &self.config, &self.dir, &loader)
    }

    /// Class probabilities for image files; a folder stands for every image under it.
    pub fn predict(&self, inputs: &[PathBuf]) -> Result<Vec<ImagePrediction>> {
        let mut paths = Vec::new();
        for input in inputs {
            if input.is_dir() {
                collect_images(input, &mut paths)?;
            } else {
                paths.push(input.clone());
            }
        }
        let modes = GroupModes::all(self.task.model.layer_groups().len(), false);
        let batch = self.config.training.per_device_eval_batch_size.max(1);
        let mut out = Vec::with_capacity(paths.len());
        let transform = &self.eval_transform;
        for chunk in paths.chunks(batch) {
            let images = chunk
                .par_iter()
                .map(|p| {
                    let pixels = Pixels::open_rgb(p)?;
                    Ok(transform.apply_seeded(pixels, 0, 0, 0)?)
                })
                .collect::<Result<Vec<_>>>()?;
            let (c, h, w) = (images[0].channels, images[0].height, images[0].width);
            let data: Vec<f32> = images.iter().flat_map(|i| i.data.iter().copied()).collect();
            let pixels = Tensor::from_slice(&data)
                .view([chunk.len() as i64, c as i64, h as i64, w as i64])
                .to_device(self.vs.device());
            let probs = tch::no_grad(|| self.task.model.forward(&pixels, &modes))
                .softmax(-1, tch::Kind::Float)
                .to_device(tch::Device::Cpu);
            let probs = Vec::<f32>::try_from(probs.view([-1]))?;
            let k = self.labels.len();
            for (i, path) in chunk.iter().enumerate() {
                let row = &probs[i * k..(i + 1) * k];
                let best = (0..k)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .expect("at least one class");
                out.push(ImagePrediction {
                    path: path.clone(),
                    label: self.labels[best].clone(),
                    score: row[best] as f64,
                    probabilities: self
                        .labels
                        .iter()
                        .zip(row)
                        .map(|(l, &p)| (l.clone(), p as f64))
                        .collect(),
                });
            }
        }
        Ok(out)
    }
}

/// Image files under `dir`, recursively, sorted.
fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
        {
            out.push(path);
        }
    }
    Ok(())
}

impl SavedJob for SavedImageRun {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn kind(&self) -> TaskKind {
        TaskKind::ImageCls
    }

    fn evaluate(&self, data: Option<&Path>) -> Result<Evaluated> {
        Ok(Evaluated {
            result: SavedImageRun::evaluate(self, data)?,
            labels: self.labels.clone(),
        })
    }

    fn predict_inputs(&self) -> Option<InputKind> {
        Some(InputKind::Images)
    }

    fn predict(&self, inputs: PredictInputs) -> Result<Vec<crate::saved::Prediction>> {
        let PredictInputs::Images(images) = inputs else {
            bail!(
                "{} is an image model: give image files or folders to predict",
                self.dir.display()
            );
        };
        Ok(SavedImageRun::predict(self, images)?
            .into_iter()
            .map(crate::saved::Prediction::Image)
            .collect())
    }
}
