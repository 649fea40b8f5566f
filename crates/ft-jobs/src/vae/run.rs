//! `ft train --task vae`: a convolutional VAE pretrained on one image set and fine-tuned on a
//! small set of a held-out class (the guide's section VI, VAE fine-tuning), as one library call.
//!
//! `model` is `scratch` (architecture from `model_config`, default the Fashion-MNIST VAE) or
//! the directory of an earlier VAE run. The test set is the held-out target data: its ELBO is
//! reported before and after training (and, with `compare_with_scratch`, for the same
//! architecture trained from scratch on the same data for the same steps).
use crate::compare::{fit_and_compare, write_results, Start};
use crate::config::{RunConfig, TaskKind};
use crate::image_data::load_image_splits;
use crate::resolve::device;
use crate::vae::task::{GridSettings, VaeTask};
use anyhow::{bail, Context, Result};
use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{BatchContext, BatchSource, Loader, Sampler};
use ft_models::vae::{ConvVae, VaeConfig};
use ft_train::TrainOutcome;
use std::path::PathBuf;
use std::sync::Arc;
use tch::nn::VarStore;
use tch::Tensor;

/// What [`run_vae`] returns.
pub struct VaeRunOutcome {
    pub train: TrainOutcome,
    /// `(model, held-out ELBO)`, as printed.
    pub table: Vec<(String, f64)>,
    pub output_dir: PathBuf,
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
    vae: &VaeConfig,
    weights: Option<&PathBuf>,
    device: tch::Device,
    grids: Option<GridSettings>,
    label: &str,
) -> Result<Start<VaeTask>> {
    let vs = VarStore::new(device);
    let model = ConvVae::new(&vs.root(), vae)?;
    if let Some(w) = weights {
        model.load_pretrained(&vs, w)?.require_complete(w)?;
    }
    let mut task = VaeTask::new(model);
    if let Some(g) = grids {
        task = task.with_grids(g);
    }
    Ok(Start {
        vs,
        task,
        label: label.into(),
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

pub fn run_vae(config: &RunConfig) -> Result<VaeRunOutcome> {
    if config.task != TaskKind::Vae {
        bail!("run_vae runs vae runs, not {:?}", config.task);
    }
    config.validate().map_err(anyhow::Error::msg)?;
    let args = &config.training;
    ft_train::task::check_metric_for_best_model(args, VaeTask::METRIC_NAMES)?;
    let device = device(args.device)?;
    let (vae, weights) = start_config(config)?;
    let (train, validation, test) = load_image_splits(config)?;
    println!(
        "data: {} train / {} validation / {} held-out test images (classes {} / test {})",
        train.len(),
        validation.len(),
        test.len(),
        train.classes().join(", "),
        test.classes().join(", ")
    );
    let transform = match &config.data.train_transforms {
        Some(v) => Transform::from_json(&v.to_string())?,
        None => Transform::from_json(r#"[{"to_tensor": {}}]"#)?,
    };
    let loader = |d: ImageDataset, sampler, bs| -> Result<Option<Loader>> {
        if d.is_empty() {
            return Ok(None);
        }
        let s: Arc<dyn BatchSource> = source(d, &transform);
        Ok(Some(Loader::from_source(s, sampler, bs)?.seed(args.seed)))
    };
    let test_source = (!test.is_empty()).then(|| source(test.clone(), &transform));
    let train_loader = loader(train, Sampler::Random, args.per_device_train_batch_size)?
        .context("the training split is empty")?;
    let validation_loader = loader(
        validation,
        Sampler::Sequential,
        args.per_device_eval_batch_size,
    )?;
    let test_loader = loader(test, Sampler::Sequential, args.per_device_eval_batch_size)?;

    let grids = |seed| -> Result<Option<GridSettings>> {
        Ok(match &test_source {
            Some(s) => Some(GridSettings {
                originals: first_images(s, 8, device)?,
                samples: 32,
                seed,
                cols: 8,
            }),
            None => None,
        })
    };
    tch::manual_seed(args.seed as i64);
    let label = if weights.is_some() {
        "pretrained"
    } else {
        "untrained"
    };
    let start = build(&vae, weights.as_ref(), device, grids(args.seed)?, label)?;
    let scratch = if config.compare_with_scratch && weights.is_some() {
        tch::manual_seed(args.seed as i64);
        Some(build(&vae, None, device, None, "untrained")?)
    } else {
        None
    };
    let compared = fit_and_compare(
        config,
        &start,
        scratch,
        &train_loader,
        validation_loader.as_ref(),
        test_loader.as_ref(),
        "elbo",
    )?;
    let out = args.output_dir.clone();
    start.task.write_grids(&out, "final")?;
    write_results(
        config,
        weights.as_deref(),
        &compared,
        "Held-out ELBO of the target images (nats per image, higher is better)",
        "ELBO",
    )?;
    println!(
        "grids: {} and {}",
        out.join("samples-final.png").display(),
        out.join("reconstructions-final.png").display()
    );
    Ok(VaeRunOutcome {
        train: compared.train,
        table: compared
            .rows
            .into_iter()
            .map(|r| (r.model, r.value))
            .collect(),
        output_dir: out,
    })
}
