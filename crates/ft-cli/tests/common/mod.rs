//! What the `ft` end-to-end test files share: running the binary, and the full-recipe check.
use serde_json::Value;
use std::process::{Command, Output};

pub fn ft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ft"))
        .args(args)
        .output()
        .expect("running ft")
}

/// A built-in recipe run as written, against a floor for one of its test metrics. Minutes
/// each: these run under `cargo xtask test --full`, not in CI.
// Each test file compiles this module on its own; cli_generative has no single-metric recipe.
#[allow(dead_code)]
pub fn full_recipe(recipe: &str, key: &str, floor: f64) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join(recipe);
    let out = ft(&[
        "train",
        "--recipe",
        recipe,
        "--quiet",
        "--output-dir",
        run.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let value = metrics["test"][key].as_f64().unwrap();
    println!(
        "recipe {recipe}: {key} = {value:.4} (floor {floor}), {:.0} s",
        metrics["train_runtime"].as_f64().unwrap()
    );
    assert!(
        value >= floor,
        "recipe {recipe}: {key} {value} is below the floor {floor}"
    );
}
