//! Text data: readers that turn files into [`Example`]s, and the tokenizer that turns examples
//! into [`Encoded`] rows of token ids.
//!
//! The flow is `read_* → LabelMap::from_train → split → Tokenizer::encode_examples →
//! Loader` (see the crate docs).

pub mod align;
pub mod conll;
pub mod encode;
pub mod label_filter;
pub mod lines;
pub mod reader_csv;
pub mod reader_folder;
pub mod reader_jsonl;
pub mod tokenize;

pub use align::{align_word_labels, word_predictions, IGNORE_INDEX};
pub use conll::{check_tag, read_conll, read_conll_bytes, read_conll_from, ConllSpec};
pub use encode::{EncodeOptions, EncodeReport, Encoded, EncodedLabel};
pub use label_filter::LabelFilter;
pub use reader_csv::{read_csv, read_csv_bytes, read_csv_from, Column, CsvSpec, LabelKind};
pub use reader_folder::read_class_folders;
pub use reader_jsonl::{read_jsonl, read_jsonl_bytes, read_jsonl_from, JsonlSpec};
pub use tokenize::Tokenizer;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where an example came from, for error messages: the file and the 1-based line on which the
/// example starts (for CSV also the 0-based data row, which differs from the line when quoted
/// fields span lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Shared between all examples of a file so that a location costs one pointer.
    pub file: Arc<Path>,
    pub line: u64,
    pub row: Option<u64>,
}

impl Location {
    pub fn new(file: Arc<Path>, line: u64) -> Self {
        Location {
            file,
            line,
            row: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(row) = self.row {
            write!(f, " (row {row})")?;
        }
        Ok(())
    }
}

/// The text side of an example.
#[derive(Debug, Clone, PartialEq)]
pub enum TextInput {
    /// One text (sentiment, topic, regression on a word, ...).
    Single(String),
    /// A sentence pair (NLI, paraphrase): encoded as `[CLS] a [SEP] b [SEP]` with type ids 0/1.
    Pair(String, String),
    /// Pre-split words (token classification); the tokenizer keeps each token's word index.
    Words(Vec<String>),
}

/// The supervision side of an example.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// No label (prediction input).
    None,
    /// A class name, mapped to an id through the [`crate::LabelMap`] of the training split.
    Class(String),
    /// A regression target.
    Value(f32),
    /// One tag per word of [`TextInput::Words`].
    Tags(Vec<String>),
}

/// One example as read from a file, before tokenization.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub input: TextInput,
    pub target: Target,
    pub location: Location,
}

impl Example {
    /// The class name or the tags, the strings a label map is built from.
    pub fn label_strings(&self) -> Vec<&str> {
        match &self.target {
            Target::Class(c) => vec![c.as_str()],
            Target::Tags(t) => t.iter().map(String::as_str).collect(),
            Target::None | Target::Value(_) => Vec::new(),
        }
    }
}
