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

/// How many characters of a user's value an error message quotes.
pub const QUOTE_CHARS: usize = 80;

/// A user value (a cell, a header name, a tag) as an error message quotes it: whole when short,
/// otherwise its first [`QUOTE_CHARS`] characters and its full length, so a 50 MB header line
/// never becomes a 50 MB message. Debug-quoted (`"…"`), so blanks and control bytes show.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_CHARS) {
        None => format!("{value:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes in all)", &value[..end], value.len()),
    }
}

/// Like [`quote`], without the quotes: for names shown in backticks (columns, fields).
pub fn shorten(value: &str) -> String {
    match value.char_indices().nth(QUOTE_CHARS) {
        None => value.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &value[..end], value.len()),
    }
}

/// A list of names for a message (`a, b, c`), each shortened and at most `max` of them.
pub fn name_list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for name in names {
        if n < max {
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str(&shorten(name));
        }
        n += 1;
    }
    if n > max {
        out.push_str(&format!(", … {} more", n - max));
    }
    out
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_their_length() {
        assert_eq!(quote("short"), "\"short\"");
        let long = "é".repeat(1000);
        let q = quote(&long);
        assert!(q.len() < 200, "{q}");
        assert!(q.ends_with("(2000 bytes in all)"), "{q}");
        assert_eq!(shorten("col"), "col");
        assert!(shorten(&"x".repeat(100)).contains("… (100 bytes in all)"));
        assert_eq!(name_list(["a", "b", "c"], 2), "a, b, … 1 more");
    }
}
