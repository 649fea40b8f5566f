//! `ft` on images end to end: the guide's Example 2 recipe (`cats-dogs`) on a tiny generated
//! folder with seeded random ResNet-50 weights written by torchvision (train → eval → predict →
//! torchvision loads the run and agrees), and the Fashion-MNIST probe on the real EfficientNet
//! weights at a small budget, against an accuracy floor.
mod common;

use common::{ft, full_recipe};
use ft_tests::python_run;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn json_lines(o: &[u8]) -> Vec<Value> {
    text(o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn cats_dogs_recipe_runs_on_a_tiny_folder_and_torchvision_loads_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    python_run("image_fixture.py", &[tmp.path()]).unwrap();
    let (images, weights, run) = (
        tmp.path().join("images"),
        tmp.path().join("resnet50"),
        tmp.path().join("run"),
    );
    // The cats-dogs recipe on the fixture, small enough for a test; `extra` flags are appended.
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--recipe",
            "cats-dogs",
            "--model",
            weights.to_str().unwrap(),
            "--train-file",
            images.to_str().unwrap(),
            "--image-size",
            "64",
            "--validation-fraction",
            "0.25",
            "--test-fraction",
            "0.25",
            "--num-train-epochs",
            "2",
            "--device",
            "cpu",
            "--quiet",
            "--output-dir",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        ft(&args)
    };
    let out = train(&run, &["--per-device-train-batch-size", "8"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "ft train failed: {}",
        text(&out.stderr)
    );
    // The recipe skips undecodable files and says how many (the fixture has one).
    assert!(
        stdout.contains("skipped 1 unreadable image"),
        "no skip summary in:\n{stdout}"
    );

    // The cached linear probe skips the same file: the cache holds the readable images only.
    let probe = tmp.path().join("probe");
    let out = train(
        &probe,
        &[
            "--freeze-strategy",
            "linear-probe",
            "--feature-cache",
            "true",
        ],
    );
    let probe_out = text(&out.stdout);
    assert!(
        out.status.success(),
        "cached probe failed: {}",
        text(&out.stderr)
    );
    assert!(
        probe_out.contains("feature cache") && probe_out.contains("skipped 1 unreadable image"),
        "{probe_out}"
    );
    for file in [
        "config.json",
        "model.safetensors",
        "run_config.json",
        "metrics.json",
        "train_log.jsonl",
        "report.png",
    ] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    let metrics = read_json(&run.join("metrics.json"));
    let test_accuracy = metrics["test"]["test_accuracy"].as_f64().unwrap();

    // `ft eval` rebuilds the same test split and pipeline from run_config.json.
    let out = ft(&["eval", "--model", run.to_str().unwrap(), "--device", "cpu"]);
    assert!(
        out.status.success(),
        "ft eval failed: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let json_start = stdout.rfind("\n{").map_or(0, |i| i + 1);
    let eval: Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert!(
        (eval["accuracy"].as_f64().unwrap() - test_accuracy).abs() < 1e-9,
        "eval {eval} vs metrics.json {test_accuracy}"
    );

    // `ft predict` on a folder, and torchvision on the same files with the same preprocessing.
    let dogs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(images.join("dog"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v.truncate(4);
        v
    };
    let mut args = vec![
        "predict",
        "--model",
        run.to_str().unwrap(),
        "--device",
        "cpu",
    ];
    let dog_args: Vec<&str> = dogs.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(&dog_args);
    let out = ft(&args);
    assert!(
        out.status.success(),
        "ft predict failed: {}",
        text(&out.stderr)
    );
    let ours = json_lines(&out.stdout);
    assert_eq!(ours.len(), dogs.len());
    let mut py_args: Vec<&Path> = vec![run.as_path(), Path::new("73"), Path::new("64")];
    py_args.extend(dogs.iter().map(PathBuf::as_path));
    let theirs: Vec<Value> = python_run("torchvision_predict.py", &py_args)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (a, b) in ours.iter().zip(&theirs) {
        let pa = a["probabilities"].as_object().unwrap();
        let total: f64 = pa.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{a}");
        for (class, p) in pa {
            let q = b["probabilities"][class].as_f64().unwrap();
            // Same weights; resizes agree with PIL within 1/255 per pixel.
            assert!(
                (p.as_f64().unwrap() - q).abs() < 0.02,
                "{class}: ft {p} vs torchvision {q}"
            );
        }
    }
}

#[test]
fn fashion_probe_on_real_weights_beats_its_floor_at_a_small_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("probe");
    let out = ft(&[
        "train",
        "--recipe",
        "fashion-probe",
        "--train-size",
        "200",
        "--validation-size",
        "100",
        "--test-size",
        "300",
        "--num-train-epochs",
        "20",
        "--device",
        "cpu",
        "--output-dir",
        run.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "ft train failed: {}",
        text(&out.stderr)
    );
    assert!(stdout.contains("feature cache:"), "{stdout}");
    let metrics = read_json(&run.join("metrics.json"));
    let accuracy = metrics["test"]["test_accuracy"].as_f64().unwrap();
    println!("fashion-probe (200 train images, 20 epochs): test accuracy {accuracy:.3}");
    assert!(accuracy >= FASHION_SMALL_FLOOR, "accuracy {accuracy}");
}

/// Shirt vs t-shirt/top is the hardest pair of Fashion-MNIST; a head on ImageNet features of
/// 200 images separates them well above chance (0.5).
const FASHION_SMALL_FLOOR: f64 = 0.75;

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_fashion_probe_reaches_its_floor() {
    full_recipe("fashion-probe", "test_accuracy", 0.80);
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_fashion_partial_reaches_its_floor() {
    full_recipe("fashion-partial", "test_accuracy", 0.80);
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_fashion_finetune_reaches_its_floor() {
    full_recipe("fashion-finetune", "test_accuracy", 0.80);
}
