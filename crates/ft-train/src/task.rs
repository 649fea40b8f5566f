//! A `Task` is everything model-specific the loop needs: a loss, predictions for the metrics,
//! and how to save. The loop itself knows nothing about BERT or images.
use crate::args::TrainingArgs;
use crate::batch::TensorBatch;
use crate::evaluation::Evaluation;
use anyhow::{bail, Result};
use ft_data::HostBatch;
use ft_models::{GroupModes, LayerGroup};
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// A batch's loss as a sum with the number of targets it counts: the loop divides by the count
/// of the whole accumulated batch, so 4 micro-batches of 4 equal one batch of 16 even when the
/// micro-batches hold different numbers of labelled tokens.
pub struct LossSum {
    pub sum: Tensor,
    pub count: f64,
    /// The model's pooled features of the batch, where the task gives them (see
    /// [`Task::features`]), for callbacks that add a loss term on them.
    pub features: Option<Tensor>,
}

impl LossSum {
    pub fn new(sum: Tensor, count: f64) -> LossSum {
        LossSum {
            sum,
            count,
            features: None,
        }
    }

    pub fn with_features(mut self, features: Tensor) -> LossSum {
        self.features = Some(features);
        self
    }
}

pub trait Task {
    /// The model's layer groups, bottom to top (the last is the head).
    fn layer_groups(&self) -> &[LayerGroup];
    /// Forward pass in the given per-group modes, returning the summed loss.
    fn loss(&self, batch: &TensorBatch, modes: &GroupModes) -> Result<LossSum>;
    /// A fresh metric accumulator for this task.
    fn new_evaluation(&self) -> Result<Evaluation>;
    /// Forward in eval mode (no grad) and feed predictions and the loss to `evaluation`.
    fn evaluate_batch(
        &self,
        batch: &TensorBatch,
        host: &HostBatch,
        evaluation: &mut Evaluation,
    ) -> Result<()>;
    /// Every metric name an evaluation of this task can report (`loss` included), without the
    /// `eval_` prefix. The jobs check `metric_for_best_model` against it before training starts
    /// ([`check_metric_for_best_model`]), so a typo fails at once rather than at the first
    /// evaluation.
    fn metric_names(&self) -> Vec<&'static str>;
    /// Writes the model in its upstream layout (e.g. HF `config.json` + `model.safetensors`).
    fn save(&self, vs: &VarStore, dir: &Path) -> Result<()>;

    /// The model's pooled features of a batch (the `[CLS]` representation, the pooled image
    /// features) from a forward pass in `modes`, connected to the graph: what callbacks such as
    /// domain-adversarial training use on batches other than the one [`Task::loss`] saw
    /// (there, [`LossSum::features`] carries them). Tasks without such features keep the default.
    fn features(&self, _batch: &TensorBatch, _modes: &GroupModes) -> Result<Tensor> {
        bail!("this task gives no pooled features")
    }
}

/// What a classification evaluation of `classes` classes reports: accuracy, micro / macro /
/// weighted precision, recall and F1, log loss, and ROC AUC for two classes.
pub fn classification_metric_names(classes: usize) -> Vec<&'static str> {
    let mut names = vec![
        "loss",
        "accuracy",
        "precision_micro",
        "recall_micro",
        "f1_micro",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
        "log_loss",
    ];
    if classes == 2 {
        names.push("roc_auc");
    }
    names
}

/// Errors, listing the allowed names, when `metric_for_best_model` (with or without its `eval_`
/// prefix) is not among `names`, the metrics the task's evaluation reports. `None` is fine: the
/// default, `loss`, every task reports.
pub fn check_metric_for_best_model(args: &TrainingArgs, names: &[&str]) -> Result<()> {
    if args.metric_for_best_model.is_none() {
        return Ok(());
    }
    let metric = args.best_metric();
    if !names.contains(&metric.as_str()) {
        bail!(
            "metric_for_best_model `{}` is not a metric of this task; its evaluation reports: {}",
            args.metric_for_best_model.as_deref().unwrap_or_default(),
            names.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_for_best_model_is_checked_against_the_task() {
        let args = |m: &str| TrainingArgs {
            metric_for_best_model: Some(m.into()),
            ..Default::default()
        };
        let names = classification_metric_names(2);
        check_metric_for_best_model(&args("eval_accuracy"), &names).unwrap();
        check_metric_for_best_model(&args("roc_auc"), &names).unwrap();
        check_metric_for_best_model(&TrainingArgs::default(), &[]).unwrap();
        let e = check_metric_for_best_model(&args("accurcy"), &names)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metric_for_best_model `accurcy`")
                && e.contains("accuracy, precision_micro"),
            "{e}"
        );
        let e = check_metric_for_best_model(&args("roc_auc"), &classification_metric_names(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`roc_auc`"), "{e}");
    }
}
