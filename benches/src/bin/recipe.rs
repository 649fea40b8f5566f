//! The `sentiment-recipe` case: a built-in recipe end to end through the library call that
//! `ft train` makes (read, split, tokenize, train, restore the best, test). The harness times the
//! whole process; this prints the test accuracy reached.
//!
//! Usage: recipe RECIPE.json OUTPUT_DIR [EPOCHS]
use anyhow::{Context, Result};
use ft_jobs::RunConfig;
use std::time::Instant;

fn main() -> Result<()> {
    ft_bench::init_threads();
    let args: Vec<String> = std::env::args().collect();
    let (recipe, out) = (&args[1], &args[2]);
    let text = std::fs::read_to_string(recipe).with_context(|| format!("reading {recipe}"))?;
    let mut config: RunConfig = serde_json::from_str(&text)?;
    config.training.output_dir = out.into();
    config.training.quiet = true;
    if let Some(e) = args.get(3) {
        config.training.num_train_epochs = e.parse()?;
    }
    let _ = std::fs::remove_dir_all(out);
    let t = Instant::now();
    let outcome = ft_jobs::run(&config, ft_train::reporter::silent())?;
    let accuracy = outcome
        .test
        .as_ref()
        .and_then(|t| t.metrics.get("accuracy").copied())
        .context("the recipe has no test accuracy")?;
    ft_bench::emit(
        t.elapsed().as_secs_f64(),
        serde_json::json!({ "accuracy": accuracy, "train_s": outcome.train.train_seconds }),
    );
    Ok(())
}
