//! The files every run directory gets, whatever the task: `metrics.json` (validation history,
//! test scores, best checkpoint), `test_report.txt`, `run_config.json` (the resolved config, so
//! `ft eval` / `ft predict` can rebuild the data pipeline) and `run.json` (provenance). Every one
//! is written atomically, `metrics.json` last.
use crate::config::RunConfig;
use anyhow::{Context, Result};
use ft_train::checkpoint::write_json;
use ft_train::trainer::TrainOutcome;
use ft_train::EvalResult;
use serde_json::json;
use std::path::Path;

/// The resolved config a finished run left in `dir/run_config.json`.
pub(crate) fn read_run_config(dir: &Path) -> Result<RunConfig> {
    let path = dir.join("run_config.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not an ft run directory (no run_config.json)",
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Whether `dir` holds a run of this task (its `run_config.json` says so).
pub(crate) fn is_run_of(dir: &Path, task: crate::TaskKind) -> bool {
    read_run_config(dir).is_ok_and(|c| c.task == task)
}

/// Also draws `report.png` (curves, and the test confusion matrix when `labels` names the
/// classes). `metrics.json` is written last, so a run directory that has one is complete: a
/// failure or a crash before it (a full disk, a kill) leaves no file claiming success.
pub(crate) fn write_outcome(
    config: &RunConfig,
    model_dir: &Path,
    out: &Path,
    outcome: &TrainOutcome,
    test: Option<&EvalResult>,
    labels: Option<&[String]>,
) -> Result<()> {
    let matrix = test
        .and_then(|t| t.confusion.as_deref())
        .zip(labels)
        .map(|(c, l)| (l, c));
    crate::report::draw(
        &out.join("report.png"),
        &outcome.log_history,
        &config.training.best_metric(),
        matrix,
    )?;
    if let Some(t) = test {
        ft_models::st::write_file_atomic(&out.join("test_report.txt"), t.report.as_bytes())?;
    }
    write_json(&out.join("run_config.json"), config)?;
    crate::provenance::write_run_json(out, config, model_dir)?;
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
    ft_train::fault::point("final-save");
    write_json(&out.join("metrics.json"), &metrics)
}

fn prefixed(metrics: &std::collections::BTreeMap<String, f64>, prefix: &str) -> serde_json::Value {
    metrics
        .iter()
        .map(|(k, v)| (format!("{prefix}{k}"), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
