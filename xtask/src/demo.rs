//! `cargo xtask demo`: the README's main job — the guide's Example 1 (BERT-family sentiment
//! fine-tuning) on MiniLM-L6 and real Rotten Tomatoes reviews, from a fresh clone.
use crate::cmd;
use anyhow::{Context, Result};
use std::process::Command;
use std::time::Instant;

pub fn run() -> Result<()> {
    crate::setup::run()?;
    crate::fetch::run(&crate::fetch::FetchArgs::only(&[
        "minilm-l6",
        "rotten-tomatoes",
    ]))?;
    let root = crate::workspace_root();
    let out = root.join("runs/demo");
    println!("\ndemo: fine-tuning MiniLM-L6 on 1000 Rotten Tomatoes reviews (recipe `sentiment`), outputs in {}", out.display());
    let start = Instant::now();
    cmd::run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(&root)
            .args([
                "run",
                "--quiet",
                "-p",
                "ft-cli",
                "--",
                "train",
                "--recipe",
                "sentiment",
                "--overwrite",
                "--output-dir",
            ])
            .arg(&out),
    )?;
    let wall = start.elapsed().as_secs_f64();

    let metrics_path = out.join("metrics.json");
    let text = std::fs::read_to_string(&metrics_path)
        .with_context(|| format!("reading {}", metrics_path.display()))?;
    let m: serde_json::Value = serde_json::from_str(&text)?;
    println!("\n=== demo summary");
    for (i, e) in m["validation"].as_array().into_iter().flatten().enumerate() {
        println!(
            "  epoch {}: validation accuracy {:.4}",
            i + 1,
            e["eval_accuracy"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(best) = m["best_checkpoint"].as_str() {
        println!("  best model: {best} (restored)");
    }
    println!(
        "  test accuracy: {:.4}",
        m["test"]["test_accuracy"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  training + per-epoch eval: {:.0} s; wall time including build and load: {wall:.0} s",
        m["train_runtime"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  outputs: {} (try: cargo run -p ft-cli -- predict --model {})",
        out.display(),
        out.display()
    );
    Ok(())
}
