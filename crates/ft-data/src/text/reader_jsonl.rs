//! JSON Lines reader: one JSON object per line.
//!
//! The text field may be a string (a document) or an array of strings (pre-split words for
//! token classification, e.g. `{"tokens": [...], "ner_tags": [...]}`); in the second case the
//! label field must be an array of the same length and becomes per-word tags. Numeric class
//! labels (`"label": 1`) are kept as their text (`"1"`), so the label map sorts them like the
//! other strings. Blank lines are skipped.

use super::reader_csv::LabelKind;
use super::{Example, LabelFilter, Location, Target, TextInput};
use crate::error::{DataError, Result};
use crate::source::Lines;
use serde_json::Value;
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
pub fn read_jsonl(path: &Path, spec: &JsonlSpec) -> Result<Vec<Example>> {
    let file: Arc<Path> = Arc::from(path);
    let mut examples = Vec::new();
    let mut rows = 0u64;
    for item in Lines::open(path)? {
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
            field: field.to_owned(),
            message,
        };
        let get = |field: &str| -> Result<&Value> {
            obj.get(field)
                .ok_or_else(|| bad(field, "missing from this object".into()))
        };
        let as_str = |field: &str, v: &Value| -> Result<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(bad(field, format!("expected a string, found {other}"))),
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
                        Target::Tags(
                            tags.iter()
                                .map(|t| as_str(field, t))
                                .collect::<Result<_>>()?,
                        )
                    }
                    (TextInput::Words(_), other, _) => {
                        return Err(bad(
                            field,
                            format!("words need an array of tags, found {other}"),
                        ))
                    }
                    (_, v, LabelKind::Value) => {
                        let x = match v {
                            Value::Number(n) => n.as_f64(),
                            Value::String(s) => s.trim().parse::<f64>().ok(),
                            _ => None,
                        };
                        Target::Value(
                            x.ok_or_else(|| bad(field, format!("cannot read {v} as a number")))?
                                as f32,
                        )
                    }
                    (_, v, LabelKind::Class) => {
                        let raw = as_str(field, v)?;
                        match &spec.label_filter {
                            None => Target::Class(raw),
                            Some(f) => match f.apply(&raw) {
                                Some(Some(name)) => Target::Class(name.to_owned()),
                                Some(None) => continue,
                                None => {
                                    return Err(DataError::UnmappedLabel {
                                        path: path.to_path_buf(),
                                        line,
                                        value: raw,
                                        known: f.known(),
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
}
