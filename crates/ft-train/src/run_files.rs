//! The files every run directory gets, whatever the task: `metrics.json` (validation history,
//! test scores, best checkpoint), `test_report.txt`, `run_config.json` (the resolved config, so
//! `ft eval` / `ft predict` can rebuild the data pipeline) and `run.json` (provenance).
use crate::run_config::RunConfig;
use crate::trainer::TrainOutcome;
use crate::EvalResult;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(crate) fn write_outcome(
    config: &RunConfig,
    model_dir: &Path,
    out: &Path,
    outcome: &TrainOutcome,
    test: Option<&EvalResult>,
) -> Result<()> {
    let metrics = json!({
        "validation": outcome.evaluations,
        "test": test.map(|t| prefixed(&t.metrics, "test_")),
        "best_metric": outcome.best_metric,
        "best_checkpoint": outcome.best_checkpoint,
        "global_step": outcome.global_step,
        "stopped_early": outcome.stopped_early,
        "train_runtime": outcome.train_seconds,
        "train_samples_per_second": outcome.train_samples_per_second,
    });
    std::fs::write(
        out.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?,
    )?;
    if let Some(t) = test {
        std::fs::write(out.join("test_report.txt"), &t.report)?;
    }
    std::fs::write(
        out.join("run_config.json"),
        serde_json::to_string_pretty(config)?,
    )?;
    crate::provenance::write_run_json(out, config, model_dir)?;
    Ok(())
}

fn prefixed(metrics: &std::collections::BTreeMap<String, f64>, prefix: &str) -> serde_json::Value {
    metrics
        .iter()
        .map(|(k, v)| (format!("{prefix}{k}"), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
