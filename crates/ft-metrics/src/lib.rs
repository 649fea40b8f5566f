//! Evaluation metrics for fine-tuning, in pure Rust (no libtorch).
//!
//! Every metric family is a streaming accumulator: call `update` once per
//! evaluation batch with plain slices, `compute` at the end, `reset` to start
//! over. Bad input (mismatched lengths, an out-of-range class id, NaN, an
//! unknown tag) is a [`MetricError`] naming the argument and index; a failed
//! `update` leaves the accumulator unchanged. All sums are kept in `f64`.
//!
//! | accumulator | metrics | matches |
//! |---|---|---|
//! | [`ClassificationAccumulator`] | accuracy, top-k, precision / recall / F1 (binary, micro, macro, weighted, per class), confusion matrix, ROC-AUC, log-loss | scikit-learn |
//! | [`SequenceAccumulator`] | entity precision / recall / F1 (default and strict IOB2 / IOBES), per type, token accuracy | seqeval |
//! | [`RegressionAccumulator`] | MSE, RMSE, MAE, R², Pearson, Spearman | scikit-learn, scipy |
//! | [`NllAccumulator`] | mean NLL, perplexity, bits per dimension | |
//! | [`VaeAccumulator`] | reconstruction, KL, ELBO | |
//!
//! Each report is `serde`-serialisable and implements [`MetricReport`]:
//! `scalars()` gives a flat `name -> value` map (`accuracy`, `f1_macro`,
//! `entity_f1`, `r2`, `perplexity`, ...) to pick the best checkpoint by name,
//! `to_text()` a table like scikit-learn's `classification_report`.
//!
//! Undefined ratios follow an explicit [`ZeroDivision`] rule; statistics that
//! are undefined for the data (R² or Pearson on a constant series, ROC-AUC with
//! one class) are `None` with a note saying why, never a silent NaN.
//!
//! ```
//! use ft_metrics::{ClassificationAccumulator, MetricReport};
//!
//! let mut acc = ClassificationAccumulator::new(3)?.with_top_k(&[2])?;
//! // Two batches of logits (row-major, 3 classes) with their labels.
//! acc.update_logits(&[2.0f32, 0.1, 0.3, 0.2, 1.5, 0.3], &[0i64, 2])?;
//! acc.update_logits(&[0.1f32, 0.2, 3.0], &[2i64])?;
//! let report = acc.compute()?;
//! assert!((report.accuracy - 2.0 / 3.0).abs() < 1e-12);
//! assert_eq!(report.scalars()["top2_accuracy"], 1.0);
//! println!("{}", report.to_text());
//! # Ok::<(), ft_metrics::MetricError>(())
//! ```

mod chunking;
mod classification;
mod error;
mod generative;
mod input;
mod prf;
mod ranking;
mod regression;
mod report;
mod sequence;

pub use chunking::{Mode, Scheme};
pub use classification::{
    Average, BinaryScores, ClassScores, ClassificationAccumulator, ClassificationReport, TopK,
};
pub use error::MetricError;
pub use generative::{NllAccumulator, NllReport, VaeAccumulator, VaeReport};
pub use input::ClassId;
pub use prf::{Counts, Scores, ZeroDivision};
pub use regression::{RegressionAccumulator, RegressionReport};
pub use report::{MetricReport, DEFAULT_DIGITS};
pub use sequence::{EntityScores, SequenceAccumulator, SequenceReport};
