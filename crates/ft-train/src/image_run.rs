//! The image fine-tuning job end to end, as a library call (the guide's Example 2): read the
//! images, build a pretrained vision model with a fresh head, freeze what the strategy says,
//! train (on cached backbone features for a linear probe), test, and leave a run directory that
//! `ft eval` / `ft predict` and torchvision can load.
use crate::feature_cache::FeatureSource;
use crate::image_task::{ImageInput, ImageTask};
use crate::run_config::{DataConfig, RunConfig, TaskKind};
use crate::task::Task as _;
use crate::text_run::{device, resolve_data_file};
use crate::trainer::{summarize, TrainOutcome, Trainer};
use crate::EvalResult;
use anyhow::{bail, Context, Result};
use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{BatchSource, Loader, Sampler};
use ft_models::vision::{EfficientNetConfig, ResNetConfig, VisionConfig, VisionModel};
use ft_optim::loss::LossOptions;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::nn::VarStore;

/// What [`run_image`] returns.
pub struct ImageRunOutcome {
    pub train: TrainOutcome,
    pub test: Option<EvalResult>,
    pub output_dir: PathBuf,
    /// Images skipped as undecodable (with `skip_bad_images`).
    pub skipped_images: Vec<PathBuf>,
    /// Seconds spent computing cached features, when the feature cache was used.
    pub feature_cache_seconds: Option<f64>,
}

/// A vision model to start from: its architecture, and the weights file if there is one.
pub struct VisionStart {
    pub config: VisionConfig,
    pub weights: Option<PathBuf>,
    /// The directory the model came from (for provenance).
    pub dir: PathBuf,
}

/// Resolves `spec`: a directory with `config.json` (an ft run or a saved model), or a fetched
/// cache model (`resnet50`, `efficientnet-lite0`; torchvision/timm checkpoints have no config,
/// so the architecture comes from the name).
pub fn resolve_vision_model(spec: &str) -> Result<VisionStart> {
    let dir = crate::text_run::resolve_dir(spec)?;
    // An ft run (or a model saved by ft) says its architecture in `model_type`. timm's own
    // config.json (the `resnet50` upstream asset) names it in `architecture` instead, and
    // torchvision writes none; the directory name is the last resort.
    let path = dir.join("config.json");
    let json: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let ours = json
        .as_ref()
        .and_then(|v| v.get("model_type"))
        .is_some_and(|t| t == "resnet" || t == "efficientnet_lite");
    let config = if ours {
        VisionConfig::from_dir(&dir)?
    } else {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = json
            .as_ref()
            .and_then(|v| v.get("architecture"))
            .and_then(|a| a.as_str())
            .map(str::to_lowercase)
            .unwrap_or(dir_name);
        architecture_from_name(&name).with_context(|| {
            format!(
                "{}: no ft config.json, and neither timm's `architecture` nor the folder name \
                 says the architecture (resnet18/34/50/101/152, efficientnet-lite0)",
                dir.display()
            )
        })?
    };
    let weights = dir.join("model.safetensors");
    Ok(VisionStart {
        config,
        weights: weights.is_file().then_some(weights),
        dir,
    })
}

/// The ImageNet (1000-class) architecture a name such as `resnet50`, `resnet50.tv_in1k` or
/// `efficientnet-lite0` stands for.
fn architecture_from_name(name: &str) -> Option<VisionConfig> {
    if let Some(rest) = name.strip_prefix("resnet") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        // `resnet50d` and other timm variants have another stem: not this architecture.
        let tail = &rest[digits.len()..];
        if tail.is_empty() || tail.starts_with('.') {
            return digits
                .parse()
                .ok()
                .map(|depth| VisionConfig::ResNet(ResNetConfig::new(depth, 1000)));
        }
        return None;
    }
    (name.starts_with("efficientnet-lite0") || name.starts_with("efficientnet_lite0"))
        .then(|| VisionConfig::EfficientNet(EfficientNetConfig::lite0(1000)))
}

/// `config` with a `n`-way head named `labels`.
fn with_classes(config: &VisionConfig, labels: &[String]) -> VisionConfig {
    let mut config = config.clone();
    match &mut config {
        VisionConfig::ResNet(c) => c.num_classes = labels.len() as i64,
        VisionConfig::EfficientNet(c) => c.num_classes = labels.len() as i64,
    }
    config.set_labels(labels);
    config
}

fn read_dataset(
    data: &DataConfig,
    file: &Path,
    labels_file: Option<&PathBuf>,
    classes: Option<&Vec<String>>,
) -> Result<ImageDataset> {
    let path = resolve_data_file(data, file)?;
    let format = data.format.clone().unwrap_or_else(|| {
        if path.is_dir() {
            "folder".into()
        } else if path.to_string_lossy().contains("idx3-ubyte") {
            "idx".into()
        } else {
            "pixel-csv".into()
        }
    });
    let dataset = match format.as_str() {
        "folder" => ImageDataset::folder(&path)?,
        "idx" => {
            let labels = labels_file.with_context(|| {
                format!(
                    "{} is an IDX image file: give its labels file (labels_file / --labels-file)",
                    path.display()
                )
            })?;
            let labels = resolve_data_file(data, labels)?;
            let names: Vec<&str> = ft_data::idx::FASHION_MNIST_CLASSES.to_vec();
            ImageDataset::idx(&path, &labels, &names)?
        }
        // sklearn's digits: 8x8 pixels valued 0..16, the class in the last column.
        "pixel-csv" => ImageDataset::pixel_csv(&path, 8, 16.0)?,
        other => bail!("image data format `{other}` is not one of folder, idx, pixel-csv"),
    };
    Ok(match classes {
        Some(classes) => {
            let names: Vec<&str> = classes.iter().map(String::as_str).collect();
            dataset
                .filter_classes(&names)
                .with_context(|| format!("classes of {}", path.display()))?
        }
        None => dataset,
    })
}

/// Train / validation / test images as the config says: separate files where given, otherwise
/// seeded disjoint parts of `train_file`.
pub fn load_image_splits(config: &RunConfig) -> Result<(ImageDataset, ImageDataset, ImageDataset)> {
    let data = &config.data;
    let seed = data.split_seed.unwrap_or(config.training.seed);
    let all = read_dataset(
        data,
        &data.train_file,
        data.labels_file.as_ref(),
        data.classes.as_ref(),
    )?;
    let separate = |file: &Option<PathBuf>,
                    labels: &Option<PathBuf>,
                    size: Option<usize>,
                    classes: Option<&Vec<String>>| {
        file.as_ref()
            .map(|f| -> Result<ImageDataset> {
                let d = read_dataset(data, f, labels.as_ref(), classes)?;
                Ok(match size {
                    Some(n) if n < d.len() => d.subset_seeded(n, seed)?,
                    _ => d,
                })
            })
            .transpose()
    };
    let validation_file = separate(
        &data.validation_file,
        &data.validation_labels_file,
        data.validation_size,
        data.classes.as_ref(),
    )?;
    let test_file = separate(
        &data.test_file,
        &data.test_labels_file,
        data.test_size,
        data.test_classes.as_ref().or(data.classes.as_ref()),
    )?;
    let n = all.len();
    let frac = |f: Option<f64>, default: f64| (n as f64 * f.unwrap_or(default)).round() as usize;
    let validation_n = match validation_file {
        Some(_) => 0,
        None => data
            .validation_size
            .unwrap_or_else(|| frac(data.validation_fraction, 0.1)),
    };
    let test_n = match test_file {
        Some(_) => 0,
        None => data
            .test_size
            .unwrap_or_else(|| frac(data.test_fraction, 0.1)),
    };
    let train_n = data
        .train_size
        .unwrap_or_else(|| n.saturating_sub(validation_n + test_n));
    let mut parts = all
        .split(&[train_n, validation_n, test_n], seed)?
        .into_iter();
    let (train, validation, test) = (
        parts.next().expect("three parts"),
        parts.next().expect("three parts"),
        parts.next().expect("three parts"),
    );
    Ok((
        train,
        validation_file.unwrap_or(validation),
        test_file.unwrap_or(test),
    ))
}

/// The train and eval pipelines: the config's, or torchvision's ImageNet presets with the
/// model's normalisation (grey images are replicated to RGB first).
pub fn transforms(data: &DataConfig, model: &VisionModel) -> Result<(Transform, Transform)> {
    let pre = model.preprocessing();
    let crop = data.image_size.unwrap_or(pre.crop as usize);
    let resize = if data.image_size.is_some() {
        crop * 8 / 7
    } else {
        pre.resize as usize
    };
    let normalize = json!({"normalize": {"mean": pre.mean, "std": pre.std}});
    let train = match &data.train_transforms {
        Some(v) => v.clone(),
        None => json!([
            {"grayscale_to_rgb": {}},
            {"random_resized_crop": {"size": crop}},
            {"random_horizontal_flip": {"p": 0.5}},
            {"to_tensor": {}},
            normalize
        ]),
    };
    let eval = match &data.eval_transforms {
        Some(v) => v.clone(),
        None => json!([
            {"grayscale_to_rgb": {}},
            {"resize": resize},
            {"center_crop": crop},
            {"to_tensor": {}},
            normalize
        ]),
    };
    let parse = |v: &Value, which: &str| {
        Transform::from_json(&v.to_string()).with_context(|| format!("{which}_transforms"))
    };
    Ok((parse(&train, "train")?, parse(&eval, "eval")?))
}

/// Whether the backbone stays frozen for the whole run, so cached features are valid.
fn backbone_always_frozen(config: &RunConfig) -> bool {
    config.training.freeze_strategy == "linear-probe" && config.training.unfreeze.is_empty()
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

/// The whole job; see the module docs.
pub fn run_image(config: &RunConfig) -> Result<ImageRunOutcome> {
    if config.task != TaskKind::ImageCls {
        bail!("run_image runs image-cls runs, not {:?}", config.task);
    }
    config.validate().map_err(anyhow::Error::msg)?;
    let args = &config.training;
    let device = device(&args.device)?;
    let out = args.output_dir.clone();
    let start = resolve_vision_model(&config.model)?;
    let (train, validation, test) = load_image_splits(config)?;
    if train.is_empty() {
        bail!("the training split is empty");
    }
    let labels: Vec<String> = train.classes().to_vec();
    check_classes(config, &labels, &validation, &test)?;
    crate::task::check_metric_for_best_model(
        args,
        &crate::task::classification_metric_names(labels.len()),
    )?;
    let class_weights = match &args.class_weights {
        None => None,
        Some(spec) => match crate::optim_setup::class_weights_for(spec, &labels)? {
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
    println!(
        "data: {} train / {} validation / {} test images, classes: {}",
        train.len(),
        validation.len(),
        test.len(),
        labels.join(", ")
    );

    tch::manual_seed(args.seed as i64);
    let vs = VarStore::new(device);
    let model = VisionModel::new(&vs.root(), &with_classes(&start.config, &labels))?;
    match &start.weights {
        Some(w) => {
            let report = model.load_pretrained(&vs, w)?;
            if !args.quiet {
                println!("weights: {report}");
            }
        }
        None => println!(
            "weights: none in {}: training from a random initialisation",
            start.dir.display()
        ),
    }
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
    crate::optim_setup::freeze_plan(args, task.layer_groups())?;

    let mut cache_seconds = None;
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
            println!(
                "feature cache: the backbone is frozen and the training transforms are deterministic, \
                 so its features are computed once and the head trains on them (same result as \
                 running the backbone every epoch; --no-feature-cache turns this off)"
            );
        } else {
            println!(
                "feature cache: the backbone is frozen, so its features are computed up front; the \
                 training transforms are random, so {views} augmented view(s) per image are \
                 precomputed and each epoch draws one of them — weaker augmentation than a fresh \
                 crop every epoch (--cache-views N for more views, --no-feature-cache for fresh \
                 augmentation at full cost)"
            );
        }
        let t = Instant::now();
        let extract = |images: &Arc<ImageSource>, views: usize| -> Result<Arc<dyn BatchSource>> {
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
        println!("feature cache: computed in {secs:.1} s");
        cache_seconds = Some(secs);
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

    let mut trainer = Trainer::new(args.clone(), &task, &vs)?;
    let outcome = trainer.fit(&train_loader, validation_loader.as_ref())?;
    let test_result = test_loader
        .as_ref()
        .map(|l| trainer.evaluate(l))
        .transpose()?;
    if let Some(r) = &test_result {
        println!("test: {}", summarize(r));
    }
    let mut skipped = train_images.skipped();
    for s in [&validation_images, &test_images].into_iter().flatten() {
        skipped.extend(s.skipped());
    }
    if !skipped.is_empty() {
        println!(
            "skipped {} unreadable image(s) (skip_bad_images), e.g. {}",
            skipped.len(),
            skipped[0].display()
        );
    }
    crate::run_files::write_outcome(
        &resolved,
        &start.dir,
        &out,
        &outcome,
        test_result.as_ref(),
        Some(&labels),
    )?;
    Ok(ImageRunOutcome {
        train: outcome,
        test: test_result,
        output_dir: out,
        skipped_images: skipped,
        feature_cache_seconds: cache_seconds,
    })
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

    #[test]
    fn architectures_come_from_ft_timm_or_folder_names() {
        let depth = |n: &str| match architecture_from_name(n) {
            Some(VisionConfig::ResNet(c)) => Some(c.depth),
            _ => None,
        };
        assert_eq!(depth("resnet50"), Some(50));
        assert_eq!(depth("resnet50.tv_in1k"), Some(50));
        assert_eq!(depth("resnet18"), Some(18));
        assert_eq!(depth("resnet50d"), None);
        assert!(matches!(
            architecture_from_name("efficientnet-lite0"),
            Some(VisionConfig::EfficientNet(_))
        ));
        assert!(architecture_from_name("vit_base").is_none());

        // timm's config.json: `architecture`, no `model_type`.
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("weights");
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(
            model.join("config.json"),
            r#"{"architecture": "resnet50.tv_in1k", "num_classes": 1000, "num_features": 2048}"#,
        )
        .unwrap();
        let start = resolve_vision_model(model.to_str().unwrap()).unwrap();
        assert!(matches!(start.config, VisionConfig::ResNet(ref c) if c.depth == 50));
        assert!(start.weights.is_none());
        std::fs::write(model.join("config.json"), r#"{"architecture": "convnext"}"#).unwrap();
        let err = resolve_vision_model(model.to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("weights") && err.contains("resnet18"), "{err}");
    }

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
