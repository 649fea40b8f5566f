//! Best-metric tracking and early stopping, as HF's `EarlyStoppingCallback`: an evaluation
//! improves when it beats the best so far by more than `early_stopping_threshold`.
use crate::args::TrainingArgs;
use crate::checkpoint::TrainerState;
use crate::evaluation::EvalResult;
use anyhow::{bail, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    Stop,
}

pub struct EarlyStopping {
    metric: String,
    greater_is_better: bool,
    patience: Option<usize>,
    threshold: f64,
}

impl EarlyStopping {
    /// The best metric and patience counter live in the `TrainerState`, so they survive a resume.
    pub fn new(args: &TrainingArgs) -> EarlyStopping {
        EarlyStopping {
            metric: args.best_metric(),
            greater_is_better: args.greater_is_better(),
            patience: args.early_stopping_patience,
            threshold: args.early_stopping_threshold,
        }
    }

    /// Records an evaluation at `step`; says whether training should stop.
    pub fn observe(
        &mut self,
        result: &EvalResult,
        step: usize,
        state: &mut TrainerState,
    ) -> Result<Verdict> {
        let Some(&value) = result.metrics.get(&self.metric) else {
            bail!(
                "metric_for_best_model `{}` is not among the evaluation's metrics: {}",
                self.metric,
                result
                    .metrics
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let is_best = match state.best_metric {
            None => true,
            Some(best) if self.greater_is_better => value > best,
            Some(best) => value < best,
        };
        let improved_enough = match state.best_metric {
            None => true,
            Some(best) if self.greater_is_better => value > best + self.threshold,
            Some(best) => value < best - self.threshold,
        };
        if is_best {
            state.best_metric = Some(value);
            state.best_step = Some(step);
        }
        if improved_enough {
            state.evals_without_improvement = 0;
        } else {
            state.evals_without_improvement += 1;
        }
        Ok(match self.patience {
            Some(p) if state.evals_without_improvement >= p => Verdict::Stop,
            _ => Verdict::Continue,
        })
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
        let mut es = EarlyStopping::new(&args);
        // 0.70 best, 0.80 best, 0.805 is best but within the threshold (1 strike), 0.79 (2 strikes) -> stop.
        let scripted = [
            (0.70, Verdict::Continue),
            (0.80, Verdict::Continue),
            (0.805, Verdict::Continue),
            (0.79, Verdict::Stop),
        ];
        for (i, (acc, want)) in scripted.into_iter().enumerate() {
            let v = es.observe(&result(acc), (i + 1) * 10, &mut state).unwrap();
            assert_eq!(v, want, "evaluation {}", i + 1);
        }
        assert_eq!(state.best_metric, Some(0.805));
        assert_eq!(state.best_step, Some(30));
    }

    #[test]
    fn a_metric_the_task_does_not_report_is_named() {
        let args = TrainingArgs {
            metric_for_best_model: Some("f1".into()),
            ..Default::default()
        };
        let mut state = TrainerState::default();
        let err = EarlyStopping::new(&args)
            .observe(&result(0.5), 1, &mut state)
            .unwrap_err();
        assert!(
            err.to_string().contains("`f1`") && err.to_string().contains("accuracy"),
            "{err}"
        );
    }
}
