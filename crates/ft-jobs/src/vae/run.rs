//! `ft train --task vae`: a convolutional VAE pretrained on one image set and fine-tuned on a
//! small set of a held-out class (the guide's section VI, VAE fine-tuning).
//!
//! `model` is `scratch` (architecture from `model_config`, default the Fashion-MNIST VAE) or
//! the directory of an earlier VAE run. The test set is the held-out target data: its ELBO is
//! reported before and after training (and, with `compare_with_scratch`, for the same
//! architecture trained from scratch on the same data for the same steps).
use crate::config::{RunConfig, TaskKind};
use crate::image_data::load_image_splits;
use crate::job::{Comparison, Extras, Job, JobContext, Loaders, Model, Prepared};
use crate::vae::hooks::VaeHooks;
use crate::vae::task::{GridSettings, VaeTask};
use anyhow::{bail, Context, Result};
use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{BatchContext, BatchSource, Loader, Sampler};
use ft_models::vae::{ConvVae, VaeConfig};
use ft_train::Callback;
use std::path::PathBuf;
use std::sync::Arc;
use tch::Tensor;

/// A VAE job: pretraining from scratch or fine-tuning an earlier VAE run.
#[derive(Default)]
pub struct VaeJob {
    /// The architecture, once resolved by [`Job::prepare`].
    vae: Option<VaeConfig>,
}

/// The architecture and, for a saved run, its weights.
fn start_config(config: &RunConfig) -> Result<(VaeConfig, Option<PathBuf>)> {
    if config.model == "scratch" {
        let vae = match &config.model_config {
            Some(v) => serde_json::from_value(v.clone()).context("model_config of the VAE")?,
            None => VaeConfig::fashion_mnist(),
        };
        return Ok((vae, None));
    }
    let dir = PathBuf::from(&config.model);
    if !dir.join("config.json").is_file() {
        bail!(
            "model `{}` is neither `scratch` nor a VAE run directory with config.json",
            config.model
        );
    }
    Ok((
        VaeConfig::from_dir(&dir)?,
        Some(dir.join("model.safetensors")),
    ))
}

fn build(
    ctx: &JobContext,
    vae: &VaeConfig,
    weights: Option<&PathBuf>,
    grids: Option<GridSettings>,
) -> Result<Model<VaeTask>> {
    let vs = ctx.var_store();
    let model: ConvVae = crate::job::whole_model(&vs, vae, weights.map(PathBuf::as_path))?;
    let mut task = VaeTask::new(model);
    if let Some(g) = grids {
        task = task.with_grids(g);
    }
    Ok(Model {
        vs,
        task,
        pretrained: weights.is_some(),
    })
}

fn source(dataset: ImageDataset, transform: &Transform) -> Arc<ImageSource> {
    Arc::new(ImageSource::new(Arc::new(dataset), transform.clone()))
}

/// The first `n` images of a source as one `[n, C, H, W]` tensor (the grids' originals).
fn first_images(source: &ImageSource, n: usize, device: tch::Device) -> Result<Tensor> {
    let rows: Vec<usize> = (0..n.min(source.len())).collect();
    let ctx = BatchContext {
        index: 0,
        epoch: 0,
        seed: 0,
    };
    let batch = source.collate(&rows, ctx)?;
    let t = ft_train::TensorBatch::from_host(&batch, device)?;
    Ok(t.require("pixel_values")?.shallow_clone())
}

/// The run's image pipeline (`train_transforms`, default plain `to_tensor`), used for every
/// split: the ELBO is measured on the images as the model sees them in training.
pub(crate) fn transform(config: &RunConfig) -> Result<Transform> {
    Ok(match &config.data.train_transforms {
        Some(v) => Transform::from_json(&v.to_string())?,
        None => Transform::from_json(r#"[{"to_tensor": {}}]"#)?,
    })
}

impl Job for VaeJob {
    type Task = VaeTask;

    fn prepare(&mut self, ctx: &JobContext) -> Result<Prepared<VaeTask>> {
        let config = ctx.config;
        if config.task != TaskKind::Vae {
            bail!("the vae job runs vae runs, not {:?}", config.task);
        }
        let args = &config.training;
        ft_train::task::check_metric_for_best_model(args, VaeTask::METRIC_NAMES)?;
        let (vae, weights) = start_config(config)?;
        let (train, validation, test) = load_image_splits(config)?;
        ctx.say(&format!(
            "data: {} train / {} validation / {} held-out test images (classes {} / test {})",
            train.len(),
            validation.len(),
            test.len(),
            train.classes().join(", "),
            test.classes().join(", ")
        ));
        let transform = transform(config)?;
        let loader = |d: ImageDataset, sampler, bs| -> Result<Option<Loader>> {
            if d.is_empty() {
                return Ok(None);
            }
            let s: Arc<dyn BatchSource> = source(d, &transform);
            Ok(Some(Loader::from_source(s, sampler, bs)?.seed(args.seed)))
        };
        // The grids show the first test images next to their reconstructions.
        let grids = match (!test.is_empty()).then(|| source(test.clone(), &transform)) {
            Some(s) => Some(GridSettings {
                originals: first_images(&s, 8, ctx.device)?,
                samples: 32,
                seed: args.seed,
                cols: 8,
            }),
            None => None,
        };
        let train_loader = loader(train, Sampler::Random, args.per_device_train_batch_size)?
            .context("the training split is empty")?;
        let validation_loader = loader(
            validation,
            Sampler::Sequential,
            args.per_device_eval_batch_size,
        )?;
        let test_loader = loader(test, Sampler::Sequential, args.per_device_eval_batch_size)?;
        let model = build(ctx, &vae, weights.as_ref(), grids)?;
        self.vae = Some(vae);
        let out = &args.output_dir;
        Ok(Prepared {
            model,
            loaders: Loaders {
                train: train_loader,
                validation: validation_loader,
                test: test_loader,
            },
            resolved: config.clone(),
            source: crate::job::start_source(weights.as_deref(), out),
            labels: None,
            load_report: None,
            comparison: Some(Comparison {
                metric: "elbo",
                column: "ELBO",
                title: "Held-out ELBO of the target images (nats per image, higher is better)",
            }),
        })
    }

    fn callbacks<'m>(
        &self,
        _ctx: &JobContext,
        model: &'m Model<VaeTask>,
    ) -> Vec<Box<dyn Callback + 'm>> {
        vec![Box::new(VaeHooks::new(&model.task))]
    }

    fn scratch(&self, ctx: &JobContext) -> Result<Option<Model<VaeTask>>> {
        let vae = self.vae.as_ref().context("prepare comes first")?;
        Ok(Some(build(ctx, vae, None, None)?))
    }

    /// The final sample and reconstruction grids.
    fn finish(&mut self, ctx: &JobContext, model: &Model<VaeTask>) -> Result<Extras> {
        let out = &ctx.config.training.output_dir;
        model.task.write_grids(out, "final")?;
        ctx.say(&format!(
            "grids: {} and {}",
            out.join("samples-final.png").display(),
            out.join("reconstructions-final.png").display()
        ));
        Ok(Extras::new())
    }
}
