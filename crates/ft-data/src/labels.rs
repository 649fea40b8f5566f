//! Label maps: class name ↔ class id.
//!
//! The map is built from the *training* split only, sorted by name so the ids never depend on
//! the row order (`negative = 0, positive = 1`; NER tags `B-x, I-x, ..., O`). It is stored the
//! Hugging Face way, as `id2label`/`label2id` inside the model's `config.json` (with string keys
//! in `id2label`: `{"0": "negative"}`), and read back from there for eval and predict, so a
//! saved model always carries the meaning of its outputs. A label seen at eval time that the
//! training split never had is an error naming the label and its line.

use crate::error::{DataError, Result};
use crate::text::{Example, Location};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// A bijection between class names and ids `0..len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    labels: Vec<String>,
    ids: HashMap<String, usize>,
}

impl LabelMap {
    /// Ids in the given order. Errors on duplicates.
    pub fn from_labels(labels: Vec<String>) -> Result<Self> {
        let mut ids = HashMap::with_capacity(labels.len());
        for (i, l) in labels.iter().enumerate() {
            if ids.insert(l.clone(), i).is_some() {
                return Err(DataError::LabelConfig(format!("label `{l}` appears twice")));
            }
        }
        Ok(LabelMap { labels, ids })
    }

    /// The sorted set of class names / tags of the training examples.
    ///
    /// Errors when there is none, or only one: a one-class classifier learns nothing and
    /// scores a perfect accuracy, so a training split whose every example has the same label
    /// (a wrong `label_column`, a `label_map` that dropped the other classes) is refused with
    /// the label and the file named.
    pub fn from_train(examples: &[Example]) -> Result<Self> {
        let set: BTreeSet<&str> = examples.iter().flat_map(|e| e.label_strings()).collect();
        if set.is_empty() {
            return Err(DataError::EmptySplit {
                split: "train".into(),
                detail: "no class label or tag to build a label map from".into(),
            });
        }
        if set.len() == 1 {
            let only = set.iter().next().copied().unwrap_or_default();
            let at = &examples[0].location;
            return Err(DataError::Syntax {
                path: at.file.to_path_buf(),
                line: at.line,
                message: format!(
                    "every example of the training split ({} of them) has the label `{only}`: a \
                     classifier needs at least two classes (check the label column and the \
                     label map)",
                    examples.len()
                ),
            });
        }
        Self::from_labels(set.into_iter().map(str::to_owned).collect())
    }

    /// Errors when examples of `split` (`validation`, `test`) carry labels this map (built
    /// from the training split) lacks, naming each such label with where it first occurs and
    /// the training labels: the model has no output for them. Regression and unlabelled
    /// examples pass.
    pub fn check_split(&self, split: &str, examples: &[Example]) -> Result<()> {
        let mut unseen: Vec<(&str, &Location)> = Vec::new();
        for e in examples {
            for label in e.label_strings() {
                if self.id(label).is_none() && !unseen.iter().any(|(l, _)| *l == label) {
                    unseen.push((label, &e.location));
                }
            }
        }
        let Some((_, first)) = unseen.first() else {
            return Ok(());
        };
        const SHOWN: usize = 10;
        let mut list: Vec<String> = unseen
            .iter()
            .take(SHOWN)
            .map(|(l, at)| format!("`{l}` (line {})", at.line))
            .collect();
        if unseen.len() > SHOWN {
            list.push(format!("and {} more", unseen.len() - SHOWN));
        }
        Err(DataError::Syntax {
            path: first.file.to_path_buf(),
            line: first.line,
            message: format!(
                "the {split} split has {} label(s) that never occur in the training split: {}; \
                 the training labels are {}",
                unseen.len(),
                list.join(", "),
                self.labels.join(", ")
            ),
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Names in id order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn id(&self, label: &str) -> Option<usize> {
        self.ids.get(label).copied()
    }

    pub fn name(&self, id: usize) -> Option<&str> {
        self.labels.get(id).map(String::as_str)
    }

    /// The id of `label`, or an error naming the label and where it was read.
    pub fn id_at(&self, label: &str, at: &Location) -> Result<usize> {
        self.id(label).ok_or_else(|| DataError::UnknownLabel {
            path: at.file.to_path_buf(),
            line: at.line,
            label: label.to_owned(),
            known: self.labels.join(", "),
        })
    }

    /// `{"id2label": {"0": "negative", ...}, "label2id": {"negative": 0, ...}}`.
    pub fn to_config_json(&self) -> Value {
        let id2label: Map<String, Value> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), Value::from(l.as_str())))
            .collect();
        let label2id: Map<String, Value> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), Value::from(i)))
            .collect();
        serde_json::json!({ "id2label": id2label, "label2id": label2id })
    }

    /// Sets `id2label` and `label2id` in an existing `config.json` object, leaving every other
    /// key alone (transformers derives `num_labels` from `id2label`).
    pub fn write_into_config(&self, config: &mut Value) -> Result<()> {
        let obj = config
            .as_object_mut()
            .ok_or_else(|| DataError::LabelConfig("config.json is not a JSON object".into()))?;
        if let Value::Object(maps) = self.to_config_json() {
            obj.extend(maps);
        }
        Ok(())
    }

    /// Reads `id2label` (required; ids must be exactly `0..n`) from a `config.json` object and
    /// checks `label2id` against it when present.
    pub fn from_config_json(config: &Value) -> Result<Self> {
        let id2label = config
            .get("id2label")
            .and_then(Value::as_object)
            .ok_or_else(|| DataError::LabelConfig("no `id2label` object".into()))?;
        let mut slots: Vec<Option<String>> = vec![None; id2label.len()];
        for (k, v) in id2label {
            let id: usize = k.parse().map_err(|_| {
                DataError::LabelConfig(format!("id2label key `{k}` is not an integer"))
            })?;
            let name = v.as_str().ok_or_else(|| {
                DataError::LabelConfig(format!("id2label[{k}] is not a string: {v}"))
            })?;
            let slot = slots.get_mut(id).ok_or_else(|| {
                DataError::LabelConfig(format!(
                    "id2label ids must be 0..{}, found {id}",
                    id2label.len()
                ))
            })?;
            *slot = Some(name.to_owned());
        }
        let labels: Vec<String> = slots
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.ok_or_else(|| DataError::LabelConfig(format!("id2label lacks id {i}"))))
            .collect::<Result<_>>()?;
        let map = Self::from_labels(labels)?;
        if let Some(label2id) = config.get("label2id").and_then(Value::as_object) {
            for (name, id) in label2id {
                if id.as_u64().map(|x| x as usize) != map.id(name) {
                    return Err(DataError::LabelConfig(format!(
                        "label2id[{name}] = {id} disagrees with id2label"
                    )));
                }
            }
            if label2id.len() != map.len() {
                return Err(DataError::LabelConfig(format!(
                    "label2id has {} entries, id2label {}",
                    label2id.len(),
                    map.len()
                )));
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Target, TextInput};
    use std::path::Path;
    use std::sync::Arc;

    fn ex(label: &str, line: u64) -> Example {
        Example {
            input: TextInput::Single("t".into()),
            target: Target::Class(label.into()),
            location: Location::new(Arc::from(Path::new("eval.csv")), line),
        }
    }

    #[test]
    fn sorted_from_train_and_config_round_trip() {
        let train = vec![ex("positive", 2), ex("negative", 3), ex("positive", 4)];
        let m = LabelMap::from_train(&train).unwrap();
        assert_eq!(m.labels(), ["negative", "positive"]);
        let json = m.to_config_json();
        assert_eq!(
            json.to_string(),
            r#"{"id2label":{"0":"negative","1":"positive"},"label2id":{"negative":0,"positive":1}}"#
        );
        let mut config = serde_json::json!({"hidden_size": 384, "id2label": {"0": "LABEL_0"}});
        m.write_into_config(&mut config).unwrap();
        assert_eq!(config["hidden_size"], 384);
        assert_eq!(LabelMap::from_config_json(&config).unwrap(), m);
        let err = m.id_at("neutral", &ex("neutral", 17).location).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("eval.csv:17: label `neutral` does not occur"),
            "{err}"
        );
    }

    #[test]
    fn one_class_training_sets_are_refused() {
        let train = vec![ex("positive", 2), ex("positive", 3)];
        let err = LabelMap::from_train(&train).unwrap_err().to_string();
        assert!(
            err.starts_with("eval.csv:2: every example of the training split (2 of them) has the label `positive`"),
            "{err}"
        );
    }

    #[test]
    fn labels_unseen_in_training_are_named_with_their_split() {
        let m = LabelMap::from_train(&[ex("a", 2), ex("b", 3)]).unwrap();
        m.check_split("validation", &[ex("b", 5), ex("a", 6)])
            .unwrap();
        let err = m
            .check_split("test", &[ex("a", 4), ex("c", 7), ex("d", 9), ex("c", 11)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "eval.csv:7: the test split has 2 label(s) that never occur in the training split: \
             `c` (line 7), `d` (line 9); the training labels are a, b"
        );
    }

    #[test]
    fn inconsistent_configs_are_rejected() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"id2label": {"0": "a", "2": "b"}}),
            serde_json::json!({"id2label": {"0": "a", "1": "a"}}),
            serde_json::json!({"id2label": {"0": "a", "1": "b"}, "label2id": {"a": 1, "b": 0}}),
        ] {
            assert!(LabelMap::from_config_json(&bad).is_err(), "{bad}");
        }
    }
}
