//! CoNLL-style token-per-line reader for token classification (NER, POS).
//!
//! Format, as accepted here:
//! - one token per line: `token<TAB>tag` or `token<spaces>tag`; extra columns are allowed
//!   (CoNLL-2003 has `token POS chunk NER`) and the tag is the last column unless
//!   [`ConllSpec::tag_column`] says otherwise. A line that contains a TAB is split on TABs only
//!   (so a token may contain spaces), otherwise on runs of whitespace;
//! - sentences are separated by a blank or whitespace-only line (the WNUT-16 file uses a line
//!   holding a single TAB);
//! - `-DOCSTART-` lines are skipped;
//! - a token line without a tag is an error naming file and line (for prediction input read
//!   with [`ConllSpec::unlabelled`], one column is enough).
//!
//! Each sentence becomes an [`Example`] whose location is the line of its first token; its
//! `i`-th word is on line `location.line + i`, which is how label errors name the exact line.

use super::lines::NumberedLines;
use super::{Example, Location, Target, TextInput};
use crate::error::{quote, DataError, Result};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// Which columns hold the token and the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllSpec {
    pub token_column: usize,
    /// `None`: the last column.
    pub tag_column: Option<usize>,
    /// Whether tags are required (training/eval) or absent (prediction input).
    pub labelled: bool,
    /// Whether every tag must be a chunk tag ([`check_tag`]: `O`, `B-X`, `I-X`, …), as the
    /// span metrics of token classification need. On by default so that a malformed tag is
    /// reported with its line when the file is read, not after training; off for tag sets
    /// that are not chunks (part-of-speech columns).
    pub chunk_tags: bool,
}

impl Default for ConllSpec {
    fn default() -> Self {
        ConllSpec {
            token_column: 0,
            tag_column: None,
            labelled: true,
            chunk_tags: true,
        }
    }
}

/// Checks that `tag` is a chunk tag the span metrics understand, with the same rules as the
/// seqeval-compatible decoder of `ft-metrics` (default mode): exactly `O`, or one of the
/// prefixes `B I E S`, alone or followed by `-` and a type (`B-PER`, `I-LOC`). An `I-` tag
/// that starts a span (after `O`) is legal, as seqeval accepts it; `PER` (no prefix), `X-LOC`
/// (unknown prefix) and `BPER` (no dash) are not. The error says what is wrong; callers add
/// the file and line.
pub fn check_tag(tag: &str) -> std::result::Result<(), String> {
    let mut chars = tag.chars();
    let first = chars.next();
    let rest = chars.as_str();
    let ok = match first {
        Some('O') => rest.is_empty(),
        Some('B' | 'I' | 'E' | 'S') => rest.is_empty() || rest.starts_with('-'),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "tag {} is not in BIO/IOB2 form: expected `O` or a prefix B-, I- (or E-, S-) \
         followed by the entity type, e.g. `B-PER`",
        quote(tag)
    ))
}

impl ConllSpec {
    /// Tokens only; any further column is ignored.
    pub fn unlabelled() -> Self {
        ConllSpec {
            labelled: false,
            ..Self::default()
        }
    }
}

/// Reads all sentences of a CoNLL-style file (plain, `.gz` or `.bz2`).
pub fn read_conll(path: &Path, spec: &ConllSpec) -> Result<Vec<Example>> {
    read_conll_from(crate::source::open(path)?, path, spec)
}

/// [`read_conll`] on bytes already in memory; `name` stands for the file in errors.
pub fn read_conll_bytes(bytes: &[u8], name: &Path, spec: &ConllSpec) -> Result<Vec<Example>> {
    read_conll_from(bytes, name, spec)
}

/// [`read_conll`] on any buffered stream of (decompressed) bytes; `path` names it in errors.
pub fn read_conll_from<R: BufRead>(
    input: R,
    path: &Path,
    spec: &ConllSpec,
) -> Result<Vec<Example>> {
    let file: Arc<Path> = Arc::from(path);
    let mut examples = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut start = 0u64;
    let flush =
        |words: &mut Vec<String>, tags: &mut Vec<String>, start: u64, out: &mut Vec<Example>| {
            if words.is_empty() {
                return;
            }
            out.push(Example {
                input: TextInput::Words(std::mem::take(words)),
                target: if spec.labelled {
                    Target::Tags(std::mem::take(tags))
                } else {
                    Target::None
                },
                location: Location::new(file.clone(), start),
            });
        };
    for item in NumberedLines::new(input, path) {
        let (line, text) = item?;
        if text.trim().is_empty() {
            flush(&mut words, &mut tags, start, &mut examples);
            continue;
        }
        let fields: Vec<&str> = if text.contains('\t') {
            text.split('\t').map(str::trim).collect()
        } else {
            text.split_whitespace().collect()
        };
        if fields[0] == "-DOCSTART-" {
            flush(&mut words, &mut tags, start, &mut examples);
            continue;
        }
        let syntax = |message: String| DataError::Syntax {
            path: path.to_path_buf(),
            line,
            message,
        };
        let token = fields
            .get(spec.token_column)
            .copied()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                syntax(format!(
                    "no token in column {} of {}",
                    spec.token_column + 1,
                    quote(&text)
                ))
            })?;
        if spec.labelled {
            let tag_col = spec.tag_column.unwrap_or(fields.len() - 1);
            let tag = fields
                .get(tag_col)
                .copied()
                .filter(|t| !t.is_empty() && (fields.len() > 1 || spec.tag_column.is_some()))
                .filter(|_| tag_col != spec.token_column)
                .ok_or_else(|| {
                    syntax(format!(
                        "token {} has no tag (expected `token<TAB>tag`)",
                        quote(token)
                    ))
                })?;
            if spec.chunk_tags {
                check_tag(tag).map_err(&syntax)?;
            }
            tags.push(tag.to_owned());
        }
        if words.is_empty() {
            start = line;
        }
        words.push(token.to_owned());
    }
    flush(&mut words, &mut tags, start, &mut examples);
    if examples.is_empty() {
        return Err(DataError::EmptySplit {
            split: "input".into(),
            detail: format!("{} holds no sentence", path.display()),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_tags(e: &Example) -> (Vec<&str>, Vec<&str>) {
        match (&e.input, &e.target) {
            (TextInput::Words(w), Target::Tags(t)) => (
                w.iter().map(String::as_str).collect(),
                t.iter().map(String::as_str).collect(),
            ),
            _ => unreachable!(),
        }
    }

    #[test]
    fn separators_docstart_and_extra_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ner.txt");
        std::fs::write(
            &p,
            "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\t\n\
             New York\tB-LOC\n   \nPeter\tB-PER\r\n",
        )
        .unwrap();
        let ex = read_conll(&p, &ConllSpec::default()).unwrap();
        assert_eq!(ex.len(), 3);
        assert_eq!(
            words_tags(&ex[0]),
            (vec!["EU", "rejects"], vec!["B-ORG", "O"])
        );
        assert_eq!(ex[0].location.line, 3);
        assert_eq!(words_tags(&ex[1]), (vec!["New York"], vec!["B-LOC"]));
        assert_eq!(ex[1].location.line, 6);
        assert_eq!(words_tags(&ex[2]), (vec!["Peter"], vec!["B-PER"]));

        let pos = ConllSpec {
            tag_column: Some(1),
            chunk_tags: false,
            ..ConllSpec::default()
        };
        let ex = read_conll(&p, &pos).unwrap();
        assert_eq!(words_tags(&ex[0]).1, vec!["NNP", "VBZ"]);
    }

    #[test]
    fn a_token_without_tag_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.conll");
        std::fs::write(&p, "a\tO\n\nb\tO\nlonely\n").unwrap();
        let err = read_conll(&p, &ConllSpec::default()).unwrap_err();
        assert!(matches!(err, DataError::Syntax { line: 4, .. }), "{err}");
        assert!(err.to_string().contains("bad.conll:4"), "{err}");
        std::fs::write(&p, "a\t\n").unwrap();
        assert!(read_conll(&p, &ConllSpec::default()).is_err());
        std::fs::write(&p, "a\nb\n\nc\n").unwrap();
        assert_eq!(read_conll(&p, &ConllSpec::unlabelled()).unwrap().len(), 2);
    }

    #[test]
    fn tags_not_in_bio_form_are_refused_at_read_time() {
        let spec = ConllSpec::default();
        for (tag, line) in [("PER", 3), ("X-LOC", 3), ("BPER", 3), ("o", 3)] {
            let data = format!("EU\tB-ORG\nsays\tO\nPeter\t{tag}\n");
            let err = read_conll_bytes(data.as_bytes(), Path::new("t.conll"), &spec)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!(
                    "t.conll:{line}: tag \"{tag}\" is not in BIO/IOB2 form"
                )),
                "{tag}: {err}"
            );
        }
        // `O`, B-/I-, a span opened by I- after O (seqeval accepts it) and bare prefixes are legal.
        let ok = b"a\tO\nb\tI-PER\nc\tB-LOC\nd\tI-LOC\ne\tS-X\nf\tB\n";
        assert_eq!(
            read_conll_bytes(ok, Path::new("t.conll"), &spec)
                .unwrap()
                .len(),
            1
        );
        // Part-of-speech columns are not chunks: no check when asked.
        let pos = ConllSpec {
            chunk_tags: false,
            ..ConllSpec::default()
        };
        assert!(read_conll_bytes(b"a\tNNP\n", Path::new("p.conll"), &pos).is_ok());
        let err = read_conll_bytes(b"a\tO\nlonely\n", Path::new("t.conll"), &spec)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.conll:2: token \"lonely\" has no tag"),
            "{err}"
        );
    }
}
