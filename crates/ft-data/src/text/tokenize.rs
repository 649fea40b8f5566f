//! Loading a pretrained tokenizer.
//!
//! The preferred source is the model's `tokenizer.json` (the fast tokenizer that transformers'
//! `AutoTokenizer` also uses, so ids are identical). Older checkpoints only ship `vocab.txt`;
//! for those a BERT WordPiece tokenizer is assembled the way transformers converts a
//! `BertTokenizer` (BERT normalizer with the `do_lower_case` / `strip_accents` /
//! `tokenize_chinese_chars` flags of `tokenizer_config.json`, BERT pre-tokenizer, `##` WordPiece
//! with at most 100 characters per word, `[CLS] A [SEP] B [SEP]` template).
//!
//! Truncation and padding stored inside `tokenizer.json` are switched off: the pipeline truncates
//! per call ([`super::EncodeOptions`]) and pads per batch ([`crate::Collator`]).

use crate::error::{DataError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::AddedToken;

/// A pretrained subword tokenizer plus the ids the collator needs.
#[derive(Clone)]
pub struct Tokenizer {
    pub(crate) inner: tokenizers::Tokenizer,
    pub(crate) path: PathBuf,
    pad_id: u32,
    pad_type_id: u32,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("path", &self.path)
            .field("vocab_size", &self.vocab_size())
            .field("pad_id", &self.pad_id)
            .finish()
    }
}

fn tok_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Tokenizer {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = crate::source::read_to_string(path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| tok_err(path, format!("invalid JSON: {e}")))
}

impl Tokenizer {
    /// Loads `dir/tokenizer.json`, or falls back to `dir/vocab.txt` + `dir/tokenizer_config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        if json.exists() {
            return Self::from_tokenizer_json(&json);
        }
        let vocab = dir.join("vocab.txt");
        if !vocab.exists() {
            return Err(tok_err(
                dir,
                "neither tokenizer.json nor vocab.txt is present",
            ));
        }
        let config = read_json(&dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
        let flag = |k: &str| config.get(k).and_then(Value::as_bool);
        Self::from_vocab(
            &vocab,
            flag("do_lower_case").unwrap_or(true),
            flag("strip_accents"),
            flag("tokenize_chinese_chars").unwrap_or(true),
        )
    }

    /// Loads a fast-tokenizer `tokenizer.json`.
    pub fn from_tokenizer_json(path: &Path) -> Result<Self> {
        let mut inner = tokenizers::Tokenizer::from_file(path).map_err(|e| tok_err(path, e))?;
        let (pad_id, pad_type_id) = match inner.get_padding() {
            Some(p) => (p.pad_id, p.pad_type_id),
            None => (
                ["[PAD]", "<pad>", "<|pad|>"]
                    .iter()
                    .find_map(|t| inner.token_to_id(t))
                    .unwrap_or(0),
                0,
            ),
        };
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| tok_err(path, e))?;
        Ok(Tokenizer {
            inner,
            path: path.to_path_buf(),
            pad_id,
            pad_type_id,
        })
    }

    /// Builds a BERT WordPiece tokenizer from a `vocab.txt` (one token per line, id = line
    /// index). `strip_accents: None` strips accents exactly when lowercasing, as in BERT.
    pub fn from_vocab(
        vocab: &Path,
        lowercase: bool,
        strip_accents: Option<bool>,
        chinese_chars: bool,
    ) -> Result<Self> {
        let vocab_str = vocab
            .to_str()
            .ok_or_else(|| tok_err(vocab, "path is not UTF-8"))?;
        let model = WordPiece::from_file(vocab_str)
            .unk_token("[UNK]".into())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| tok_err(vocab, e))?;
        let mut inner = tokenizers::Tokenizer::new(model);
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| tok_err(vocab, format!("vocabulary has no {t} token")))
        };
        let (cls, sep, pad) = (id("[CLS]")?, id("[SEP]")?, id("[PAD]")?);
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                chinese_chars,
                strip_accents,
                lowercase,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_post_processor(Some(BertProcessing::new(
                ("[SEP]".into(), sep),
                ("[CLS]".into(), cls),
            )));
        // Special tokens written in the text ("[SEP]") must map to their id, not be split.
        let specials: Vec<AddedToken> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .iter()
            .filter(|t| inner.token_to_id(t).is_some())
            .map(|t| AddedToken::from(*t, true))
            .collect();
        inner.add_special_tokens(&specials);
        Ok(Tokenizer {
            inner,
            path: vocab.to_path_buf(),
            pad_id: pad,
            pad_type_id: 0,
        })
    }

    /// Id used to pad `input_ids`.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Type id used to pad `token_type_ids`.
    pub fn pad_type_id(&self) -> u32 {
        self.pad_type_id
    }

    /// Vocabulary size including added tokens (the model's embedding rows must cover it).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids of one text with special tokens, untruncated (for inspection and tests; datasets go
    /// through [`Tokenizer::encode_examples`]).
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        let e = self
            .inner
            .encode_fast(text, true)
            .map_err(|e| tok_err(&self.path, e))?;
        Ok(e.get_ids().to_vec())
    }

    /// Where the tokenizer was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A collator that pads with this tokenizer's pad ids.
    pub fn collator(&self) -> crate::Collator {
        crate::Collator::new(i64::from(self.pad_id)).pad_type_id(i64::from(self.pad_type_id))
    }
}
