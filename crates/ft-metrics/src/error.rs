//! The one error type of this crate.
//!
//! Every variant names the argument and, where there is one, the index of the
//! offending element within the batch passed to `update`, so a message alone is
//! enough to find the bad value.

use thiserror::Error;

/// Why an `update`, a constructor or a `compute` refused its input.
///
/// A failed `update` leaves the accumulator exactly as it was: batches are
/// validated in full before anything is counted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricError {
    /// Two inputs that must pair up element by element have different lengths.
    #[error("length mismatch: `{left}` has {left_len} elements but `{right}` has {right_len}")]
    LengthMismatch {
        left: &'static str,
        left_len: usize,
        right: &'static str,
        right_len: usize,
    },

    /// Sentence `sentence` has a different number of tags in predictions and references.
    #[error(
        "length mismatch in sentence {sentence}: predictions have {pred_len} tags, references have {ref_len}"
    )]
    SentenceLengthMismatch {
        sentence: usize,
        pred_len: usize,
        ref_len: usize,
    },

    /// A class id is negative or not below the number of classes.
    #[error("`{argument}`[{index}] = {value} is not a class id in 0..{num_classes}")]
    LabelOutOfRange {
        argument: &'static str,
        index: usize,
        value: i128,
        num_classes: usize,
    },

    /// A floating-point input is NaN or infinite.
    #[error("`{argument}`[{index}] is {value}, expected a finite number")]
    NonFinite {
        argument: &'static str,
        index: usize,
        value: f64,
    },

    /// A probability lies outside [0, 1].
    #[error("`{argument}`[{index}] = {value} is not a probability in [0, 1]")]
    NotAProbability {
        argument: &'static str,
        index: usize,
        value: f64,
    },

    /// A flat score matrix does not have `rows * num_classes` values.
    #[error(
        "`{argument}` has {len} values, expected {rows} rows x {num_classes} classes = {expected}"
    )]
    ScoreShape {
        argument: &'static str,
        len: usize,
        rows: usize,
        num_classes: usize,
        expected: usize,
    },

    /// A sequence-labelling tag has a prefix the chosen scheme does not allow.
    #[error("`{argument}`[{sentence}][{position}] = {tag:?}: {reason}")]
    InvalidTag {
        argument: &'static str,
        sentence: usize,
        position: usize,
        tag: String,
        reason: String,
    },

    /// `compute` was called before any example was accumulated.
    #[error("{metric}: nothing accumulated yet, call `update` with at least one example first")]
    Empty { metric: &'static str },

    /// A constructor or builder argument is out of its domain.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}
