//! Single-label classification: accuracy, precision / recall / F1 under every
//! averaging, confusion matrix, top-k accuracy, ROC-AUC and log-loss.
//!
//! Numbers follow scikit-learn 1.9 with its default `labels=None`: per-class
//! rows and macro / weighted averages cover the classes that occur in the
//! references *or* the predictions, so a class the model has but never saw
//! nor predicted does not drag the macro average down. The confusion matrix
//! always has all `num_classes` rows and columns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::{check_same_len, class_index, ClassId};
use crate::prf::{self, Counts, FFormula, Scores, ZeroDivision};
use crate::ranking::average_ranks;
use crate::MetricError;

/// How per-class precision / recall / F1 are reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// The scores of one class, the positive label, alone.
    Binary { positive_label: usize },
    /// Unweighted mean over the classes present in references or predictions.
    Macro,
    /// Global counts; equals accuracy for single-label data.
    Micro,
    /// Mean weighted by each class's support in the references.
    Weighted,
}

/// Streams predictions and references, and reports classification metrics.
///
/// Feed either hard predictions ([`update`](Self::update)) or a row of
/// probabilities / logits per example ([`update_probs`](Self::update_probs),
/// [`update_logits`](Self::update_logits)); the predicted class of a row is
/// its argmax (the first one on ties, as numpy). Score-based metrics (top-k,
/// log-loss, ROC-AUC) are reported only when every example came with scores.
///
/// Memory is `O(num_classes²)`, plus one `f64` per example for ROC-AUC in the
/// two-class case (an exact AUC needs every score).
#[derive(Debug, Clone)]
pub struct ClassificationAccumulator {
    num_classes: usize,
    zero_division: ZeroDivision,
    positive_label: Option<usize>,
    top_k: Vec<usize>,
    class_names: Option<Vec<String>>,
    /// Row-major, row = reference class, column = predicted class.
    confusion: Vec<u64>,
    examples: u64,
    scored: u64,
    log_loss_sum: f64,
    top_k_hits: Vec<u64>,
    positive_scores: Vec<f64>,
    positive_refs: Vec<bool>,
}

impl ClassificationAccumulator {
    /// An empty accumulator for ids `0..num_classes`.
    pub fn new(num_classes: usize) -> Result<Self, MetricError> {
        if num_classes == 0 {
            return Err(MetricError::InvalidConfig(
                "num_classes must be at least 1".into(),
            ));
        }
        // Guard the C×C confusion matrix against an id mistaken for a count.
        if num_classes > 1 << 15 {
            return Err(MetricError::InvalidConfig(format!(
                "num_classes = {num_classes} would need a {num_classes}x{num_classes} confusion matrix; at most 32768 classes are supported"
            )));
        }
        Ok(Self {
            num_classes,
            zero_division: ZeroDivision::Zero,
            positive_label: None,
            top_k: Vec::new(),
            class_names: None,
            confusion: vec![0; num_classes * num_classes],
            examples: 0,
            scored: 0,
            log_loss_sum: 0.0,
            top_k_hits: Vec::new(),
            positive_scores: Vec::new(),
            positive_refs: Vec::new(),
        })
    }

    /// Sets the value of undefined ratios (default [`ZeroDivision::Zero`]).
    pub fn with_zero_division(mut self, zero_division: ZeroDivision) -> Self {
        self.zero_division = zero_division;
        self
    }

    /// Also report binary precision / recall / F1 for `label` (`average="binary"`).
    pub fn with_positive_label(mut self, label: usize) -> Result<Self, MetricError> {
        if label >= self.num_classes {
            return Err(MetricError::InvalidConfig(format!(
                "positive_label = {label} is not a class id in 0..{}",
                self.num_classes
            )));
        }
        self.positive_label = Some(label);
        Ok(self)
    }

    /// Report top-k accuracy for each `k` (needs scores; each `k >= 1`).
    pub fn with_top_k(mut self, ks: &[usize]) -> Result<Self, MetricError> {
        if let Some(pos) = ks.iter().position(|&k| k == 0) {
            return Err(MetricError::InvalidConfig(format!(
                "top_k[{pos}] = 0: k must be at least 1"
            )));
        }
        if self.examples > 0 {
            return Err(MetricError::InvalidConfig(
                "with_top_k must be called before the first update".into(),
            ));
        }
        let mut ks = ks.to_vec();
        ks.sort_unstable();
        ks.dedup();
        self.top_k_hits = vec![0; ks.len()];
        self.top_k = ks;
        Ok(self)
    }

    /// Names shown in reports instead of the class ids.
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, MetricError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.num_classes {
            return Err(MetricError::InvalidConfig(format!(
                "{} class names given for {} classes",
                names.len(),
                self.num_classes
            )));
        }
        self.class_names = Some(names);
        Ok(self)
    }

    /// The number of classes this accumulator was built for.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Number of examples accumulated so far.
    pub fn len(&self) -> u64 {
        self.examples
    }

    /// Whether nothing has been accumulated.
    pub fn is_empty(&self) -> bool {
        self.examples == 0
    }

    /// Adds a batch of predicted class ids and the matching reference ids.
    pub fn update<P: ClassId, R: ClassId>(
        &mut self,
        predictions: &[P],
        references: &[R],
    ) -> Result<(), MetricError> {
        check_same_len(
            "predictions",
            predictions.len(),
            "references",
            references.len(),
        )?;
        let c = self.num_classes;
        for (i, (&p, &r)) in predictions.iter().zip(references).enumerate() {
            class_index("predictions", i, p, c)?;
            class_index("references", i, r, c)?;
        }
        for (&p, &r) in predictions.iter().zip(references) {
            // Validated above, so the casts are in range.
            let (p, r) = (p.as_i128() as usize, r.as_i128() as usize);
            self.confusion[r * c + p] += 1;
        }
        self.examples += predictions.len() as u64;
        Ok(())
    }

    /// Adds a batch of probability rows (row-major, `num_classes` per example).
    ///
    /// Every value must be finite and in `[0, 1]`; rows are not renormalised
    /// (as scikit-learn's `log_loss`), and log-loss clips each probability to
    /// `[ε, 1 − ε]` with ε the `f64` machine epsilon.
    pub fn update_probs<T: Copy + Into<f64>, R: ClassId>(
        &mut self,
        probabilities: &[T],
        references: &[R],
    ) -> Result<(), MetricError> {
        self.check_scores("probabilities", probabilities.len(), references)?;
        for (index, &v) in probabilities.iter().enumerate() {
            let v: f64 = v.into();
            if !v.is_finite() {
                return Err(MetricError::NonFinite {
                    argument: "probabilities",
                    index,
                    value: v,
                });
            }
            if !(0.0..=1.0).contains(&v) {
                return Err(MetricError::NotAProbability {
                    argument: "probabilities",
                    index,
                    value: v,
                });
            }
        }
        let c = self.num_classes;
        let mut row = vec![0.0f64; c];
        for (chunk, &r) in probabilities.chunks_exact(c).zip(references) {
            for (dst, &src) in row.iter_mut().zip(chunk) {
                *dst = src.into();
            }
            self.add_scored_row(&row, r.as_i128() as usize);
        }
        Ok(())
    }

    /// Adds a batch of logit rows (row-major); each row goes through a softmax
    /// (in `f64`) and is then treated as by [`update_probs`](Self::update_probs).
    pub fn update_logits<T: Copy + Into<f64>, R: ClassId>(
        &mut self,
        logits: &[T],
        references: &[R],
    ) -> Result<(), MetricError> {
        self.check_scores("logits", logits.len(), references)?;
        crate::input::check_finite("logits", logits)?;
        let c = self.num_classes;
        let mut row = vec![0.0f64; c];
        for (chunk, &r) in logits.chunks_exact(c).zip(references) {
            let max = chunk
                .iter()
                .map(|&v| v.into())
                .fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (dst, &src) in row.iter_mut().zip(chunk) {
                *dst = (src.into() - max).exp();
                sum += *dst;
            }
            row.iter_mut().for_each(|v| *v /= sum);
            self.add_scored_row(&row, r.as_i128() as usize);
        }
        Ok(())
    }

    fn check_scores<R: ClassId>(
        &self,
        argument: &'static str,
        len: usize,
        references: &[R],
    ) -> Result<(), MetricError> {
        let c = self.num_classes;
        let expected = references.len() * c;
        if len != expected {
            return Err(MetricError::ScoreShape {
                argument,
                len,
                rows: references.len(),
                num_classes: c,
                expected,
            });
        }
        for (i, &r) in references.iter().enumerate() {
            class_index("references", i, r, c)?;
        }
        Ok(())
    }

    fn add_scored_row(&mut self, row: &[f64], reference: usize) {
        let c = self.num_classes;
        let mut pred = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[pred] {
                pred = j;
            }
        }
        self.confusion[reference * c + pred] += 1;
        self.examples += 1;
        self.scored += 1;

        let p = row[reference].clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        self.log_loss_sum -= p.ln();

        // scikit-learn ranks by a stable ascending sort reversed, so among
        // equal scores the higher class id ranks first.
        let s = row[reference];
        let rank = row
            .iter()
            .enumerate()
            .filter(|&(j, &v)| v > s || (v == s && j > reference))
            .count();
        for (hits, &k) in self.top_k_hits.iter_mut().zip(&self.top_k) {
            if rank < k {
                *hits += 1;
            }
        }
        if c == 2 {
            self.positive_scores.push(row[1]);
            self.positive_refs.push(reference == 1);
        }
    }

    /// Forgets everything accumulated; the configuration is kept.
    pub fn reset(&mut self) {
        self.confusion.iter_mut().for_each(|v| *v = 0);
        self.examples = 0;
        self.scored = 0;
        self.log_loss_sum = 0.0;
        self.top_k_hits.iter_mut().for_each(|v| *v = 0);
        self.positive_scores.clear();
        self.positive_refs.clear();
    }

    /// All metrics over everything accumulated since `new` or `reset`.
    pub fn compute(&self) -> Result<ClassificationReport, MetricError> {
        if self.examples == 0 {
            return Err(MetricError::Empty {
                metric: "classification",
            });
        }
        let c = self.num_classes;
        let n = self.examples;
        let confusion: Vec<Vec<u64>> = self
            .confusion
            .chunks_exact(c)
            .map(<[u64]>::to_vec)
            .collect();
        let confusion_normalized = confusion
            .iter()
            .map(|row| {
                let total: u64 = row.iter().sum();
                row.iter()
                    .map(|&v| {
                        if total == 0 {
                            0.0
                        } else {
                            v as f64 / total as f64
                        }
                    })
                    .collect()
            })
            .collect();
        let correct: u64 = (0..c).map(|i| self.confusion[i * c + i]).sum();

        let all_counts = self.class_counts();
        let present: Vec<usize> = (0..c)
            .filter(|&i| all_counts[i].actual > 0 || all_counts[i].predicted > 0)
            .collect();
        let present_counts: Vec<Counts> = present.iter().map(|&i| all_counts[i]).collect();
        let zd = self.zero_division;
        let avgs = prf::averages(&present_counts, zd, FFormula::Counts);
        let per_class = present
            .iter()
            .map(|&i| ClassScores {
                class: i,
                name: self.class_name(i),
                scores: prf::scores(all_counts[i], zd, FFormula::Counts),
            })
            .collect();

        let mut notes = Vec::new();
        let all_scored = self.scored == n;
        if self.scored > 0 && !all_scored {
            notes.push(format!(
                "top-k accuracy, log-loss and ROC-AUC omitted: only {} of {} examples came with scores",
                self.scored, n
            ));
        }
        let top_k_accuracy = if all_scored {
            self.top_k
                .iter()
                .zip(&self.top_k_hits)
                .map(|(&k, &hits)| TopK {
                    k,
                    accuracy: hits as f64 / n as f64,
                })
                .collect()
        } else {
            Vec::new()
        };
        let log_loss = all_scored.then(|| self.log_loss_sum / n as f64);
        let roc_auc = if all_scored && c == 2 {
            let auc = binary_roc_auc(&self.positive_scores, &self.positive_refs);
            if auc.is_none() {
                notes.push("ROC-AUC undefined: the references contain only one class".to_string());
            }
            auc
        } else {
            None
        };

        Ok(ClassificationReport {
            num_examples: n,
            num_classes: c,
            zero_division: zd,
            accuracy: correct as f64 / n as f64,
            per_class,
            micro: avgs.micro,
            macro_avg: avgs.macro_avg,
            weighted: avgs.weighted,
            binary: self.positive_label.map(|l| BinaryScores {
                positive_label: l,
                scores: prf::scores(all_counts[l], zd, FFormula::Counts),
            }),
            class_names: (0..c).map(|i| self.class_name(i)).collect(),
            confusion_matrix: confusion,
            confusion_matrix_normalized: confusion_normalized,
            top_k_accuracy,
            roc_auc,
            log_loss,
            notes,
        })
    }

    fn class_counts(&self) -> Vec<Counts> {
        let c = self.num_classes;
        let mut counts = vec![Counts::default(); c];
        for r in 0..c {
            for p in 0..c {
                let v = self.confusion[r * c + p];
                counts[r].actual += v;
                counts[p].predicted += v;
                if r == p {
                    counts[r].true_positives += v;
                }
            }
        }
        counts
    }

    fn class_name(&self, i: usize) -> String {
        match &self.class_names {
            Some(names) => names[i].clone(),
            None => i.to_string(),
        }
    }
}

/// Area under the ROC curve via the Mann-Whitney statistic; tied scores
/// count one half, which is what the trapezoidal ROC area gives.
fn binary_roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// The class id.
    pub class: usize,
    /// Its display name (the id as text unless names were given).
    pub name: String,
    #[serde(flatten)]
    pub scores: Scores,
}

/// `average="binary"` scores for the configured positive label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryScores {
    pub positive_label: usize,
    #[serde(flatten)]
    pub scores: Scores,
}

/// Top-k accuracy for one `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TopK {
    pub k: usize,
    pub accuracy: f64,
}

/// Everything [`ClassificationAccumulator::compute`] reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    pub num_examples: u64,
    pub num_classes: usize,
    pub zero_division: ZeroDivision,
    pub accuracy: f64,
    /// One row per class present in the references or the predictions, by id.
    pub per_class: Vec<ClassScores>,
    pub micro: Scores,
    #[serde(rename = "macro")]
    pub macro_avg: Scores,
    pub weighted: Scores,
    /// Present when a positive label was configured.
    pub binary: Option<BinaryScores>,
    /// Display names of all `num_classes` classes, for the confusion matrix axes.
    pub class_names: Vec<String>,
    /// `[reference][predicted]` counts over all classes.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Each row divided by its sum (recall per class on the diagonal); rows of
    /// classes absent from the references are all zero, as scikit-learn's
    /// `normalize="true"`.
    pub confusion_matrix_normalized: Vec<Vec<f64>>,
    /// Empty unless top-k was configured and every example came with scores.
    pub top_k_accuracy: Vec<TopK>,
    /// Two-class score input only; `None` when a class is missing from the references.
    pub roc_auc: Option<f64>,
    /// Mean negative log-likelihood of the reference class; needs scores.
    pub log_loss: Option<f64>,
    /// Why a metric is missing, in words.
    pub notes: Vec<String>,
}

impl ClassificationReport {
    /// Precision / recall / F1 under any [`Average`], from the stored counts.
    pub fn average(&self, average: Average) -> Result<Scores, MetricError> {
        match average {
            Average::Micro => Ok(self.micro),
            Average::Macro => Ok(self.macro_avg),
            Average::Weighted => Ok(self.weighted),
            Average::Binary { positive_label } => {
                if positive_label >= self.num_classes {
                    return Err(MetricError::InvalidConfig(format!(
                        "positive_label = {positive_label} is not a class id in 0..{}",
                        self.num_classes
                    )));
                }
                let l = positive_label;
                let m = &self.confusion_matrix;
                let counts = Counts {
                    true_positives: m[l][l],
                    predicted: m.iter().map(|row| row[l]).sum(),
                    actual: m[l].iter().sum(),
                };
                Ok(prf::scores(counts, self.zero_division, FFormula::Counts))
            }
        }
    }

    /// Flat `name -> value` view, for picking a model by one metric.
    ///
    /// Keys: `accuracy`, `{precision,recall,f1}_{micro,macro,weighted}`,
    /// `precision`/`recall`/`f1` (binary, when a positive label is set),
    /// `top{k}_accuracy`, `roc_auc`, `log_loss` (when defined).
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        m.insert("accuracy".to_string(), self.accuracy);
        for (suffix, s) in [
            ("micro", &self.micro),
            ("macro", &self.macro_avg),
            ("weighted", &self.weighted),
        ] {
            m.insert(format!("precision_{suffix}"), s.precision);
            m.insert(format!("recall_{suffix}"), s.recall);
            m.insert(format!("f1_{suffix}"), s.f1);
        }
        if let Some(b) = &self.binary {
            m.insert("precision".to_string(), b.scores.precision);
            m.insert("recall".to_string(), b.scores.recall);
            m.insert("f1".to_string(), b.scores.f1);
        }
        for t in &self.top_k_accuracy {
            m.insert(format!("top{}_accuracy", t.k), t.accuracy);
        }
        if let Some(v) = self.roc_auc {
            m.insert("roc_auc".to_string(), v);
        }
        if let Some(v) = self.log_loss {
            m.insert("log_loss".to_string(), v);
        }
        m
    }
}
