//! Training a GPT-2 style byte-level BPE tokenizer on a corpus, with the `tokenizers` crate.
//!
//! Byte-level means the 256 byte values are the base alphabet, so any text encodes without an
//! unknown token, and decoding gives the exact input back. Spaces are kept as the `Ġ` prefix of
//! the following word, as in GPT-2 (no space is added in front of the first word).
use super::super::text::Tokenizer;
use crate::error::{DataError, Result};
use std::path::Path;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::AddedToken;

/// GPT-2's end-of-text token: the document separator and the stop token of generation.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Settings of [`train_bpe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpeOptions {
    /// Target vocabulary size, special tokens and the 256 byte symbols included.
    pub vocab_size: usize,
    /// A pair must occur this often to be merged.
    pub min_frequency: u64,
    /// Special tokens, given the first ids in this order; [`END_OF_TEXT`] by default.
    pub special_tokens: Vec<String>,
}

impl BpeOptions {
    pub fn new(vocab_size: usize) -> BpeOptions {
        BpeOptions {
            vocab_size,
            min_frequency: 2,
            special_tokens: vec![END_OF_TEXT.to_string()],
        }
    }
}

fn train_error(e: impl std::fmt::Display) -> DataError {
    DataError::Tokenizer {
        path: "<training>".into(),
        message: e.to_string(),
    }
}

/// Trains a byte-level BPE on `texts` (GPT-2's pre-tokenizer, decoder and offsets).
///
/// Errors when `texts` holds no text or the vocabulary cannot even hold the byte alphabet.
pub fn train_bpe(texts: &[&str], options: &BpeOptions) -> Result<tokenizers::Tokenizer> {
    if texts.iter().all(|t| t.trim().is_empty()) {
        return Err(DataError::EmptySplit {
            split: "BPE training corpus".into(),
            detail: format!("{} texts and none has any content", texts.len()),
        });
    }
    let minimum = 256 + options.special_tokens.len();
    if options.vocab_size < minimum {
        return Err(DataError::Invalid(format!(
            "a byte-level BPE vocabulary needs at least {minimum} entries (256 bytes + special \
             tokens), got {}",
            options.vocab_size
        )));
    }
    let trainer = BpeTrainer::builder()
        .vocab_size(options.vocab_size)
        .min_frequency(options.min_frequency)
        .show_progress(false)
        .special_tokens(
            options
                .special_tokens
                .iter()
                .map(|t| AddedToken::from(t.clone(), true))
                .collect(),
        )
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    tokenizer
        .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)))
        .with_post_processor(Some(ByteLevel::default().trim_offsets(false)))
        .with_decoder(Some(ByteLevel::default()));
    let mut trainer = TrainerWrapper::BpeTrainer(trainer);
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(train_error)?;
    Ok(tokenizer)
}

/// [`train_bpe`], then saves `dir/tokenizer.json` (loadable by transformers'
/// `PreTrainedTokenizerFast` and by [`Tokenizer::from_dir`]) and returns it as the pipeline's
/// tokenizer.
pub fn train_bpe_to(dir: &Path, texts: &[&str], options: &BpeOptions) -> Result<Tokenizer> {
    let trained = train_bpe(texts, options)?;
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let path = dir.join("tokenizer.json");
    trained
        .save(&path, false)
        .map_err(|e| DataError::Tokenizer {
            path: path.clone(),
            message: e.to_string(),
        })?;
    Tokenizer::from_tokenizer_json(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_a_byte_level_bpe_that_round_trips_any_text() {
        let texts: Vec<String> = (0..200)
            .map(|i| format!("the movie was good number {} and the film was fine", i % 7))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let dir = tempfile::tempdir().unwrap();
        let tok = train_bpe_to(dir.path(), &refs, &BpeOptions::new(300)).unwrap();
        assert_eq!(tok.token_to_id(END_OF_TEXT), Some(0));
        assert!(tok.vocab_size() <= 300 && tok.vocab_size() > 257);
        let ids = tok.encode_text("the movie was good").unwrap();
        assert!(ids.len() < 8, "frequent words are merged: {ids:?}");
        // Unseen characters still encode (byte fallback by construction) and decode exactly.
        let text = "Zoë's naïve film — 100% ☃";
        let ids = tok.encode_text(text).unwrap();
        assert_eq!(tok.inner.decode(&ids, false).unwrap(), text);

        let err = train_bpe(&["", "  "], &BpeOptions::new(300))
            .unwrap_err()
            .to_string();
        assert!(err.contains("none has any content"), "{err}");
        assert!(train_bpe(&refs, &BpeOptions::new(100)).is_err());
    }
}
