//! Packing documents into fixed-length blocks for causal-LM training (HF's `group_texts`).
use crate::error::{DataError, Result};
use crate::text::{Encoded, EncodedLabel};
use std::fmt;

/// A token stream cut into blocks of exactly `block_size` tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Every block has `block_size` tokens; documents run across block boundaries, separated by
    /// EOS, so no position is padding.
    pub blocks: Vec<Vec<u32>>,
    pub block_size: usize,
    /// The last `tail.len() < block_size` tokens of the stream, which do not fill a block and are
    /// not trained on (as `group_texts` drops them); kept so nothing disappears unaccounted.
    pub tail: Vec<u32>,
    pub documents: usize,
}

impl Packed {
    /// Tokens in the stream, EOS separators and tail included.
    pub fn total_tokens(&self) -> usize {
        self.blocks.len() * self.block_size + self.tail.len()
    }

    /// The blocks as loader rows: `input_ids` = the block, and `labels` = the same ids
    /// (the causal-LM loss shifts them by one itself). No `type_ids` are meaningful; they are 0.
    /// Use a collator `without_token_type_ids()`; every row has the same length, so nothing is
    /// padded.
    pub fn rows(&self) -> Vec<Encoded> {
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, block)| Encoded {
                input_ids: block.clone(),
                type_ids: vec![0; block.len()],
                word_ids: None,
                label: EncodedLabel::Tokens(block.iter().map(|&t| i64::from(t)).collect()),
                example: i,
                window: 0,
            })
            .collect()
    }
}

impl fmt::Display for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} documents, {} tokens → {} blocks of {} ({} tail tokens dropped)",
            self.documents,
            self.total_tokens(),
            self.blocks.len(),
            self.block_size,
            self.tail.len()
        )
    }
}

/// Concatenates `docs`, each followed by `eos` (so the model learns where a text ends and never
/// reads two documents as one), and cuts the stream into blocks of `block_size`.
///
/// Errors when `block_size` is 0 or when the stream does not fill a single block (an empty
/// corpus included), since there would be nothing to train on.
pub fn pack(docs: &[Vec<u32>], eos: u32, block_size: usize) -> Result<Packed> {
    if block_size == 0 {
        return Err(DataError::Invalid("block size must be at least 1".into()));
    }
    let total: usize = docs.iter().map(|d| d.len() + 1).sum();
    if docs.iter().all(Vec::is_empty) {
        return Err(DataError::EmptySplit {
            split: "corpus".into(),
            detail: format!("{} documents and no tokens to pack", docs.len()),
        });
    }
    if total < block_size {
        return Err(DataError::EmptySplit {
            split: "corpus".into(),
            detail: format!(
                "{total} tokens (EOS included) do not fill one block of {block_size}: use a \
                 smaller block size or more text"
            ),
        });
    }
    let mut stream = Vec::with_capacity(total);
    for doc in docs {
        stream.extend_from_slice(doc);
        stream.push(eos);
    }
    let full = stream.len() / block_size * block_size;
    let tail = stream.split_off(full);
    let blocks = stream
        .chunks_exact(block_size)
        .map(<[u32]>::to_vec)
        .collect();
    Ok(Packed {
        blocks,
        block_size,
        tail,
        documents: docs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documents_are_separated_by_eos_and_the_tail_is_kept_aside() {
        let docs = vec![vec![1, 2, 3], vec![4], vec![5, 6]];
        let p = pack(&docs, 0, 4).unwrap();
        assert_eq!(p.blocks, [vec![1, 2, 3, 0], vec![4, 0, 5, 6]]);
        assert_eq!(p.tail, [0]);
        assert_eq!(p.total_tokens(), 9);
        assert_eq!(
            p.to_string(),
            "3 documents, 9 tokens → 2 blocks of 4 (1 tail tokens dropped)"
        );
        let rows = p.rows();
        assert_eq!(rows[1].input_ids, [4, 0, 5, 6]);
        assert_eq!(rows[1].label, EncodedLabel::Tokens(vec![4, 0, 5, 6]));
    }

    #[test]
    fn empty_or_too_small_corpora_are_errors() {
        let err = pack(&[], 0, 4).unwrap_err().to_string();
        assert!(err.contains("corpus") && err.contains("no tokens"), "{err}");
        let err = pack(&[vec![], vec![]], 0, 4).unwrap_err().to_string();
        assert!(err.contains("no tokens"), "{err}");
        let err = pack(&[vec![1]], 0, 4).unwrap_err().to_string();
        assert!(err.contains("do not fill one block of 4"), "{err}");
        assert!(pack(&[vec![1]], 0, 0).is_err());
    }

    proptest! {
        /// Packing never crosses the block size and loses no token: blocks ++ tail is exactly the
        /// EOS-joined stream.
        #[test]
        fn blocks_are_exact_and_nothing_is_lost(
            docs in prop::collection::vec(prop::collection::vec(1u32..500, 0..40), 1..30),
            block_size in 1usize..64,
        ) {
            let stream: Vec<u32> = docs.iter().flat_map(|d| d.iter().copied().chain([0])).collect();
            match pack(&docs, 0, block_size) {
                Ok(p) => {
                    prop_assert!(p.blocks.iter().all(|b| b.len() == block_size));
                    prop_assert!(p.tail.len() < block_size);
                    let mut joined: Vec<u32> = p.blocks.concat();
                    joined.extend_from_slice(&p.tail);
                    prop_assert_eq!(joined, stream);
                }
                Err(_) => prop_assert!(stream.len() < block_size || docs.iter().all(Vec::is_empty)),
            }
        }
    }
}
