//! Plain-text and JSON renderings of the reports, and the trait the trainer
//! uses to treat every report alike.
//!
//! The classification and sequence tables reproduce, character for character,
//! scikit-learn's `classification_report` and seqeval's, so numbers can be
//! compared with a Python run by eye. Pictures are drawn elsewhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::classification::ClassificationReport;
use crate::generative::{NllReport, VaeReport};
use crate::prf::Scores;
use crate::regression::RegressionReport;
use crate::sequence::SequenceReport;
use crate::MetricError;

/// Digits after the decimal point in [`MetricReport::to_text`].
pub const DEFAULT_DIGITS: usize = 4;

/// What every report offers: a flat view of its numbers, a text table and JSON.
pub trait MetricReport {
    /// `name -> value` for every defined scalar (undefined ones are left out).
    fn scalars(&self) -> BTreeMap<String, f64>;
    /// A human-readable table with [`DEFAULT_DIGITS`] digits.
    fn to_text(&self) -> String;
    /// The full report as pretty-printed JSON (undefined values are `null`).
    fn to_json(&self) -> Result<String, MetricError>;
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, MetricError> {
    serde_json::to_string_pretty(value).map_err(|e| MetricError::InvalidConfig(e.to_string()))
}

/// The column layout shared by scikit-learn and seqeval.
struct Table {
    out: String,
    width: usize,
    digits: usize,
}

impl Table {
    fn new<'a>(names: impl Iterator<Item = &'a str>, digits: usize) -> Self {
        let name_width = names.map(|n| n.chars().count()).max().unwrap_or(0);
        let width = name_width.max("weighted avg".len()).max(digits);
        let mut out = String::new();
        let _ = write!(
            out,
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}\n\n",
            "", "precision", "recall", "f1-score", "support"
        );
        Self { out, width, digits }
    }

    fn row(&mut self, name: &str, s: &Scores) {
        let (w, d) = (self.width, self.digits);
        let _ = writeln!(
            self.out,
            "{name:>w$}  {:>9.d$} {:>9.d$} {:>9.d$} {:>9}",
            s.precision, s.recall, s.f1, s.support
        );
    }
}

impl ClassificationReport {
    /// scikit-learn's `classification_report(digits=digits)` for these
    /// numbers, followed by top-k / ROC-AUC / log-loss lines when defined.
    pub fn text(&self, digits: usize) -> String {
        let mut t = Table::new(self.per_class.iter().map(|c| c.name.as_str()), digits);
        for c in &self.per_class {
            t.row(&c.name, &c.scores);
        }
        t.out.push('\n');
        let (w, d) = (t.width, digits);
        let _ = writeln!(
            t.out,
            "{:>w$}  {:>9} {:>9} {:>9.d$} {:>9}",
            "accuracy", "", "", self.accuracy, self.num_examples
        );
        t.row("macro avg", &self.macro_avg);
        t.row("weighted avg", &self.weighted);
        let mut extra = Vec::new();
        if let Some(b) = &self.binary {
            extra.push((
                format!("binary f1 (positive = {})", b.positive_label),
                b.scores.f1,
            ));
        }
        for k in &self.top_k_accuracy {
            extra.push((format!("top-{} accuracy", k.k), k.accuracy));
        }
        if let Some(v) = self.roc_auc {
            extra.push(("roc auc".to_string(), v));
        }
        if let Some(v) = self.log_loss {
            extra.push(("log loss".to_string(), v));
        }
        if !extra.is_empty() {
            t.out.push('\n');
            for (name, v) in extra {
                let _ = writeln!(t.out, "{name:>w$}  {v:>9.d$}");
            }
        }
        for note in &self.notes {
            let _ = writeln!(t.out, "note: {note}");
        }
        t.out
    }
}

impl MetricReport for ClassificationReport {
    fn scalars(&self) -> BTreeMap<String, f64> {
        ClassificationReport::scalars(self)
    }
    fn to_text(&self) -> String {
        self.text(DEFAULT_DIGITS)
    }
    fn to_json(&self) -> Result<String, MetricError> {
        json(self)
    }
}

impl SequenceReport {
    /// seqeval's `classification_report(digits=digits)` for these numbers,
    /// followed by the token accuracy.
    pub fn text(&self, digits: usize) -> String {
        let mut t = Table::new(self.per_type.iter().map(|e| e.entity_type.as_str()), digits);
        for e in &self.per_type {
            t.row(&e.entity_type, &e.scores);
        }
        t.out.push('\n');
        t.row("micro avg", &self.micro);
        t.row("macro avg", &self.macro_avg);
        t.row("weighted avg", &self.weighted);
        let (w, d) = (t.width, digits);
        let _ = write!(
            t.out,
            "\n{:>w$}  {:>9.d$}\n",
            "token accuracy", self.token_accuracy
        );
        t.out
    }
}

impl MetricReport for SequenceReport {
    fn scalars(&self) -> BTreeMap<String, f64> {
        SequenceReport::scalars(self)
    }
    fn to_text(&self) -> String {
        self.text(DEFAULT_DIGITS)
    }
    fn to_json(&self) -> Result<String, MetricError> {
        json(self)
    }
}

/// `name  value` lines, `undefined` for missing values.
fn key_values(rows: &[(&str, Option<f64>)], notes: &[String]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        match v {
            Some(v) => {
                let _ = writeln!(out, "{k:>width$}  {v:.prec$}", prec = DEFAULT_DIGITS);
            }
            None => {
                let _ = writeln!(out, "{k:>width$}  undefined");
            }
        }
    }
    for note in notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

impl MetricReport for RegressionReport {
    fn scalars(&self) -> BTreeMap<String, f64> {
        RegressionReport::scalars(self)
    }
    fn to_text(&self) -> String {
        key_values(
            &[
                ("mse", Some(self.mse)),
                ("rmse", Some(self.rmse)),
                ("mae", Some(self.mae)),
                ("r2", self.r2),
                ("pearson", self.pearson),
                ("spearman", self.spearman),
            ],
            &self.notes,
        )
    }
    fn to_json(&self) -> Result<String, MetricError> {
        json(self)
    }
}

impl MetricReport for NllReport {
    fn scalars(&self) -> BTreeMap<String, f64> {
        NllReport::scalars(self)
    }
    fn to_text(&self) -> String {
        key_values(
            &[
                ("nll", Some(self.mean_nll)),
                ("perplexity", Some(self.perplexity)),
                ("bits per dim", Some(self.bits_per_dim)),
            ],
            &[],
        )
    }
    fn to_json(&self) -> Result<String, MetricError> {
        json(self)
    }
}

impl MetricReport for VaeReport {
    fn scalars(&self) -> BTreeMap<String, f64> {
        VaeReport::scalars(self)
    }
    fn to_text(&self) -> String {
        key_values(
            &[
                ("reconstruction", Some(self.reconstruction)),
                ("kl", Some(self.kl)),
                ("elbo", Some(self.elbo)),
            ],
            &[],
        )
    }
    fn to_json(&self) -> Result<String, MetricError> {
        json(self)
    }
}
