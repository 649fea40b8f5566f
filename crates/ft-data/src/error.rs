//! The one error type of the text pipeline.
//!
//! Every variant that comes from an input file names the file and the line (and the CSV row or
//! the field where that helps), so a user can open the file at the right place without a
//! debugger. Library code returns these; binaries wrap them in `anyhow`.

use std::path::PathBuf;

/// Errors raised while reading, labelling, splitting, tokenizing or batching text data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (including a corrupt `.gz`/`.bz2` stream).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Bytes that are not UTF-8. `field` is set when the reader knows the column.
    #[error("{}:{line}: invalid UTF-8{}", path.display(), field.as_deref().map(|f| format!(" in field `{f}`")).unwrap_or_default())]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        field: Option<String>,
    },

    /// The header (or the column mapping) does not have the requested column at all.
    #[error("{}: no column `{column}` (available: {available})", path.display())]
    UnknownColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    /// A data row is shorter than the header / the requested column index.
    #[error("{}:{line}: row {row} has {found} field(s), column `{column}` is missing", path.display())]
    MissingColumn {
        path: PathBuf,
        line: u64,
        row: u64,
        column: String,
        found: usize,
    },

    /// A JSONL object lacks a field, or the field has the wrong JSON type.
    #[error("{}:{line}: field `{field}`: {message}", path.display())]
    BadField {
        path: PathBuf,
        line: u64,
        field: String,
        message: String,
    },

    /// A syntax problem: CSV quoting, JSON syntax, a CoNLL line without a tag, ...
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        message: String,
    },

    /// A label value that the configured label filter neither maps nor drops.
    #[error("{}:{line}: label value `{value}` is not covered by the label filter (known: {known})", path.display())]
    UnmappedLabel {
        path: PathBuf,
        line: u64,
        value: String,
        known: String,
    },

    /// A label (class or tag) found in an eval/predict split that the training split never had.
    #[error("{}:{line}: label `{label}` does not occur in the training split (known labels: {known})", path.display())]
    UnknownLabel {
        path: PathBuf,
        line: u64,
        label: String,
        known: String,
    },

    /// A split (or a whole data set after filtering) with no examples in it.
    #[error("the {split} split is empty: {detail}")]
    EmptySplit { split: String, detail: String },

    /// Loading or running the tokenizer failed.
    #[error("tokenizer {}: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },

    /// `id2label`/`label2id` in a model's `config.json` are missing or inconsistent.
    #[error("label map in config.json: {0}")]
    LabelConfig(String),

    /// A caller passed settings that cannot work (batch size 0, fractions above 1, ...).
    #[error("invalid setting: {0}")]
    Invalid(String),

    /// An image file that cannot be decoded (corrupt, truncated, not an image), or that a
    /// transform cannot handle.
    #[error("{}: bad image: {message}", path.display())]
    BadImage { path: PathBuf, message: String },

    /// Examples of different kinds (e.g. class labels and regression targets) in one batch.
    #[error("cannot batch together: {0}")]
    MixedBatch(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
