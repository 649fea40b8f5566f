//! Examples → token ids (with labels attached), in parallel.
//!
//! Every example is encoded once, before training, and the result is reused by every epoch
//! (like `dataset.map(tokenize, batched=True)`). Texts longer than `max_length` tokens are cut
//! (`truncation=True`, longest-first for pairs) and counted in the [`EncodeReport`]; with a
//! `stride`, the rest of a long text is kept as further overlapping windows instead (HF's
//! `return_overflowing_tokens=True, stride=...`), each window an [`Encoded`] row that remembers
//! its source example.
//!
//! Threads: encoding runs on a private rayon pool of [`EncodeOptions::threads`] threads. It is
//! done before the training loop starts, so it does not compete with libtorch's intra-op
//! threads; during training only the cheap collation runs beside libtorch (in the loader's
//! single prefetch thread).

use super::align::align_word_labels;
use super::{Example, Location, Target, TextInput, Tokenizer};
use crate::error::{DataError, Result};
use crate::labels::LabelMap;
use rayon::prelude::*;
use std::fmt;
use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy};
use tokenizers::PostProcessor;

/// The label of one encoded row.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodedLabel {
    None,
    /// Class id (sequence classification).
    Class(i64),
    /// Regression target.
    Value(f32),
    /// One label per token, [`super::IGNORE_INDEX`] where ignored (token classification).
    Tokens(Vec<i64>),
}

/// One tokenized row, unpadded.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub input_ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// For word input: the word index of each token (`None` for special tokens); used to map
    /// token predictions back to words. `None` for plain text input.
    pub word_ids: Option<Vec<Option<u32>>>,
    pub label: EncodedLabel,
    /// Index of the source example in the slice given to [`Tokenizer::encode_examples`].
    pub example: usize,
    /// 0 for the first (or only) window of the example, 1, 2, ... for overflow windows.
    pub window: u32,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }
}

/// Tokenization settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Maximum tokens per row, special tokens included (HF `max_length`).
    pub max_length: usize,
    /// `Some(s)`: keep the overflow of long texts as extra windows overlapping by `s` tokens;
    /// `None`: drop it (truncate).
    pub stride: Option<usize>,
    /// Encoding threads; defaults to all available cores (see the module docs).
    pub threads: usize,
}

impl EncodeOptions {
    pub fn new(max_length: usize) -> Self {
        EncodeOptions {
            max_length,
            stride: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }

    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = Some(stride);
        self
    }

    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }
}

/// What encoding did to the data, to print before training.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodeReport {
    pub examples: usize,
    /// Rows produced (more than `examples` with sliding windows).
    pub rows: usize,
    /// Examples longer than `max_length` (truncated, or split into windows with a stride).
    pub over_length: usize,
    /// Whether the over-length tail was dropped (no stride) or kept as windows.
    pub windowed: bool,
    /// Longest row after truncation, in tokens.
    pub longest: usize,
    pub max_length: usize,
    /// Up to five locations of over-length examples, for the message.
    pub first_over_length: Vec<Location>,
}

impl fmt::Display for EncodeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} examples → {} rows (longest {} tokens)",
            self.examples, self.rows, self.longest
        )?;
        if self.over_length > 0 {
            let what = if self.windowed {
                "split into windows"
            } else {
                "truncated"
            };
            let at: Vec<String> = self
                .first_over_length
                .iter()
                .map(|l| l.to_string())
                .collect();
            write!(
                f,
                "; {} longer than max_length {} were {what} (e.g. {})",
                self.over_length,
                self.max_length,
                at.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Label ids of the words of an example; an unseen tag names the line of its word.
fn tag_ids(tags: &[String], labels: &LabelMap, at: &Location) -> Result<Vec<i64>> {
    tags.iter()
        .enumerate()
        .map(|(i, t)| {
            let word_at = Location {
                line: at.line + i as u64,
                ..at.clone()
            };
            labels.id_at(t, &word_at).map(|id| id as i64)
        })
        .collect()
}

fn need_map<'a>(labels: Option<&'a LabelMap>, at: &Location) -> Result<&'a LabelMap> {
    labels.ok_or_else(|| {
        DataError::Invalid(format!(
            "{at}: class labels need a label map (build one with LabelMap::from_train)"
        ))
    })
}

impl Tokenizer {
    /// Tokenizes `examples`, attaching label ids from `labels` (required when the examples
    /// carry class names or tags). Returns one or more rows per example, in example order.
    ///
    /// Errors on an unknown label (naming label and line), a tokenizer failure, a stride too
    /// large for `max_length`, or an empty `examples`.
    pub fn encode_examples(
        &self,
        examples: &[Example],
        labels: Option<&LabelMap>,
        opts: &EncodeOptions,
    ) -> Result<(Vec<Encoded>, EncodeReport)> {
        if examples.is_empty() {
            return Err(DataError::EmptySplit {
                split: "input".into(),
                detail: "no example to tokenize".into(),
            });
        }
        // tokenizers asserts (panics) on a stride that does not fit and underflows on a
        // max_length below the special-token count, so both are checked here first.
        let has_pairs = examples
            .iter()
            .any(|e| matches!(e.input, TextInput::Pair(..)));
        let added = |pair: bool| {
            self.inner
                .get_post_processor()
                .map_or(0, |p| p.added_tokens(pair))
        };
        if opts.max_length <= added(has_pairs) {
            return Err(DataError::Invalid(format!(
                "max_length {} leaves no room next to {} special tokens",
                opts.max_length,
                added(has_pairs)
            )));
        }
        if let Some(stride) = opts.stride {
            if has_pairs {
                return Err(DataError::Invalid(
                    "sliding windows (stride) apply to single texts and word lists, not to sentence pairs"
                        .into(),
                ));
            }
            let room = opts.max_length - added(false);
            if stride >= room {
                return Err(DataError::Invalid(format!(
                    "stride {stride} must be below max_length {} minus {} special tokens",
                    opts.max_length,
                    added(false)
                )));
            }
        }
        let mut tk = self.inner.clone();
        tk.with_truncation(Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length: opts.max_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: opts.stride.unwrap_or(0),
        }))
        .map_err(|e| DataError::Invalid(format!("max_length/stride: {e}")))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.max(1))
            .build()
            .map_err(|e| DataError::Invalid(format!("thread pool: {e}")))?;

        let encode_one = |(index, ex): (usize, &Example)| -> Result<(Vec<Encoded>, bool)> {
            let at = &ex.location;
            let terr = |e: tokenizers::Error| DataError::Tokenizer {
                path: self.path.clone(),
                message: format!("{at}: {e}"),
            };
            let mut enc = match &ex.input {
                TextInput::Single(s) => tk.encode_fast(s.as_str(), true),
                TextInput::Pair(a, b) => tk.encode_fast((a.as_str(), b.as_str()), true),
                // `encode_fast` skips offsets and, with them, the word ids NER needs.
                TextInput::Words(w) => tk.encode(w.as_slice(), true),
            }
            .map_err(terr)?;
            let overflow = enc.take_overflowing();
            let over_length = !overflow.is_empty();
            let windows = if opts.stride.is_some() {
                std::iter::once(enc).chain(overflow).collect()
            } else {
                vec![enc]
            };
            let word_labels = match &ex.target {
                Target::Tags(tags) => Some(tag_ids(tags, need_map(labels, at)?, at)?),
                _ => None,
            };
            let label = match &ex.target {
                Target::None => EncodedLabel::None,
                Target::Class(c) => EncodedLabel::Class(need_map(labels, at)?.id_at(c, at)? as i64),
                Target::Value(v) => EncodedLabel::Value(*v),
                Target::Tags(_) => EncodedLabel::None, // per window below
            };
            let is_words = matches!(ex.input, TextInput::Words(_));
            let rows = windows
                .into_iter()
                .enumerate()
                .map(|(w, e)| {
                    let word_ids = is_words.then(|| e.get_word_ids().to_vec());
                    let label = match (&word_labels, &word_ids) {
                        (Some(wl), Some(ids)) => EncodedLabel::Tokens(align_word_labels(ids, wl)),
                        _ => label.clone(),
                    };
                    Encoded {
                        input_ids: e.get_ids().to_vec(),
                        type_ids: e.get_type_ids().to_vec(),
                        word_ids,
                        label,
                        example: index,
                        window: w as u32,
                    }
                })
                .collect();
            Ok((rows, over_length))
        };

        let per_example: Vec<(Vec<Encoded>, bool)> = pool.install(|| {
            examples
                .par_iter()
                .enumerate()
                .map(encode_one)
                .collect::<Result<_>>()
        })?;

        let mut report = EncodeReport {
            examples: examples.len(),
            windowed: opts.stride.is_some(),
            max_length: opts.max_length,
            ..EncodeReport::default()
        };
        let mut rows = Vec::with_capacity(examples.len());
        for (i, (r, over)) in per_example.into_iter().enumerate() {
            if over {
                report.over_length += 1;
                if report.first_over_length.len() < 5 {
                    report.first_over_length.push(examples[i].location.clone());
                }
            }
            rows.extend(r);
        }
        report.rows = rows.len();
        report.longest = rows.iter().map(Encoded::len).max().unwrap_or(0);
        Ok((rows, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::IGNORE_INDEX;
    use std::path::Path;
    use std::sync::Arc;

    /// A 16-token BERT vocabulary, so these tests need no downloaded model.
    fn tiny() -> (tempfile::TempDir, Tokenizer) {
        let dir = tempfile::tempdir().unwrap();
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n##s\n.\nnew\nyork\nis\nbig\n";
        std::fs::write(dir.path().join("vocab.txt"), vocab).unwrap();
        let tok = Tokenizer::from_dir(dir.path()).unwrap();
        (dir, tok)
    }

    fn ex(input: TextInput, target: Target, line: u64) -> Example {
        Example {
            input,
            target,
            location: Location::new(Arc::from(Path::new("data.csv")), line),
        }
    }

    #[test]
    fn truncation_is_counted_and_reported() {
        let (_d, tok) = tiny();
        assert_eq!(
            tok.encode_text("The cats sat.").unwrap(),
            [2, 5, 6, 10, 7, 11, 3]
        );
        let labels = LabelMap::from_labels(vec!["neg".into(), "pos".into()]).unwrap();
        let examples = vec![
            ex(
                TextInput::Single("the cat".into()),
                Target::Class("pos".into()),
                2,
            ),
            ex(
                TextInput::Single("the cat sat on the mat .".into()),
                Target::Class("neg".into()),
                3,
            ),
        ];
        let (rows, report) = tok
            .encode_examples(&examples, Some(&labels), &EncodeOptions::new(5).threads(1))
            .unwrap();
        assert_eq!(rows[0].input_ids, [2, 5, 6, 3]);
        assert_eq!(rows[1].input_ids, [2, 5, 6, 7, 3]);
        assert_eq!(
            (rows[0].label.clone(), rows[1].label.clone()),
            (EncodedLabel::Class(1), EncodedLabel::Class(0))
        );
        assert_eq!((report.over_length, report.rows, report.longest), (1, 2, 5));
        assert_eq!(
            report.to_string(),
            "2 examples → 2 rows (longest 5 tokens); 1 longer than max_length 5 were truncated (e.g. data.csv:3)"
        );
    }

    #[test]
    fn windows_overlap_by_the_stride() {
        let (_d, tok) = tiny();
        let examples = vec![ex(
            TextInput::Single("the cat sat on the mat .".into()),
            Target::Value(0.5),
            1,
        )];
        let (rows, report) = tok
            .encode_examples(&examples, None, &EncodeOptions::new(5).stride(1))
            .unwrap();
        // 7 word tokens, 3 per window, 1 shared with the previous window.
        let ids: Vec<Vec<u32>> = rows.iter().map(|r| r.input_ids.clone()).collect();
        assert_eq!(
            ids,
            [
                vec![2, 5, 6, 7, 3],
                vec![2, 7, 8, 5, 3],
                vec![2, 5, 9, 11, 3]
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.example == 0 && r.label == EncodedLabel::Value(0.5)));
        assert_eq!(rows.iter().map(|r| r.window).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((report.over_length, report.rows), (1, 3));
        for bad in [EncodeOptions::new(5).stride(3), EncodeOptions::new(2)] {
            let err = tok.encode_examples(&examples, None, &bad).unwrap_err();
            assert!(matches!(err, DataError::Invalid(_)), "{err}");
        }
        let pair = vec![ex(
            TextInput::Pair("the".into(), "cat".into()),
            Target::None,
            1,
        )];
        assert!(tok
            .encode_examples(&pair, None, &EncodeOptions::new(8).stride(1))
            .is_err());
        assert!(tok
            .encode_examples(&pair, None, &EncodeOptions::new(3))
            .is_err());
        let (rows, _) = tok
            .encode_examples(&pair, None, &EncodeOptions::new(4))
            .unwrap();
        // One slot for two texts: longest-first gives it to the second (HF does the same).
        assert_eq!(rows[0].input_ids, [2, 3, 6, 3]);
    }

    #[test]
    fn word_labels_go_on_first_sub_tokens() {
        let (_d, tok) = tiny();
        let labels =
            LabelMap::from_labels(vec!["B-LOC".into(), "I-LOC".into(), "O".into()]).unwrap();
        let words = ["New", "York", "cats"].map(String::from).to_vec();
        let tags = ["B-LOC", "I-LOC", "O"].map(String::from).to_vec();
        let examples = vec![ex(TextInput::Words(words.clone()), Target::Tags(tags), 10)];
        let (rows, _) = tok
            .encode_examples(&examples, Some(&labels), &EncodeOptions::new(16))
            .unwrap();
        assert_eq!(rows[0].input_ids, [2, 12, 13, 6, 10, 3]);
        assert_eq!(
            rows[0].word_ids.as_deref().unwrap(),
            [None, Some(0), Some(1), Some(2), Some(2), None]
        );
        assert_eq!(
            rows[0].label,
            EncodedLabel::Tokens(vec![IGNORE_INDEX, 0, 1, 2, IGNORE_INDEX, IGNORE_INDEX])
        );
        let bad = vec![ex(
            TextInput::Words(words),
            Target::Tags(["B-LOC", "I-LOC", "B-PER"].map(String::from).to_vec()),
            10,
        )];
        let err = tok
            .encode_examples(&bad, Some(&labels), &EncodeOptions::new(16))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("data.csv:12: label `B-PER`"),
            "{err}"
        );
    }

    #[test]
    fn missing_map_unknown_class_and_empty_input_are_errors() {
        let (_d, tok) = tiny();
        let e = vec![ex(
            TextInput::Single("cat".into()),
            Target::Class("pos".into()),
            4,
        )];
        assert!(matches!(
            tok.encode_examples(&e, None, &EncodeOptions::new(8)),
            Err(DataError::Invalid(_))
        ));
        let other = LabelMap::from_labels(vec!["neg".into()]).unwrap();
        let err = tok
            .encode_examples(&e, Some(&other), &EncodeOptions::new(8))
            .unwrap_err();
        assert!(
            matches!(&err, DataError::UnknownLabel { line: 4, label, .. } if label == "pos"),
            "{err}"
        );
        assert!(matches!(
            tok.encode_examples(&[], None, &EncodeOptions::new(8)),
            Err(DataError::EmptySplit { .. })
        ));
    }
}
