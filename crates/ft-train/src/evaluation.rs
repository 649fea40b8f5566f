//! Collecting predictions over an evaluation set into ft-metrics reports.
use anyhow::Result;
use ft_metrics::{
    ClassificationAccumulator, MetricReport, Mode, NllAccumulator, RegressionAccumulator,
    SequenceAccumulator, VaeAccumulator,
};
use std::collections::BTreeMap;

/// The metric accumulator of a task, plus its running loss.
pub enum Metrics {
    Classification(ClassificationAccumulator),
    /// Entity-level (seqeval default mode) over word tags; `labels` maps ids to tag names.
    Sequence {
        acc: SequenceAccumulator,
        labels: Vec<String>,
    },
    Regression(RegressionAccumulator),
    /// Language modelling: the summed token NLL gives `perplexity` (and `nll`, `bits_per_dim`).
    Perplexity(NllAccumulator),
    /// Generative (VAE): per-image reconstruction loss, KL and ELBO.
    Vae(VaeAccumulator),
}

pub struct Evaluation {
    pub metrics: Metrics,
    loss_sum: f64,
    count: f64,
}

/// The numbers of one evaluation: `loss` plus the task's scalars (`accuracy`, `f1_macro`, …),
/// and the text report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalResult {
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip)]
    pub report: String,
    /// Row-major confusion matrix counts (classification only).
    #[serde(skip)]
    pub confusion: Option<Vec<Vec<u64>>>,
}

impl Evaluation {
    pub fn classification(labels: &[String]) -> Result<Evaluation> {
        let acc =
            ClassificationAccumulator::new(labels.len())?.with_class_names(labels.to_vec())?;
        Ok(Evaluation::new(Metrics::Classification(acc)))
    }

    pub fn sequence(labels: &[String]) -> Evaluation {
        Evaluation::new(Metrics::Sequence {
            acc: SequenceAccumulator::new(Mode::Default),
            labels: labels.to_vec(),
        })
    }

    pub fn regression() -> Evaluation {
        Evaluation::new(Metrics::Regression(RegressionAccumulator::new()))
    }

    pub fn perplexity() -> Evaluation {
        Evaluation::new(Metrics::Perplexity(NllAccumulator::new()))
    }

    /// A VAE evaluation: `reconstruction`, `kl`, `elbo`, `neg_elbo` (per image); the task adds
    /// the negative ELBO as the loss.
    pub fn vae() -> Evaluation {
        Evaluation::new(Metrics::Vae(VaeAccumulator::new()))
    }

    fn new(metrics: Metrics) -> Evaluation {
        Evaluation {
            metrics,
            loss_sum: 0.0,
            count: 0.0,
        }
    }

    pub fn add_loss(&mut self, sum: f64, count: f64) {
        self.loss_sum += sum;
        self.count += count;
    }

    pub fn finish(&self) -> Result<EvalResult> {
        let (mut metrics, report, confusion) = match &self.metrics {
            Metrics::Classification(acc) => {
                let r = acc.compute()?;
                (r.scalars(), r.to_text(), Some(r.confusion_matrix.clone()))
            }
            Metrics::Sequence { acc, .. } => {
                let r = acc.compute()?;
                (r.scalars(), r.to_text(), None)
            }
            Metrics::Regression(acc) => {
                let r = acc.compute()?;
                (r.scalars(), r.to_text(), None)
            }
            Metrics::Perplexity(acc) => {
                let r = acc.compute()?;
                let text = format!(
                    "perplexity {:.3} (mean NLL {:.4} nats over {} tokens)",
                    r.perplexity, r.mean_nll, r.count
                );
                (r.scalars(), text, None)
            }
            Metrics::Vae(acc) => {
                let r = acc.compute()?;
                let text = format!(
                    "{} images: reconstruction {:.4}, KL {:.4}, ELBO {:.4} (nats per image)",
                    r.num_examples, r.reconstruction, r.kl, r.elbo
                );
                (r.scalars(), text, None)
            }
        };
        if self.count > 0.0 {
            metrics.insert("loss".into(), self.loss_sum / self.count);
        }
        Ok(EvalResult {
            metrics,
            report,
            confusion,
        })
    }
}
