//! JSON Lines reader: one JSON object per line.
//!
//! The text field may be a string (a document) or an array of strings (pre-split words for
//! token classification, e.g. `{"tokens": [...], "ner_tags": [...]}`); in the second case the
//! label field must be an array of the same length and becomes per-word tags. Numeric class
//! labels (`"label": 1`) are kept as their text (`"1"`), so the label map sorts them like the
//! other strings. Blank lines are skipped.

use super::conll::check_tag;
use super::lines::NumberedLines;
use super::reader_csv::{parse_target, LabelKind};
use super::{Example, LabelFilter, Location, Target, TextInput};
use crate::error::{quote, shorten, DataError, Result};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// Field names of a JSONL file.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonlSpec {
    pub text: String,
    pub text_pair: Option<String>,
    pub label: Option<String>,
    pub label_kind: LabelKind,
    /// Renames/drops class values (not applied to per-word tags or regression targets).
    pub label_filter: Option<LabelFilter>,
}

impl JsonlSpec {
    pub fn new(text: &str) -> Self {
        JsonlSpec {
            text: text.to_owned(),
            text_pair: None,
            label: None,
            label_kind: LabelKind::Class,
            label_filter: None,
        }
    }

    pub fn label(mut self, field: &str) -> Self {
        self.label = Some(field.to_owned());
        self
    }

    pub fn pair(mut self, field: &str) -> Self {
        self.text_pair = Some(field.to_owned());
        self
    }

    pub fn regression(mut self) -> Self {
        self.label_kind = LabelKind::Value;
        self
    }

    pub fn filter(mut self, filter: LabelFilter) -> Self {
        self.label_filter = Some(filter);
        self
    }
}

/// Reads every example of a JSONL file (plain, `.gz` or `.bz2`).
///
/// Errors name the file and line: a line that is not a JSON object, a missing field or one of
/// the wrong type, an empty label, per-word tags not in BIO/IOB2 form ([`check_tag`]), and a
/// regression target that is missing, not a number, NaN or infinite.
pub fn read_jsonl(path: &Path, spec: &JsonlSpec) -> Result<Vec<Example>> {
    read_jsonl_from(crate::source::open(path)?, path, spec)
}

/// [`read_jsonl`] on bytes already in memory; `name` stands for the file in errors.
pub fn read_jsonl_bytes(bytes: &[u8], name: &Path, spec: &JsonlSpec) -> Result<Vec<Example>> {
    read_jsonl_from(bytes, name, spec)
}

/// [`read_jsonl`] on any buffered stream of (decompressed) bytes; `path` names it in errors.
pub fn read_jsonl_from<R: BufRead>(
    input: R,
    path: &Path,
    spec: &JsonlSpec,
) -> Result<Vec<Example>> {
    let file: Arc<Path> = Arc::from(path);
    let mut examples = Vec::new();
    let mut rows = 0u64;
    for item in NumberedLines::new(input, path) {
        let (line, text) = item?;
        if text.trim().is_empty() {
            continue;
        }
        rows += 1;
        let obj: Value = serde_json::from_str(&text).map_err(|e| DataError::Syntax {
            path: path.to_path_buf(),
            line,
            message: format!("invalid JSON: {e}"),
        })?;
        let bad = |field: &str, message: String| DataError::BadField {
            path: path.to_path_buf(),
            line,
            field: shorten(field),
            message,
        };
        if !obj.is_object() {
            return Err(DataError::Syntax {
                path: path.to_path_buf(),
                line,
                message: format!("expected a JSON object, found {}", quote(&obj.to_string())),
            });
        }
        let get = |field: &str| -> Result<&Value> {
            obj.get(field)
                .ok_or_else(|| bad(field, "missing from this object".into()))
        };
        let as_str = |field: &str, v: &Value| -> Result<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(bad(
                    field,
                    format!("expected a string, found {}", quote(&other.to_string())),
                )),
            }
        };

        let input = match get(&spec.text)? {
            Value::Array(words) => TextInput::Words(
                words
                    .iter()
                    .map(|w| as_str(&spec.text, w))
                    .collect::<Result<_>>()?,
            ),
            v => {
                let a = as_str(&spec.text, v)?;
                match &spec.text_pair {
                    None => TextInput::Single(a),
                    Some(p) => TextInput::Pair(a, as_str(p, get(p)?)?),
                }
            }
        };
        let target = match &spec.label {
            None => Target::None,
            Some(field) => {
                let v = get(field)?;
                match (&input, v, spec.label_kind) {
                    (TextInput::Words(words), Value::Array(tags), _) => {
                        if tags.len() != words.len() {
                            return Err(bad(
                                field,
                                format!("{} tags for {} words", tags.len(), words.len()),
                            ));
                        }
                        let tags: Vec<String> = tags
                            .iter()
                            .map(|t| as_str(field, t))
                            .collect::<Result<_>>()?;
                        for (i, t) in tags.iter().enumerate() {
                            check_tag(t).map_err(|m| bad(field, format!("word {i}: {m}")))?;
                        }
                        Target::Tags(tags)
                    }
                    (TextInput::Words(_), other, _) => {
                        return Err(bad(
                            field,
                            format!(
                                "words need an array of tags, found {}",
                                quote(&other.to_string())
                            ),
                        ))
                    }
                    (_, v, LabelKind::Value) => {
                        let x = match v {
                            // JSON numbers are finite, but may not fit an f32 (1e39).
                            Value::Number(n) => parse_target(&n.to_string()),
                            Value::String(s) => parse_target(s),
                            other => Err(format!(
                                "cannot read {} as a number",
                                quote(&other.to_string())
                            )),
                        };
                        Target::Value(x.map_err(|m| bad(field, m))?)
                    }
                    (_, v, LabelKind::Class) => {
                        let raw = as_str(field, v)?;
                        let dropped = spec
                            .label_filter
                            .as_ref()
                            .is_some_and(|f| f.apply(&raw) == Some(None));
                        if raw.trim().is_empty() && !dropped {
                            return Err(bad(
                                field,
                                "the label is empty; every object needs a label".into(),
                            ));
                        }
                        match &spec.label_filter {
                            None => Target::Class(raw),
                            Some(f) => match f.apply(&raw) {
                                Some(Some(name)) => Target::Class(name.to_owned()),
                                Some(None) => continue,
                                None => {
                                    return Err(DataError::UnmappedLabel {
                                        path: path.to_path_buf(),
                                        line,
                                        value: shorten(&raw),
                                        known: shorten(&f.known()),
                                    })
                                }
                            },
                        }
                    }
                }
            }
        };
        examples.push(Example {
            input,
            target,
            location: Location::new(file.clone(), line),
        });
    }
    if examples.is_empty() {
        return Err(DataError::EmptySplit {
            split: "input".into(),
            detail: format!(
                "{} has {rows} object(s) and none is left after the label filter",
                path.display()
            ),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_numbers_pairs_and_word_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(
            &p,
            "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": \"0\"}\n",
        )
        .unwrap();
        let ex = read_jsonl(&p, &JsonlSpec::new("text").label("label")).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].target, Target::Class("1".into()));
        assert_eq!(ex[1].target, Target::Class("0".into()));
        assert_eq!(ex[1].location.line, 3);

        std::fs::write(&p, "{\"a\": \"x\", \"b\": \"y\", \"s\": 0.5}\n").unwrap();
        let ex = read_jsonl(&p, &JsonlSpec::new("a").pair("b").label("s").regression()).unwrap();
        assert_eq!(ex[0].input, TextInput::Pair("x".into(), "y".into()));
        assert_eq!(ex[0].target, Target::Value(0.5));

        std::fs::write(
            &p,
            "{\"tokens\": [\"EU\", \"rejects\"], \"tags\": [\"B-ORG\", \"O\"]}\n",
        )
        .unwrap();
        let ex = read_jsonl(&p, &JsonlSpec::new("tokens").label("tags")).unwrap();
        assert_eq!(
            ex[0].input,
            TextInput::Words(vec!["EU".into(), "rejects".into()])
        );
        assert_eq!(ex[0].target, Target::Tags(vec!["B-ORG".into(), "O".into()]));
    }

    #[test]
    fn errors_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(
            &p,
            "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"no label\"}\n",
        )
        .unwrap();
        let err = read_jsonl(&p, &JsonlSpec::new("text").label("label")).unwrap_err();
        assert!(
            err.to_string().contains("d.jsonl:2: field `label`"),
            "{err}"
        );

        std::fs::write(&p, "{\"text\": \"ok\"\n").unwrap();
        let err = read_jsonl(&p, &JsonlSpec::new("text")).unwrap_err();
        assert!(matches!(err, DataError::Syntax { line: 1, .. }), "{err}");

        std::fs::write(&p, "{\"t\": [\"a\", \"b\"], \"g\": [\"O\"]}\n").unwrap();
        let err = read_jsonl(&p, &JsonlSpec::new("t").label("g")).unwrap_err();
        assert!(err.to_string().contains("1 tags for 2 words"), "{err}");
    }

    #[test]
    fn broken_lines_empty_labels_and_bad_targets_name_the_line() {
        let name = Path::new("d.jsonl");
        let err = |data: &str, spec: &JsonlSpec| {
            read_jsonl_bytes(data.as_bytes(), name, spec)
                .unwrap_err()
                .to_string()
        };
        let cls = JsonlSpec::new("text").label("label");
        let e = err(
            "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"lab",
            &cls,
        );
        assert!(e.starts_with("d.jsonl:2: invalid JSON"), "{e}");
        let e = err("[1, 2]\n", &cls);
        assert!(e.starts_with("d.jsonl:1: expected a JSON object"), "{e}");
        let e = err("{\"text\": \"a\", \"label\": \"\"}\n", &cls);
        assert!(
            e.starts_with("d.jsonl:1: field `label`: the label is empty"),
            "{e}"
        );
        let reg = JsonlSpec::new("text").label("y").regression();
        for (v, says) in [
            ("\"NaN\"", "not a finite number"),
            ("\"inf\"", "not a finite number"),
            ("1e39", "not a finite number"),
            ("\"\"", "is empty"),
            ("null", "cannot read \"null\""),
        ] {
            let e = err(
                &format!("{{\"text\": \"a\", \"y\": 1}}\n{{\"text\": \"a\", \"y\": {v}}}\n"),
                &reg,
            );
            assert!(
                e.starts_with("d.jsonl:2: field `y`") && e.contains(says),
                "{v}: {e}"
            );
        }
        let e = err("{\"text\": \"a\"}\n", &reg);
        assert!(e.starts_with("d.jsonl:1: field `y`: missing"), "{e}");
        let words = JsonlSpec::new("w").label("t");
        let e = err("{\"w\": [\"a\", \"b\"], \"t\": [\"O\", \"PER\"]}\n", &words);
        assert!(
            e.starts_with("d.jsonl:1: field `t`: word 1: tag \"PER\""),
            "{e}"
        );
        let big = "x".repeat(1_000_000);
        let e = err(
            &format!("{{\"text\": {{\"a\": \"{big}\"}}, \"label\": 1}}\n"),
            &cls,
        );
        assert!(e.len() < 1000, "{} bytes", e.len());
    }
}
