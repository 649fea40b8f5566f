//! Host-memory batches and the collator that builds them.
//!
//! A [`HostBatch`] is plain `Vec`s plus shapes; the trainer turns it into tensors at the
//! ft-train boundary, so this crate never links libtorch. Tensor names follow transformers:
//!
//! | name             | shape  | type | content                                             |
//! |------------------|--------|------|-----------------------------------------------------|
//! | `input_ids`      | [B, T] | i64  | token ids, `pad_id` after the end                   |
//! | `attention_mask` | [B, T] | i64  | 1 on real tokens, 0 on padding                      |
//! | `token_type_ids` | [B, T] | i64  | 0/1 segment ids, `pad_type_id` on padding           |
//! | `labels`         | [B]    | i64  | class ids (sequence classification)                 |
//! | `labels`         | [B]    | f32  | targets (regression)                                |
//! | `labels`         | [B, T] | i64  | tag ids, -100 on ignored tokens and padding (NER)   |
//!
//! Padding is dynamic (`DataCollatorWithPadding`): `T` is the longest row of the batch, rounded
//! up to a multiple of `pad_to_multiple_of` when set (tensor cores prefer multiples of 8).

use crate::error::{DataError, Result};
use crate::text::{Encoded, EncodedLabel, IGNORE_INDEX};
use std::collections::BTreeMap;

/// The element buffer of a [`HostTensor`].
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    I64(Vec<i64>),
    F32(Vec<f32>),
}

/// A dense row-major array in host memory.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: HostData,
}

impl HostTensor {
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        HostTensor {
            shape,
            data: HostData::I64(data),
        }
    }

    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        HostTensor {
            shape,
            data: HostData::F32(data),
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            HostData::I64(v) => Some(v),
            HostData::F32(_) => None,
        }
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            HostData::F32(v) => Some(v),
            HostData::I64(_) => None,
        }
    }
}

/// One batch: named tensors plus bookkeeping to map outputs back to examples and words.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    pub tensors: BTreeMap<String, HostTensor>,
    /// Position of this batch in its epoch (0-based); resume after it with `skip = index + 1`.
    pub index: usize,
    /// Indices of the rows in the loader's encoded data.
    pub rows: Vec<usize>,
    /// Source example of each row ([`Encoded::example`]); several rows share one with windows.
    pub examples: Vec<usize>,
    /// Per row, the word index of each (unpadded) token, for word input (NER).
    pub word_ids: Option<Vec<Vec<Option<u32>>>>,
}

impl HostBatch {
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    /// An i64 tensor's data, `None` if absent or f32.
    pub fn i64s(&self, name: &str) -> Option<&[i64]> {
        self.get(name).and_then(HostTensor::as_i64)
    }

    pub fn input_ids(&self) -> &[i64] {
        self.i64s("input_ids").unwrap_or(&[])
    }

    pub fn attention_mask(&self) -> &[i64] {
        self.i64s("attention_mask").unwrap_or(&[])
    }

    pub fn labels(&self) -> Option<&HostTensor> {
        self.get("labels")
    }

    /// Rows in the batch (B).
    pub fn batch_size(&self) -> usize {
        self.rows.len()
    }

    /// Padded sequence length (T).
    pub fn seq_len(&self) -> usize {
        self.get("input_ids").map(|t| t.shape[1]).unwrap_or(0)
    }

    /// Real (unpadded) tokens in the batch.
    pub fn num_tokens(&self) -> usize {
        self.attention_mask().iter().filter(|&&m| m != 0).count()
    }
}

/// Pads rows to a batch (HF `DataCollatorWithPadding` / `DataCollatorForTokenClassification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collator {
    pub pad_id: i64,
    pub pad_type_id: i64,
    pub pad_to_multiple_of: Option<usize>,
    /// Emit `token_type_ids` (BERT-style models use them; RoBERTa/DistilBERT do not).
    pub token_type_ids: bool,
}

impl Collator {
    pub fn new(pad_id: i64) -> Self {
        Collator {
            pad_id,
            pad_type_id: 0,
            pad_to_multiple_of: None,
            token_type_ids: true,
        }
    }

    pub fn pad_type_id(mut self, id: i64) -> Self {
        self.pad_type_id = id;
        self
    }

    pub fn pad_to_multiple_of(mut self, m: usize) -> Self {
        self.pad_to_multiple_of = (m > 1).then_some(m);
        self
    }

    pub fn without_token_type_ids(mut self) -> Self {
        self.token_type_ids = false;
        self
    }

    /// Builds the batch of `data[rows[0]], data[rows[1]], ...`.
    pub fn collate(&self, data: &[Encoded], rows: &[usize], index: usize) -> Result<HostBatch> {
        let picked: Vec<&Encoded> = rows
            .iter()
            .map(|&r| {
                data.get(r).ok_or_else(|| {
                    DataError::Invalid(format!("row {r} out of range ({} rows)", data.len()))
                })
            })
            .collect::<Result<_>>()?;
        if picked.is_empty() {
            return Err(DataError::Invalid("a batch needs at least one row".into()));
        }
        let b = picked.len();
        let longest = picked.iter().map(|e| e.len()).max().unwrap_or(0);
        let t = match self.pad_to_multiple_of {
            Some(m) => longest.div_ceil(m) * m,
            None => longest,
        };
        let mut ids = vec![self.pad_id; b * t];
        let mut mask = vec![0i64; b * t];
        let mut types = vec![self.pad_type_id; b * t];
        for (i, e) in picked.iter().enumerate() {
            let row = i * t..i * t + e.len();
            for (dst, &src) in ids[row.clone()].iter_mut().zip(&e.input_ids) {
                *dst = i64::from(src);
            }
            mask[row.clone()].fill(1);
            for (dst, &src) in types[row].iter_mut().zip(&e.type_ids) {
                *dst = i64::from(src);
            }
        }
        let mut tensors = BTreeMap::new();
        tensors.insert("input_ids".into(), HostTensor::i64(vec![b, t], ids));
        tensors.insert("attention_mask".into(), HostTensor::i64(vec![b, t], mask));
        if self.token_type_ids {
            tensors.insert("token_type_ids".into(), HostTensor::i64(vec![b, t], types));
        }
        if let Some(labels) = collate_labels(&picked, t)? {
            tensors.insert("labels".into(), labels);
        }
        let word_ids = picked
            .iter()
            .map(|e| e.word_ids.clone())
            .collect::<Option<Vec<_>>>();
        Ok(HostBatch {
            tensors,
            index,
            rows: rows.to_vec(),
            examples: picked.iter().map(|e| e.example).collect(),
            word_ids,
        })
    }
}

fn kind(l: &EncodedLabel) -> &'static str {
    match l {
        EncodedLabel::None => "unlabelled",
        EncodedLabel::Class(_) => "class",
        EncodedLabel::Value(_) => "regression",
        EncodedLabel::Tokens(_) => "token-label",
    }
}

fn collate_labels(picked: &[&Encoded], t: usize) -> Result<Option<HostTensor>> {
    let first = kind(&picked[0].label);
    if let Some(other) = picked.iter().find(|e| kind(&e.label) != first) {
        return Err(DataError::MixedBatch(format!(
            "{first} and {} rows (example {})",
            kind(&other.label),
            other.example
        )));
    }
    let b = picked.len();
    Ok(match &picked[0].label {
        EncodedLabel::None => None,
        EncodedLabel::Class(_) => Some(HostTensor::i64(
            vec![b],
            picked
                .iter()
                .map(|e| match e.label {
                    EncodedLabel::Class(c) => c,
                    _ => unreachable!("kinds checked above"),
                })
                .collect(),
        )),
        EncodedLabel::Value(_) => Some(HostTensor::f32(
            vec![b],
            picked
                .iter()
                .map(|e| match e.label {
                    EncodedLabel::Value(v) => v,
                    _ => unreachable!("kinds checked above"),
                })
                .collect(),
        )),
        EncodedLabel::Tokens(_) => {
            let mut out = vec![IGNORE_INDEX; b * t];
            for (i, e) in picked.iter().enumerate() {
                if let EncodedLabel::Tokens(l) = &e.label {
                    out[i * t..i * t + l.len()].copy_from_slice(l);
                }
            }
            Some(HostTensor::i64(vec![b, t], out))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ids: &[u32], types: &[u32], label: EncodedLabel, example: usize) -> Encoded {
        Encoded {
            input_ids: ids.to_vec(),
            type_ids: types.to_vec(),
            word_ids: None,
            label,
            example,
            window: 0,
        }
    }

    #[test]
    fn pads_to_longest_and_to_multiple_of_8() {
        let data = vec![
            row(&[101, 7, 102], &[0, 0, 0], EncodedLabel::Class(1), 0),
            row(
                &[101, 5, 6, 102, 9, 102],
                &[0, 0, 0, 0, 1, 1],
                EncodedLabel::Class(0),
                1,
            ),
        ];
        let b = Collator::new(0).collate(&data, &[1, 0], 3).unwrap();
        assert_eq!((b.batch_size(), b.seq_len(), b.index), (2, 6, 3));
        assert_eq!(
            b.input_ids(),
            [101, 5, 6, 102, 9, 102, 101, 7, 102, 0, 0, 0]
        );
        assert_eq!(b.attention_mask(), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
        assert_eq!(
            b.i64s("token_type_ids").unwrap(),
            [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(b.labels().unwrap().shape, [2]);
        assert_eq!(b.i64s("labels").unwrap(), [0, 1]);
        assert_eq!(b.examples, [1, 0]);
        assert_eq!(b.num_tokens(), 9);

        let b8 = Collator::new(0)
            .pad_to_multiple_of(8)
            .without_token_type_ids()
            .collate(&data, &[0], 0)
            .unwrap();
        assert_eq!(b8.get("input_ids").unwrap().shape, [1, 8]);
        assert_eq!(b8.input_ids(), [101, 7, 102, 0, 0, 0, 0, 0]);
        assert!(b8.get("token_type_ids").is_none());
    }

    #[test]
    fn token_labels_are_padded_with_ignore_index_and_regression_is_f32() {
        let mut a = row(
            &[101, 8, 9, 102],
            &[0; 4],
            EncodedLabel::Tokens(vec![-100, 2, -100, -100]),
            0,
        );
        a.word_ids = Some(vec![None, Some(0), Some(0), None]);
        let mut b = row(
            &[101, 8, 102],
            &[0; 3],
            EncodedLabel::Tokens(vec![-100, 1, -100]),
            1,
        );
        b.word_ids = Some(vec![None, Some(0), None]);
        let batch = Collator::new(0).collate(&[a, b], &[0, 1], 0).unwrap();
        let labels = batch.labels().unwrap();
        assert_eq!(labels.shape, [2, 4]);
        assert_eq!(
            labels.as_i64().unwrap(),
            [-100, 2, -100, -100, -100, 1, -100, -100]
        );
        assert_eq!(batch.word_ids.as_ref().unwrap()[1], [None, Some(0), None]);

        let r = vec![
            row(&[1], &[0], EncodedLabel::Value(0.5), 0),
            row(&[1], &[0], EncodedLabel::Value(-1.0), 1),
        ];
        let batch = Collator::new(0).collate(&r, &[0, 1], 0).unwrap();
        assert_eq!(batch.labels().unwrap().as_f32().unwrap(), [0.5, -1.0]);
        assert!(batch.word_ids.is_none());
    }

    #[test]
    fn mixed_labels_and_bad_rows_are_errors() {
        let r = vec![
            row(&[1], &[0], EncodedLabel::Value(0.5), 0),
            row(&[1], &[0], EncodedLabel::Class(1), 1),
        ];
        assert!(matches!(
            Collator::new(0).collate(&r, &[0, 1], 0),
            Err(DataError::MixedBatch(_))
        ));
        assert!(Collator::new(0).collate(&r, &[5], 0).is_err());
        assert!(Collator::new(0).collate(&r, &[], 0).is_err());
    }
}
