//! The shape both generative showcases share (section VI of the guide): evaluate the starting
//! model on the held-out target data, fine-tune it, evaluate again, and optionally train the
//! same architecture from scratch on the same data for the same steps — so the table shows what
//! the pretrained start bought.
use crate::RunConfig;
use anyhow::{Context, Result};
use ft_data::Loader;
use ft_train::task::Task;
use ft_train::trainer::{TrainOutcome, Trainer};
use ft_train::{EvalResult, TrainingArgs};
use serde_json::json;
use std::path::Path;
use tch::nn::VarStore;

/// A model ready to train: its variables and its task.
pub struct Start<T: Task> {
    pub vs: VarStore,
    pub task: T,
    /// How the table names it ("pretrained", "untrained").
    pub label: String,
}

/// One line of the comparison table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub model: String,
    pub value: f64,
}

/// What [`fit_and_compare`] returns.
pub struct Compared {
    pub train: TrainOutcome,
    pub test_after: Option<EvalResult>,
    pub rows: Vec<Row>,
}

fn metric(result: &EvalResult, name: &str) -> Result<f64> {
    result
        .metrics
        .get(name)
        .copied()
        .with_context(|| format!("the evaluation has no `{name}`"))
}

/// Trains `start` on `train`; with `scratch`, also trains that fresh model with the same
/// arguments in `<output_dir>/from-scratch`. `metric` (e.g. `perplexity`, `elbo`) is read from
/// the test evaluations before and after.
pub fn fit_and_compare<T: Task>(
    config: &RunConfig,
    start: &Start<T>,
    scratch: Option<Start<T>>,
    train: &Loader,
    validation: Option<&Loader>,
    test: Option<&Loader>,
    name: &str,
) -> Result<Compared> {
    let args = &config.training;
    let mut rows = Vec::new();
    let mut trainer = Trainer::new(args.clone(), &start.task, &start.vs)?;
    if let Some(test) = test {
        let before = trainer.evaluate(test)?;
        rows.push(Row {
            model: format!("{} weights, before training", start.label),
            value: metric(&before, name)?,
        });
    }
    let outcome = trainer.fit(train, validation)?;
    let test_after = test.map(|t| trainer.evaluate(t)).transpose()?;
    if let Some(after) = &test_after {
        rows.push(Row {
            model: if start.label == "pretrained" {
                "pretrained, then fine-tuned on this run's data".into()
            } else {
                "trained on this run's data".into()
            },
            value: metric(after, name)?,
        });
    }
    if let (Some(s), Some(test)) = (scratch, test) {
        let scratch_args = TrainingArgs {
            output_dir: args.output_dir.join("from-scratch"),
            ..args.clone()
        };
        println!("training the same architecture from scratch for comparison...");
        let mut t = Trainer::new(scratch_args, &s.task, &s.vs)?;
        t.fit(train, validation)?;
        rows.push(Row {
            model: "from scratch, same data and steps".into(),
            value: metric(&t.evaluate(test)?, name)?,
        });
    }
    Ok(Compared {
        train: outcome,
        test_after,
        rows,
    })
}

/// The run directory's files (metrics, run config, provenance of `weights` — or of the run
/// itself for a scratch start — and report.png) plus the printed table in `comparison.json`.
pub fn write_results(
    config: &RunConfig,
    weights: Option<&Path>,
    compared: &Compared,
    title: &str,
    name: &str,
) -> Result<()> {
    let out = &config.training.output_dir;
    let source = weights
        .and_then(Path::parent)
        .map_or_else(|| out.clone(), Path::to_path_buf);
    crate::run_files::write_outcome(
        config,
        &source,
        out,
        &compared.train,
        compared.test_after.as_ref(),
        None,
    )?;
    report_table(out, title, name, &compared.rows)
}

/// Prints the table and writes it to `<out>/comparison.json`.
fn report_table(out: &Path, title: &str, name: &str, rows: &[Row]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    println!("\n{title}");
    println!("| model | held-out {name} |\n|---|---:|");
    for r in rows {
        println!("| {} | {:.3} |", r.model, r.value);
    }
    std::fs::write(
        out.join("comparison.json"),
        serde_json::to_string_pretty(&json!({ "title": title, "metric": name, "rows": rows }))?,
    )?;
    Ok(())
}
