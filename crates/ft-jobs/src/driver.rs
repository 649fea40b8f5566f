//! The one driver every kind of job runs on: validate the config, pick the device, let the job
//! prepare its data and model, report the weights loaded, train, test, compare where the job
//! asks for it, and leave the run directory (`run_config.json`, `run.json`, `metrics.json`
//! last, `report.png`, `test_report.txt`, `comparison.json`). `ft train` is a thin wrapper
//! around [`run`].
use crate::config::{RunConfig, TaskKind};
use crate::job::{Comparison, Job, JobContext, JobOutcome, Model, Row};
use anyhow::{Context, Result};
use ft_train::reporter::Reporter;
use ft_train::{EvalResult, Trainer, TrainingArgs};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// Runs the job `config` describes, sending every message to `reporter`.
pub fn run(config: &RunConfig, reporter: Arc<dyn Reporter>) -> Result<JobOutcome> {
    config.validate().map_err(anyhow::Error::msg)?;
    let device = crate::resolve::device(config.training.device)?;
    let ctx = JobContext::new(config, device, reporter);
    match config.task {
        TaskKind::SeqCls | TaskKind::TokenCls | TaskKind::Regression => {
            drive(crate::text::run::TextJob::new(config)?, &ctx)
        }
        TaskKind::ImageCls => drive(crate::image::run::ImageJob::default(), &ctx),
        TaskKind::Vae => drive(crate::vae::run::VaeJob::default(), &ctx),
        TaskKind::CausalLm => drive(crate::lm::run::LmJob::default(), &ctx),
    }
}

/// Everything after the job has prepared: the same for every kind.
fn drive<J: Job>(mut job: J, ctx: &JobContext) -> Result<JobOutcome> {
    let prepared = job.prepare(ctx)?;
    if let Some(report) = &prepared.load_report {
        ctx.detail(&format!("weights: {report}"));
    }
    let args = &ctx.config.training;
    let out = args.output_dir.clone();
    let (model, loaders) = (prepared.model, prepared.loaders);
    let mut rows = Vec::new();
    let mut trainer = trainer(&job, ctx, args.clone(), &model)?;
    let compared = prepared.comparison.filter(|_| loaders.test.is_some());
    if let (Some(c), Some(test)) = (&compared, &loaders.test) {
        let before = trainer.evaluate(test)?;
        rows.push(Row {
            model: format!(
                "{} weights, before training",
                if model.pretrained {
                    "pretrained"
                } else {
                    "untrained"
                }
            ),
            value: metric(&before, c.metric)?,
        });
    }
    let outcome = trainer.fit(&loaders.train, loaders.validation.as_ref())?;
    let test = loaders
        .test
        .as_ref()
        .map(|t| trainer.evaluate(t))
        .transpose()?;
    if let (Some(c), Some(after)) = (&compared, &test) {
        rows.push(Row {
            model: if model.pretrained {
                "pretrained, then fine-tuned on this run's data".into()
            } else {
                "trained on this run's data".into()
            },
            value: metric(after, c.metric)?,
        });
        if ctx.config.compare_with_scratch && model.pretrained {
            if let Some(value) = from_scratch(&job, ctx, &loaders, c)? {
                rows.push(Row {
                    model: "from scratch, same data and steps".into(),
                    value,
                });
            }
        }
    }
    let extras = job.finish(ctx, &model)?;
    crate::run_files::write_outcome(
        &prepared.resolved,
        &prepared.source,
        &out,
        &outcome,
        test.as_ref(),
        prepared.labels.as_deref(),
    )?;
    if let Some(c) = &compared {
        report_table(ctx, &out, c, &rows)?;
    }
    Ok(JobOutcome {
        train: outcome,
        test,
        comparison: rows,
        output_dir: out,
        extras,
    })
}

/// Trains the job's scratch twin with the same arguments in `<output_dir>/from-scratch` and
/// returns its test metric.
fn from_scratch<J: Job>(
    job: &J,
    ctx: &JobContext,
    loaders: &crate::job::Loaders,
    c: &Comparison,
) -> Result<Option<f64>> {
    let (Some(scratch), Some(test)) = (job.scratch(ctx)?, &loaders.test) else {
        return Ok(None);
    };
    let args = TrainingArgs {
        output_dir: ctx.config.training.output_dir.join("from-scratch"),
        ..ctx.config.training.clone()
    };
    ctx.say("training the same architecture from scratch for comparison...");
    let mut trainer = trainer(job, ctx, args, &scratch)?;
    trainer.fit(&loaders.train, loaders.validation.as_ref())?;
    Ok(Some(metric(&trainer.evaluate(test)?, c.metric)?))
}

/// A trainer for `model` that reports to the run's reporter, with the job's callbacks.
fn trainer<'m, J: Job>(
    job: &J,
    ctx: &JobContext,
    args: TrainingArgs,
    model: &'m Model<J::Task>,
) -> Result<Trainer<'m>> {
    let mut trainer = Trainer::new(args, &model.task, &model.vs)?.with_reporter(ctx.reporter());
    for callback in job.callbacks(ctx, model) {
        trainer.add_callback(callback);
    }
    Ok(trainer)
}

fn metric(result: &EvalResult, name: &str) -> Result<f64> {
    result
        .metrics
        .get(name)
        .copied()
        .with_context(|| format!("the evaluation has no `{name}`"))
}

/// Shows the table and writes it to `<out>/comparison.json`.
fn report_table(ctx: &JobContext, out: &Path, c: &Comparison, rows: &[Row]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    ctx.say(&format!("\n{}", c.title));
    ctx.say(&format!("| model | held-out {} |\n|---|---:|", c.column));
    for r in rows {
        ctx.say(&format!("| {} | {:.3} |", r.model, r.value));
    }
    let table = json!({ "title": c.title, "metric": c.column, "rows": rows });
    ft_train::checkpoint::write_json(&out.join("comparison.json"), &table)
}
