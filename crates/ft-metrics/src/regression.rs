//! Regression: MSE, RMSE, MAE, R², Pearson r and Spearman ρ.
//!
//! Moments are accumulated with Welford's update, one element at a time, so the
//! result does not depend on how the stream was cut into batches and a
//! constant input keeps an exactly-zero variance (which is how zero variance
//! is detected and reported instead of a silent NaN).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::{check_finite, check_same_len};
use crate::ranking::average_ranks;
use crate::MetricError;

/// Streams predicted and reference values; reports regression metrics.
///
/// Spearman's ρ needs every value (ranks are global), so by default the
/// accumulator keeps a copy, 16 bytes per example; turn it off with
/// [`without_spearman`](Self::without_spearman) for very long streams.
#[derive(Debug, Clone)]
pub struct RegressionAccumulator {
    n: u64,
    mean_pred: f64,
    mean_ref: f64,
    /// Sums of squared deviations from the running means.
    m2_pred: f64,
    m2_ref: f64,
    /// Sum of products of deviations (the co-moment).
    co_moment: f64,
    sum_sq_err: f64,
    sum_abs_err: f64,
    keep_values: bool,
    preds: Vec<f64>,
    refs: Vec<f64>,
}

impl Default for RegressionAccumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl RegressionAccumulator {
    /// An empty accumulator that also computes Spearman's ρ.
    pub fn new() -> Self {
        Self {
            n: 0,
            mean_pred: 0.0,
            mean_ref: 0.0,
            m2_pred: 0.0,
            m2_ref: 0.0,
            co_moment: 0.0,
            sum_sq_err: 0.0,
            sum_abs_err: 0.0,
            keep_values: true,
            preds: Vec::new(),
            refs: Vec::new(),
        }
    }

    /// Do not keep values; `spearman` is then reported as `None`.
    pub fn without_spearman(mut self) -> Self {
        self.keep_values = false;
        self.preds = Vec::new();
        self.refs = Vec::new();
        self
    }

    /// Adds a batch; values are widened to `f64`, NaN or infinities are errors.
    pub fn update<T: Copy + Into<f64>>(
        &mut self,
        predictions: &[T],
        references: &[T],
    ) -> Result<(), MetricError> {
        check_same_len(
            "predictions",
            predictions.len(),
            "references",
            references.len(),
        )?;
        check_finite("predictions", predictions)?;
        check_finite("references", references)?;
        for (&p, &r) in predictions.iter().zip(references) {
            let (p, r): (f64, f64) = (p.into(), r.into());
            self.n += 1;
            let n = self.n as f64;
            let dp = p - self.mean_pred;
            self.mean_pred += dp / n;
            let dr = r - self.mean_ref;
            self.mean_ref += dr / n;
            self.m2_pred += dp * (p - self.mean_pred);
            self.m2_ref += dr * (r - self.mean_ref);
            self.co_moment += dp * (r - self.mean_ref);
            let e = p - r;
            self.sum_sq_err += e * e;
            self.sum_abs_err += e.abs();
            if self.keep_values {
                self.preds.push(p);
                self.refs.push(r);
            }
        }
        Ok(())
    }

    /// Forgets everything accumulated; the configuration is kept.
    pub fn reset(&mut self) {
        *self = Self {
            keep_values: self.keep_values,
            ..Self::new()
        };
    }

    /// All metrics over everything accumulated since `new` or `reset`.
    pub fn compute(&self) -> Result<RegressionReport, MetricError> {
        if self.n == 0 {
            return Err(MetricError::Empty {
                metric: "regression",
            });
        }
        let n = self.n as f64;
        let mse = self.sum_sq_err / n;
        let mut notes = Vec::new();
        let ref_constant = self.m2_ref == 0.0;
        let pred_constant = self.m2_pred == 0.0;
        if ref_constant {
            notes.push(
                "r2, pearson and spearman undefined: the references have zero variance".to_string(),
            );
        } else if pred_constant {
            notes.push(
                "pearson and spearman undefined: the predictions have zero variance".to_string(),
            );
        }
        let r2 = (!ref_constant).then(|| 1.0 - self.sum_sq_err / self.m2_ref);
        let pearson = (!ref_constant && !pred_constant)
            .then(|| clamp_unit(self.co_moment / (self.m2_pred * self.m2_ref).sqrt()));
        let spearman = if self.keep_values && !ref_constant && !pred_constant {
            Some(clamp_unit(pearson_two_pass(
                &average_ranks(&self.preds),
                &average_ranks(&self.refs),
            )))
        } else {
            None
        };
        Ok(RegressionReport {
            num_examples: self.n,
            mse,
            rmse: mse.sqrt(),
            mae: self.sum_abs_err / n,
            r2,
            pearson,
            spearman,
            notes,
        })
    }
}

/// Rounding can push |r| a hair above 1 for perfectly (anti)correlated data.
fn clamp_unit(r: f64) -> f64 {
    r.clamp(-1.0, 1.0)
}

fn pearson_two_pass(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    sxy / (sxx * syy).sqrt()
}

/// Everything [`RegressionAccumulator::compute`] reports.
///
/// `r2`, `pearson` and `spearman` are `None` when undefined (a constant
/// input, or a single example); `notes` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    pub num_examples: u64,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    /// Coefficient of determination, `1 − SS_res / SS_tot`.
    pub r2: Option<f64>,
    pub pearson: Option<f64>,
    /// Pearson r of the ranks, ties sharing their average rank.
    pub spearman: Option<f64>,
    pub notes: Vec<String>,
}

impl RegressionReport {
    /// Flat view: `mse`, `rmse`, `mae`, and `r2`, `pearson`, `spearman` when defined.
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        m.insert("mse".to_string(), self.mse);
        m.insert("rmse".to_string(), self.rmse);
        m.insert("mae".to_string(), self.mae);
        for (k, v) in [
            ("r2", self.r2),
            ("pearson", self.pearson),
            ("spearman", self.spearman),
        ] {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        }
        m
    }
}
