//! Word ↔ sub-token alignment for token classification.
//!
//! A word like `Kilimanjaro` becomes several WordPiece tokens (`ki ##lim ##an ##jar ##o`). As in
//! transformers' token-classification example (`label_all_tokens=False`), the word's label goes
//! on its *first* sub-token; the other sub-tokens and the special tokens get
//! [`IGNORE_INDEX`] (-100), which the loss and the metrics skip. At prediction time the model's
//! output for the first sub-token is the word's prediction ([`word_predictions`]).

/// The label value that cross-entropy ignores (`ignore_index=-100` in PyTorch).
pub const IGNORE_INDEX: i64 = -100;

/// Token labels from word labels: `word_ids[t]` is the word of token `t` (`None` for `[CLS]`,
/// `[SEP]`, padding). A token gets its word's label when it is the first token of that word in
/// this sequence (its word differs from the previous token's), [`IGNORE_INDEX`] otherwise.
///
/// Panics never; a word id beyond `word_labels` (which the tokenizer cannot produce) is ignored.
pub fn align_word_labels(word_ids: &[Option<u32>], word_labels: &[i64]) -> Vec<i64> {
    let mut prev: Option<u32> = None;
    word_ids
        .iter()
        .map(|&w| {
            let label = match w {
                Some(id) if w != prev => word_labels
                    .get(id as usize)
                    .copied()
                    .unwrap_or(IGNORE_INDEX),
                _ => IGNORE_INDEX,
            };
            prev = w;
            label
        })
        .collect()
}

/// Per-word predictions from per-token predictions: each word takes the prediction of its first
/// sub-token. Words that have no token here (cut off by truncation) are `None`.
pub fn word_predictions<T: Copy>(
    word_ids: &[Option<u32>],
    token_predictions: &[T],
    num_words: usize,
) -> Vec<Option<T>> {
    let mut out = vec![None; num_words];
    for (w, p) in word_ids.iter().zip(token_predictions) {
        if let Some(slot) = w.and_then(|w| out.get_mut(w as usize)) {
            if slot.is_none() {
                *slot = Some(*p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sub_token_carries_the_label() {
        // [CLS] EU re ##jects ki ##lim [SEP] [PAD]
        let words = [
            None,
            Some(0),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            None,
            None,
        ];
        let labels = align_word_labels(&words, &[3, 8, 5]);
        assert_eq!(labels, [-100, 3, 8, -100, 5, -100, -100, -100]);
        let preds = [9, 3, 7, 1, 5, 0, 9, 9];
        assert_eq!(
            word_predictions(&words, &preds, 4),
            [Some(3), Some(7), Some(5), None]
        );
    }
}
