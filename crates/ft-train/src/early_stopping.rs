//! Best-metric tracking and early stopping, as transformers' Trainer and its
//! `EarlyStoppingCallback`: the loop records the best evaluation (for the best checkpoint and
//! `load_best_model_at_end`), and the [`EarlyStopping`] callback stops training once
//! `early_stopping_patience` evaluations in a row failed to beat its best by more than
//! `early_stopping_threshold`.
use crate::args::TrainingArgs;
use crate::callback::{Callback, CallbackState, Context, Control, Level};
use crate::checkpoint::TrainerState;
use crate::evaluation::EvalResult;
use anyhow::{bail, Result};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    Stop,
}

/// The value of `metric_for_best_model` in an evaluation, or an error listing what it reports.
fn metric_value(args: &TrainingArgs, result: &EvalResult) -> Result<f64> {
    let metric = args.best_metric();
    match result.metrics.get(&metric) {
        Some(&value) => Ok(value),
        None => bail!(
            "metric_for_best_model `{metric}` is not among the evaluation's metrics: {}",
            result
                .metrics
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether `value` is better than `best` in the direction `greater_is_better` says, by more than
/// `margin`.
fn beats(value: f64, best: Option<f64>, greater_is_better: bool, margin: f64) -> bool {
    match best {
        None => true,
        Some(best) if greater_is_better => value > best + margin,
        Some(best) => value < best - margin,
    }
}

/// Records an evaluation at `step` in the state's best metric and step when it is the best so far.
pub fn track_best(
    args: &TrainingArgs,
    result: &EvalResult,
    step: usize,
    state: &mut TrainerState,
) -> Result<()> {
    let value = metric_value(args, result)?;
    if beats(value, state.best_metric, args.greater_is_better(), 0.0) {
        state.best_metric = Some(value);
        state.best_step = Some(step);
    }
    Ok(())
}

/// Stops training after `patience` evaluations without enough improvement. Its best value and
/// its count of evaluations without improvement are checkpointed, so they survive a resume.
pub struct EarlyStopping {
    args: TrainingArgs,
    patience: usize,
    best: Option<f64>,
    evals_without_improvement: usize,
}

impl EarlyStopping {
    /// `None` when the arguments ask for no early stopping.
    pub fn from_args(args: &TrainingArgs) -> Option<EarlyStopping> {
        args.early_stopping_patience.map(|patience| EarlyStopping {
            args: args.clone(),
            patience,
            best: None,
            evals_without_improvement: 0,
        })
    }

    /// Records an evaluation; says whether training should stop.
    pub fn observe(&mut self, result: &EvalResult) -> Result<Verdict> {
        let value = metric_value(&self.args, result)?;
        let up = self.args.greater_is_better();
        let threshold = self.args.early_stopping_threshold;
        if beats(value, self.best, up, threshold) {
            self.evals_without_improvement = 0;
        } else {
            self.evals_without_improvement += 1;
        }
        if beats(value, self.best, up, 0.0) {
            self.best = Some(value);
        }
        Ok(if self.evals_without_improvement >= self.patience {
            Verdict::Stop
        } else {
            Verdict::Continue
        })
    }
}

impl Callback for EarlyStopping {
    fn name(&self) -> &str {
        "early_stopping"
    }

    fn on_evaluate(
        &mut self,
        ctx: &Context,
        result: &EvalResult,
        control: &mut Control,
    ) -> Result<()> {
        if self.observe(result)? == Verdict::Stop {
            ctx.say(
                Level::Detail,
                format!(
                    "early stopping: no improvement of {} in {} evaluations",
                    self.args.best_metric(),
                    self.evals_without_improvement
                ),
            );
            control.should_stop = true;
        }
        Ok(())
    }

    fn state(&self) -> Result<Option<CallbackState>> {
        Ok(Some(CallbackState {
            json: json!({"best": self.best, "evals_without_improvement": self.evals_without_improvement}),
            tensors: Vec::new(),
        }))
    }

    fn load_state(&mut self, state: CallbackState) -> Result<()> {
        self.best = state.json["best"].as_f64();
        self.evals_without_improvement = state.json["evals_without_improvement"]
            .as_u64()
            .unwrap_or(0) as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn result(accuracy: f64) -> EvalResult {
        EvalResult {
            metrics: BTreeMap::from([("accuracy".to_string(), accuracy)]),
            report: String::new(),
            confusion: None,
        }
    }

    #[test]
    fn stops_at_the_right_evaluation_and_remembers_the_best() {
        let args = TrainingArgs {
            metric_for_best_model: Some("eval_accuracy".into()),
            early_stopping_patience: Some(2),
            early_stopping_threshold: 0.01,
            ..Default::default()
        };
        let mut state = TrainerState::default();
        let mut es = EarlyStopping::from_args(&args).unwrap();
        // 0.70 best, 0.80 best, 0.805 is best but within the threshold (1 strike), 0.79 (2 strikes) -> stop.
        let scripted = [
            (0.70, Verdict::Continue),
            (0.80, Verdict::Continue),
            (0.805, Verdict::Continue),
            (0.79, Verdict::Stop),
        ];
        for (i, (acc, want)) in scripted.into_iter().enumerate() {
            track_best(&args, &result(acc), (i + 1) * 10, &mut state).unwrap();
            let v = es.observe(&result(acc)).unwrap();
            assert_eq!(v, want, "evaluation {}", i + 1);
        }
        assert_eq!(state.best_metric, Some(0.805));
        assert_eq!(state.best_step, Some(30));
    }

    #[test]
    fn its_state_round_trips() {
        let args = TrainingArgs {
            early_stopping_patience: Some(2),
            ..Default::default()
        };
        let mut es = EarlyStopping::from_args(&args).unwrap();
        es.observe(&EvalResult {
            metrics: BTreeMap::from([("loss".to_string(), 0.5)]),
            report: String::new(),
            confusion: None,
        })
        .unwrap();
        let mut back = EarlyStopping::from_args(&args).unwrap();
        back.load_state(es.state().unwrap().unwrap()).unwrap();
        assert_eq!((back.best, back.evals_without_improvement), (Some(0.5), 0));
        assert!(EarlyStopping::from_args(&TrainingArgs::default()).is_none());
    }

    #[test]
    fn a_metric_the_task_does_not_report_is_named() {
        let args = TrainingArgs {
            metric_for_best_model: Some("f1".into()),
            ..Default::default()
        };
        let mut state = TrainerState::default();
        let err = track_best(&args, &result(0.5), 1, &mut state).unwrap_err();
        assert!(
            err.to_string().contains("`f1`") && err.to_string().contains("accuracy"),
            "{err}"
        );
    }
}
