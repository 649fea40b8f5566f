//! The cached-feature linear probe against the uncached loop: with a frozen backbone and
//! deterministic transforms, training the head on stored features must give the same head as
//! running the backbone every epoch (tolerance 1e-5), in less time.
use ft_jobs::RunConfig;
use ft_models::vision::{ResNetConfig, VisionModel};
use ft_tests::python_run;
use ft_train::reporter::silent;
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::Tensor;

fn config(images: &Path, model: &Path, out: &Path, cache: bool) -> RunConfig {
    let deterministic = json!([
        {"resize": 40}, {"center_crop": 32}, {"to_tensor": {}},
        {"normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
    ]);
    serde_json::from_value(json!({
        "task": "image-cls",
        "model": model,
        "data": {
            "train_file": images,
            "validation_fraction": 0.25,
            "test_fraction": 0.0,
            "skip_bad_images": false,
            "train_transforms": deterministic,
            "eval_transforms": deterministic,
            "feature_cache": cache
        },
        "training": {
            "output_dir": out,
            "freeze_strategy": "linear-probe",
            "optim": "adam",
            "learning_rate": 1e-2,
            "per_device_train_batch_size": 4,
            "per_device_eval_batch_size": 8,
            "num_train_epochs": 4,
            "eval_strategy": "epoch",
            "save_strategy": "no",
            "device": "cpu",
            "quiet": true,
            "seed": 7
        }
    }))
    .unwrap()
}

fn head(run: &Path) -> Vec<(String, Tensor)> {
    let mut t: Vec<(String, Tensor)> = ft_models::st::read(&run.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n.starts_with("fc."))
        .collect();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn cached_features_train_the_same_head_as_the_uncached_loop() {
    let _rng = ft_tests::torch_rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    python_run("image_fixture.py", &[tmp.path(), Path::new("--no-weights")]).unwrap();
    let images = tmp.path().join("images");
    // The fixture's deliberately corrupt file has no place in an equality test.
    std::fs::remove_file(images.join("cat/broken.jpg")).unwrap();
    // A seeded random ResNet-18 saved by ft (config.json + model.safetensors).
    let model_dir = tmp.path().join("resnet18");
    tch::manual_seed(3);
    let vs = VarStore::new(tch::Device::Cpu);
    let model = VisionModel::new(&vs.root(), &ResNetConfig::new(18, 2).into()).unwrap();
    model.save_pretrained(&vs, &model_dir).unwrap();

    let (cached, uncached) = (tmp.path().join("cached"), tmp.path().join("uncached"));
    let t = Instant::now();
    let a = ft_jobs::run(&config(&images, &model_dir, &cached, true), silent()).unwrap();
    let t_cached = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let b = ft_jobs::run(&config(&images, &model_dir, &uncached, false), silent()).unwrap();
    let t_uncached = t.elapsed().as_secs_f64();
    let cache_seconds = |o: &ft_jobs::JobOutcome| o.extras["feature_cache_seconds"].as_f64();
    assert!(cache_seconds(&a).is_some() && cache_seconds(&b).is_none());

    let (ha, hb) = (head(&cached), head(&uncached));
    assert_eq!(ha.len(), 2, "fc.weight and fc.bias");
    for ((name, x), (_, y)) in ha.iter().zip(&hb) {
        let diff = (x - y).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{name} differs by {diff}");
    }
    // The head did train (it left its initialisation).
    let init = ft_models::st::read(&model_dir.join("model.safetensors")).unwrap();
    let w0 = &init.iter().find(|(n, _)| n == "fc.weight").unwrap().1;
    let w = &ha.iter().find(|(n, _)| n == "fc.weight").unwrap().1;
    assert!((w - w0).abs().max().double_value(&[]) > 1e-3);
    // Same validation scores every epoch.
    let acc = |o: &ft_jobs::JobOutcome| -> Vec<f64> {
        o.train
            .evaluations
            .iter()
            .map(|e| e["eval_accuracy"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(acc(&a), acc(&b));
    println!("linear probe, 4 epochs: cached {t_cached:.2} s, uncached {t_uncached:.2} s");
}
