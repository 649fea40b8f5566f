//! The `resnet50-probe` case: the guide's Example 2 loop — ResNet-50 with every layer but a new
//! `fc` frozen, Adam lr 1e-4, batch 32 — over an image folder, through the library call
//! `ft train` makes. Transforms `random`: RandomResizedCrop(224) + flip, as the guide;
//! `fixed`: Resize(256) + CenterCrop(224), deterministic. `cache` on: the backbone runs once
//! (one view per image); off: every epoch. The harness times the process.
//!
//! Usage: probe FOLDER WEIGHTS_DIR EPOCHS true|false OUTPUT_DIR random|fixed
use anyhow::Result;
use ft_jobs::RunConfig;
use serde_json::json;

fn main() -> Result<()> {
    ft_bench::init_threads();
    let args: Vec<String> = std::env::args().collect();
    let (folder, weights, epochs, cache, out) = (
        &args[1],
        &args[2],
        args[3].parse::<f64>()?,
        args[4].parse::<bool>()?,
        &args[5],
    );
    let normalize =
        json!({"normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}});
    let train_transforms = match args.get(6).map(String::as_str) {
        Some("fixed") => {
            json!([{"resize": 256}, {"center_crop": 224}, {"to_tensor": {}}, normalize])
        }
        _ => json!([
            {"random_resized_crop": {"size": 224}}, {"random_horizontal_flip": {"p": 0.5}},
            {"to_tensor": {}}, normalize
        ]),
    };
    let config: RunConfig = serde_json::from_value(json!({
        "task": "image-cls",
        "model": weights,
        "data": {
            "train_file": folder,
            "validation_fraction": 0.0,
            "test_fraction": 0.0,
            "feature_cache": cache,
            "train_transforms": train_transforms
        },
        "training": {
            "output_dir": out,
            "freeze_strategy": "linear-probe",
            "optim": "adam",
            "learning_rate": 1e-4,
            "lr_scheduler_type": "constant",
            "max_grad_norm": 0.0,
            "per_device_train_batch_size": 32,
            "per_device_eval_batch_size": 32,
            "num_train_epochs": epochs,
            "eval_strategy": "no",
            "save_strategy": "no",
            "device": "cpu",
            "quiet": true
        }
    }))?;
    let _ = std::fs::remove_dir_all(out);
    let outcome = ft_jobs::run(&config, ft_train::reporter::silent())?;
    ft_bench::emit(
        outcome.train.train_seconds,
        json!({ "feature_cache_s": outcome.extras["feature_cache_seconds"], "cache": cache }),
    );
    Ok(())
}
