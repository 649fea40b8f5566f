//! The image fine-tuning job end to end, as a library call (the guide's Example 2): read the
//! images, build a pretrained vision model with a fresh head, freeze what the strategy says,
//! train (on cached backbone features for a linear probe), test, and leave a run directory that
//! `ft eval` / `ft predict` and torchvision can load.
use crate::config::{DataConfig, RunConfig, TaskKind};
use crate::image::feature_cache::FeatureSource;
use crate::image::model::{resolve_vision_model, transforms, with_classes};
use crate::image::task::{ImageInput, ImageTask};
use crate::image_data::load_image_splits;
use crate::job::{Extras, Job, JobContext, Loaders, Model, Prepared};
use anyhow::{bail, Result};
use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{BatchSource, Loader, Sampler};
use ft_models::vision::VisionModel;
use ft_models::Pretrained;
use ft_optim::loss::LossOptions;
use ft_train::task::Task as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// An image classification job (ResNet / EfficientNet).
#[derive(Default)]
pub struct ImageJob {
    /// The image sources, whose skipped (undecodable) images are reported at the end.
    sources: Vec<Arc<ImageSource>>,
    feature_cache_seconds: Option<f64>,
}

/// Whether the backbone stays frozen for the whole run, so cached features are valid.
fn backbone_always_frozen(config: &RunConfig) -> bool {
    config.training.freeze_strategy == ft_train::FreezeStrategyKind::LinearProbe
        && config.training.unfreeze.is_empty()
}

fn image_source(
    dataset: ImageDataset,
    transform: &Transform,
    data: &DataConfig,
) -> Arc<ImageSource> {
    Arc::new(
        ImageSource::new(Arc::new(dataset), transform.clone())
            .skip_bad_images(data.skip_bad_images),
    )
}

impl Job for ImageJob {
    type Task = ImageTask;

    fn prepare(&mut self, ctx: &JobContext) -> Result<Prepared<ImageTask>> {
        let config = ctx.config;
        if config.task != TaskKind::ImageCls {
            bail!("the image job runs image-cls runs, not {:?}", config.task);
        }
        let args = &config.training;
        let device = ctx.device;
        let start = resolve_vision_model(&config.model)?;
        let (train, validation, test) = load_image_splits(config)?;
        if train.is_empty() {
            bail!("the training split is empty");
        }
        let labels: Vec<String> = train.classes().to_vec();
        check_classes(config, &labels, &validation, &test)?;
        ft_train::task::check_metric_for_best_model(
            args,
            &ft_train::task::classification_metric_names(labels.len()),
        )?;
        let class_weights = match &args.class_weights {
            None => None,
            Some(spec) => match ft_train::optim_setup::class_weights_for(spec, &labels)? {
                Some(w) => Some(w),
                None => {
                    let mut counts = vec![0usize; labels.len()];
                    for i in 0..train.len() {
                        counts[train.label(i)] += 1;
                    }
                    Some(ft_optim::loss::balanced_class_weights(&counts)?)
                }
            },
        };
        ctx.say(&format!(
            "data: {} train / {} validation / {} test images, classes: {}",
            train.len(),
            validation.len(),
            test.len(),
            labels.join(", ")
        ));

        let vs = ctx.var_store();
        let model_config = with_classes(&start.config, &labels);
        let (model, load_report) = match &start.weights {
            Some(_) => {
                let (model, report) =
                    VisionModel::start_fine_tuning(&vs, &start.dir, &model_config, ())?;
                (model, Some(report.to_string()))
            }
            None => {
                ctx.say(&format!(
                    "weights: none in {}: training from a random initialisation",
                    start.dir.display()
                ));
                (VisionModel::new(&vs.root(), &model_config)?, None)
            }
        };
        let (train_tf, eval_tf) = transforms(&config.data, &model)?;
        // The resolved pipelines go into run_config.json, so eval/predict rebuild exactly these.
        let mut resolved = config.clone();
        resolved.data.train_transforms = Some(serde_json::from_str(&train_tf.to_json())?);
        resolved.data.eval_transforms = Some(serde_json::from_str(&eval_tf.to_json())?);

        let use_cache = config
            .data
            .feature_cache
            .unwrap_or_else(|| backbone_always_frozen(config));
        if use_cache && !backbone_always_frozen(config) {
            bail!(
            "feature_cache needs a backbone that stays frozen (freeze_strategy linear-probe, no unfreeze patterns); \
             this run trains backbone layers"
        );
        }
        let train_images = image_source(train, &train_tf, &config.data);
        let eval_images =
            |d: ImageDataset| (!d.is_empty()).then(|| image_source(d, &eval_tf, &config.data));
        let (validation_images, test_images) = (eval_images(validation), eval_images(test));
        let mut task = ImageTask::new(
            model,
            labels.clone(),
            LossOptions {
                label_smoothing: args.label_smoothing_factor,
                class_weights,
            },
        );
        task.loss_options.check(labels.len())?;
        task.model.set_labels(&labels)?;
        // A freezing plan that cannot apply is refused before features are computed or training.
        ft_train::optim_setup::freeze_plan(args, task.layer_groups())?;

        let eval_loader = |s: Option<Arc<dyn BatchSource>>| -> Result<Option<Loader>> {
            s.map(|s| {
                loader(
                    s,
                    Sampler::Sequential,
                    args.per_device_eval_batch_size,
                    args.seed,
                )
            })
            .transpose()
        };
        let (train_loader, validation_loader, test_loader) = if use_cache {
            let views = if train_tf.is_deterministic() {
                1
            } else {
                config.data.cache_views.unwrap_or(1)
            };
            if train_tf.is_deterministic() {
                ctx.say(
                "feature cache: the backbone is frozen and the training transforms are deterministic, \
                 so its features are computed once and the head trains on them (same result as \
                 running the backbone every epoch; --no-feature-cache turns this off)",
            );
            } else {
                ctx.say(&format!(
                "feature cache: the backbone is frozen, so its features are computed up front; the \
                 training transforms are random, so {views} augmented view(s) per image are \
                 precomputed and each epoch draws one of them — weaker augmentation than a fresh \
                 crop every epoch (--cache-views N for more views, --no-feature-cache for fresh \
                 augmentation at full cost)"
            ));
            }
            let t = Instant::now();
            let extract =
                |images: &Arc<ImageSource>, views: usize| -> Result<Arc<dyn BatchSource>> {
                    Ok(Arc::new(FeatureSource::extract(
                        &task.model,
                        images.clone(),
                        views,
                        args.seed,
                        args.per_device_eval_batch_size,
                        device,
                    )?))
                };
            let train_features = extract(&train_images, views)?;
            let validation_features = validation_images
                .as_ref()
                .map(|i| extract(i, 1))
                .transpose()?;
            let test_features = test_images.as_ref().map(|i| extract(i, 1)).transpose()?;
            let secs = t.elapsed().as_secs_f64();
            ctx.say(&format!("feature cache: computed in {secs:.1} s"));
            self.feature_cache_seconds = Some(secs);
            task.input = ImageInput::Features;
            (
                loader(
                    train_features,
                    Sampler::Random,
                    args.per_device_train_batch_size,
                    args.seed,
                )?,
                eval_loader(validation_features)?,
                eval_loader(test_features)?,
            )
        } else {
            let as_source = |s: &Arc<ImageSource>| -> Arc<dyn BatchSource> { s.clone() };
            (
                loader(
                    as_source(&train_images),
                    Sampler::Random,
                    args.per_device_train_batch_size,
                    args.seed,
                )?,
                eval_loader(validation_images.as_ref().map(as_source))?,
                eval_loader(test_images.as_ref().map(as_source))?,
            )
        };

        self.sources = std::iter::once(train_images)
            .chain(validation_images)
            .chain(test_images)
            .collect();
        Ok(Prepared {
            model: Model {
                vs,
                task,
                pretrained: start.weights.is_some(),
            },
            loaders: Loaders {
                train: train_loader,
                validation: validation_loader,
                test: test_loader,
            },
            resolved,
            source: start.dir,
            labels: Some(labels),
            load_report,
            comparison: None,
        })
    }

    /// Reports the images skipped as unreadable (with `skip_bad_images`) and the feature cache's
    /// cost.
    fn finish(&mut self, ctx: &JobContext, _model: &Model<ImageTask>) -> Result<Extras> {
        let skipped: Vec<PathBuf> = self.sources.iter().flat_map(|s| s.skipped()).collect();
        if !skipped.is_empty() {
            ctx.say(&format!(
                "skipped {} unreadable image(s) (skip_bad_images), e.g. {}",
                skipped.len(),
                skipped[0].display()
            ));
        }
        let mut extras = Extras::new();
        extras.insert("skipped_images".into(), serde_json::to_value(&skipped)?);
        extras.insert(
            "feature_cache_seconds".into(),
            serde_json::to_value(self.feature_cache_seconds)?,
        );
        Ok(extras)
    }
}

/// An image classifier needs two classes or more, and its validation and test images must use
/// the training classes in the same order (or the first of them): their label ids index the
/// same outputs. (Separate
/// folders with other sub-folders would otherwise be scored against the wrong class names.)
fn check_classes(
    config: &RunConfig,
    labels: &[String],
    validation: &ImageDataset,
    test: &ImageDataset,
) -> Result<()> {
    let data = &config.data;
    if labels.len() < 2 {
        bail!(
            "the training images of {} have one class only ({}): a classifier needs at least \
             two (check the class sub-folders or `classes`)",
            data.train_file.display(),
            labels
                .first()
                .map(|l| format!("`{l}`"))
                .unwrap_or_else(|| "none".into())
        );
    }
    for (split, d, file) in [
        ("validation", validation, &data.validation_file),
        ("test", test, &data.test_file),
    ] {
        // Ids are positions in the class list: the same class list, or a prefix of it (a
        // test set without the last class), means the same ids.
        if d.is_empty() || labels.starts_with(d.classes()) {
            continue;
        }
        let unseen: Vec<&str> = d
            .classes()
            .iter()
            .filter(|c| !labels.contains(c))
            .map(String::as_str)
            .collect();
        let source = file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| data.train_file.display().to_string());
        bail!(
            "the {split} images of {source} have the classes {} but the training images {}{}: \
             give both the same class sub-folders, or `classes` to pick the common ones",
            d.classes().join(", "),
            labels.join(", "),
            if unseen.is_empty() {
                String::new()
            } else {
                format!(" (never in training: {})", unseen.join(", "))
            }
        );
    }
    Ok(())
}

fn loader(
    source: Arc<dyn BatchSource>,
    sampler: Sampler,
    batch_size: usize,
    seed: u64,
) -> Result<Loader> {
    Ok(Loader::from_source(source, sampler, batch_size)?.seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    /// A folder-per-class image root (the files are never decoded here).
    fn folder(root: &Path, classes: &[&str]) -> ImageDataset {
        for c in classes {
            std::fs::create_dir_all(root.join(c)).unwrap();
            std::fs::write(root.join(c).join("a.png"), b"").unwrap();
        }
        ImageDataset::folder(root).unwrap()
    }

    #[test]
    fn one_class_and_mismatched_class_folders_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config: RunConfig = serde_json::from_value(json!({
            "task": "image-cls", "model": "resnet18",
            "data": {"train_file": "pets/train", "validation_file": "pets/val"}
        }))
        .unwrap();
        let train = folder(&tmp.path().join("train"), &["cat", "dog"]);
        let labels = train.classes().to_vec();
        let empty = train.subset_seeded(0, 0).unwrap();

        let one = folder(&tmp.path().join("one"), &["cat"]);
        let e = check_classes(&config, one.classes(), &empty, &empty)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the training images of pets/train have one class only (`cat`)"),
            "{e}"
        );

        // The same classes, or the first of them (same ids), are fine.
        check_classes(&config, &labels, &train, &one).unwrap();
        let fox = folder(&tmp.path().join("fox"), &["cat", "dog", "fox"]);
        let e = check_classes(&config, &labels, &fox, &empty)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the validation images of pets/val have the classes cat, dog, fox but the training images cat, dog (never in training: fox)"),
            "{e}"
        );
        // `dog` alone would be id 0, which the model reads as `cat`.
        let dog = folder(&tmp.path().join("dog"), &["dog"]);
        config.data.test_file = Some("pets/test".into());
        let e = check_classes(&config, &labels, &empty, &dog)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the test images of pets/test have the classes dog"),
            "{e}"
        );
    }
}
