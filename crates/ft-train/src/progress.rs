//! What the user sees while training, as a callback: an indicatif bar on a terminal, plain lines
//! otherwise (CI logs, pipes), only notices with `quiet`. Lines go to the [`Reporter`] the
//! program chose (the `ft` binary prints them; a library caller gets none unless it asks).
use crate::callback::{Callback, Context, Control, Level, StepInfo};
use crate::evaluation::EvalResult;
use crate::reporter::Reporter;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Details as plain lines: no bar, and not quiet.
    plain: bool,
    quiet: bool,
    reporter: Arc<dyn Reporter>,
}

impl Progress {
    pub fn new(quiet: bool, reporter: Arc<dyn Reporter>) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            bar: None,
            plain: !terminal && !quiet,
            quiet,
            reporter,
        }
    }

    fn detail(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None if self.plain => self.reporter.line(text),
            None => {}
        }
    }
}

impl Callback for Progress {
    fn name(&self) -> &str {
        "progress"
    }

    fn on_train_begin(&mut self, ctx: &Context) -> Result<()> {
        if std::io::stderr().is_terminal() && !self.quiet {
            let bar = ProgressBar::new(ctx.total_steps as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} steps {msg} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_position(ctx.state.global_step as u64);
            self.bar = Some(bar);
        }
        Ok(())
    }

    fn on_epoch_begin(&mut self, ctx: &Context) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("epoch {}/{}", ctx.epoch + 1, ctx.epochs));
        }
        Ok(())
    }

    fn on_step_end(&mut self, ctx: &Context, step: &StepInfo, _: &mut Control) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.set_position(ctx.state.global_step as u64);
            bar.set_message(format!(
                "loss {:.4} lr {:.2e}",
                step.loss, step.learning_rate
            ));
        }
        Ok(())
    }

    fn on_log(&mut self, ctx: &Context, record: &mut serde_json::Value) -> Result<()> {
        // Evaluation records are shown by `on_evaluate`, most telling metrics first.
        let (Some(loss), Some(lr)) = (record["loss"].as_f64(), record["learning_rate"].as_f64())
        else {
            return Ok(());
        };
        self.detail(&format!(
            "step {:>6} epoch {:.2} loss {:.4} lr {:.3e} {:.1} samples/s",
            ctx.state.global_step,
            record["epoch"].as_f64().unwrap_or(0.0),
            loss,
            lr,
            record["samples_per_second"].as_f64().unwrap_or(0.0)
        ));
        Ok(())
    }

    fn on_evaluate(&mut self, ctx: &Context, result: &EvalResult, _: &mut Control) -> Result<()> {
        self.detail(&format!(
            "eval at step {}: {}",
            ctx.state.global_step,
            crate::trainer::summarize(result)
        ));
        Ok(())
    }

    fn on_train_end(&mut self, _: &Context) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }

    fn on_message(&mut self, level: Level, text: &str) {
        match level {
            Level::Notice => match &self.bar {
                Some(bar) => bar.println(text),
                None => self.reporter.line(text),
            },
            Level::Detail => self.detail(text),
        }
    }
}

impl Drop for Progress {
    /// A run that ends in an error or a signal leaves no half-drawn bar behind.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
