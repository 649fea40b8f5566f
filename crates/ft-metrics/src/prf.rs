//! Precision, recall and F1 from counts, with an explicit zero-division rule.
//!
//! Classification and entity-level sequence labelling share this arithmetic;
//! only the F1 formula differs in the last bit between scikit-learn and
//! seqeval, so both are kept to match each library to the ulp.

use serde::{Deserialize, Serialize};

/// The value a ratio takes when its denominator is zero, as scikit-learn's and
/// seqeval's `zero_division` argument.
///
/// * precision of a class never predicted (`tp + fp = 0`),
/// * recall of a class absent from the references (`tp + fn = 0`),
/// * F1 when both are zero.
///
/// The default, [`ZeroDivision::Zero`], is what both libraries return with their
/// default `"warn"` (minus the warning). A macro average over no class at all
/// (sequence labelling where neither side has an entity) also takes this value,
/// where seqeval returns NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDivision {
    /// Undefined ratios count as 0.0.
    #[default]
    Zero,
    /// Undefined ratios count as 1.0.
    One,
}

impl ZeroDivision {
    /// The numeric value substituted for an undefined ratio.
    pub fn value(self) -> f64 {
        match self {
            ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
        }
    }
}

/// Raw counts for one class (or one entity type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Predicted and correct.
    pub true_positives: u64,
    /// Predicted as this class, right or wrong.
    pub predicted: u64,
    /// Present in the references (the support).
    pub actual: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, other: Counts) {
        self.true_positives += other.true_positives;
        self.predicted += other.predicted;
        self.actual += other.actual;
    }
}

/// Precision, recall, F1 and support of one class, or of an average.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Number of reference examples (or entities) the scores are about.
    pub support: u64,
}

/// Which F1 formula to use; equal in exact arithmetic, not in floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FFormula {
    /// scikit-learn >= 1.3: `2 tp / (2 tp + fp + fn)`.
    Counts,
    /// seqeval: `2 P R / (P + R)`, with a zero denominator giving 0.
    Harmonic,
}

fn ratio(num: f64, den: f64, zd: ZeroDivision) -> f64 {
    if den == 0.0 {
        zd.value()
    } else {
        num / den
    }
}

pub(crate) fn scores(c: Counts, zd: ZeroDivision, formula: FFormula) -> Scores {
    let tp = c.true_positives as f64;
    let precision = ratio(tp, c.predicted as f64, zd);
    let recall = ratio(tp, c.actual as f64, zd);
    let f1 = match formula {
        FFormula::Counts => ratio(2.0 * tp, (c.predicted + c.actual) as f64, zd),
        FFormula::Harmonic => {
            let den = precision + recall;
            if den == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / den
            }
        }
    };
    Scores {
        precision,
        recall,
        f1,
        support: c.actual,
    }
}

/// The micro, macro and weighted averages over `classes`.
pub(crate) struct Averages {
    pub micro: Scores,
    pub macro_avg: Scores,
    pub weighted: Scores,
}

pub(crate) fn averages(counts: &[Counts], zd: ZeroDivision, formula: FFormula) -> Averages {
    let mut total = Counts::default();
    for c in counts {
        total.add(*c);
    }
    let micro = scores(total, zd, formula);
    let per: Vec<Scores> = counts.iter().map(|c| scores(*c, zd, formula)).collect();
    let support = total.actual;

    let macro_avg = if per.is_empty() {
        Scores {
            precision: zd.value(),
            recall: zd.value(),
            f1: zd.value(),
            support,
        }
    } else {
        let n = per.len() as f64;
        Scores {
            precision: per.iter().map(|s| s.precision).sum::<f64>() / n,
            recall: per.iter().map(|s| s.recall).sum::<f64>() / n,
            f1: per.iter().map(|s| s.f1).sum::<f64>() / n,
            support,
        }
    };

    let weighted = if support == 0 {
        // seqeval's rule when no reference has any positive: precision and F1
        // are zero-division only if nothing was predicted either.
        let if_no_pred = if total.predicted == 0 {
            zd.value()
        } else {
            0.0
        };
        Scores {
            precision: if_no_pred,
            recall: zd.value(),
            f1: if_no_pred,
            support,
        }
    } else {
        let w = support as f64;
        let avg = |f: fn(&Scores) -> f64| {
            per.iter()
                .zip(counts)
                .map(|(s, c)| f(s) * c.actual as f64)
                .sum::<f64>()
                / w
        };
        Scores {
            precision: avg(|s| s.precision),
            recall: avg(|s| s.recall),
            f1: avg(|s| s.f1),
            support,
        }
    };
    Averages {
        micro,
        macro_avg,
        weighted,
    }
}
