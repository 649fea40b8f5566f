//! Token ids must equal transformers' `AutoTokenizer` ids, exactly.
//!
//! The expected ids are in `fixtures/tokenizer_parity.json`, written by
//! `make_tokenizer_fixture.py` (rerun it after changing the texts). The test needs the
//! MiniLM-L6 tokenizer in the asset cache and is skipped with a message when it is absent.

mod common;

use ft_data::text::{EncodeOptions, EncodedLabel, Example, Location, Target, TextInput, Tokenizer};
use ft_data::LabelMap;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer_parity.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn example(input: TextInput, target: Target, i: usize) -> Example {
    Example {
        input,
        target,
        location: Location::new(Arc::from(Path::new("fixture")), i as u64 + 1),
    }
}

fn minilm_dir() -> Option<std::path::PathBuf> {
    common::asset("models/minilm-l6/tokenizer.json").map(|p| p.parent().unwrap().to_path_buf())
}

/// Compares every text; on mismatch prints the text so the failing case is obvious.
fn assert_same(tok: &Tokenizer, fx: &Value, what: &str) {
    let max = fx["max_length"].as_u64().unwrap() as usize;
    let cases = fx["single"].as_array().unwrap();
    let examples: Vec<Example> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text = c["text"].as_str().unwrap().to_owned();
            example(TextInput::Single(text), Target::None, i)
        })
        .collect();
    let (rows, report) = tok
        .encode_examples(&examples, None, &EncodeOptions::new(max).threads(2))
        .unwrap();
    assert_eq!(rows.len(), cases.len());
    let mut expected_over = 0;
    for (c, row) in cases.iter().zip(&rows) {
        let want = ids(&c["ids"]);
        assert_eq!(row.input_ids, want, "{what}: text {:?}", c["text"]);
        assert!(row.type_ids.iter().all(|&t| t == 0));
        assert_eq!(row.label, EncodedLabel::None);
        let full = tok.encode_text(c["text"].as_str().unwrap()).unwrap().len();
        expected_over += usize::from(full > max);
    }
    assert!(cases.len() >= 190, "{what}: only {} texts", cases.len());
    assert_eq!(report.over_length, expected_over);
    assert!(report.over_length >= 5, "{report}");
    assert_eq!(report.longest, max);
    assert!(report.to_string().contains("were truncated"), "{report}");
}

#[test]
fn single_texts_match_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.vocab_size(), 30522);
    assert_eq!(tok.pad_id(), 0);
    assert_same(&tok, &fixture(), "tokenizer.json");
}

#[test]
fn vocab_txt_fallback_matches_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for f in ["vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(dir.join(f), tmp.path().join(f)).unwrap();
    }
    let tok = Tokenizer::from_dir(tmp.path()).unwrap();
    assert!(tok.path().ends_with("vocab.txt"));
    assert_same(&tok, &fixture(), "vocab.txt");
}

#[test]
fn sentence_pairs_match_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let fx = fixture();
    let cases = fx["pairs"].as_array().unwrap();
    let examples: Vec<Example> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (a, b) = (c["a"].as_str().unwrap(), c["b"].as_str().unwrap());
            example(
                TextInput::Pair(a.into(), b.into()),
                Target::Value(i as f32),
                i,
            )
        })
        .collect();
    let (rows, report) = tok
        .encode_examples(&examples, None, &EncodeOptions::new(128))
        .unwrap();
    let mut cut = 0;
    for (i, (c, row)) in cases.iter().zip(&rows).enumerate() {
        assert_eq!(row.input_ids, ids(&c["ids"]), "pair {i}");
        cut += usize::from(row.input_ids.len() == 128);
        assert_eq!(row.type_ids, ids(&c["type_ids"]), "pair {i}");
        assert_eq!(row.label, EncodedLabel::Value(i as f32));
    }
    assert_eq!(report.over_length, cut, "{report}");
    assert!(cut >= 1, "the fixture has a pair of two long plots");
}

#[test]
fn ner_word_ids_and_aligned_labels_match_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let fx = fixture();
    let labels: Vec<String> = fx["words"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    let map = LabelMap::from_labels(labels).unwrap();
    let cases = fx["words"]["sentences"].as_array().unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let examples: Vec<Example> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let input = TextInput::Words(strings(&c["words"]));
            example(input, Target::Tags(strings(&c["tags"])), i)
        })
        .collect();
    let (rows, report) = tok
        .encode_examples(&examples, Some(&map), &EncodeOptions::new(128))
        .unwrap();
    assert_eq!(
        report.over_length, 1,
        "the tripled sentence is cut: {report}"
    );
    for (i, (c, row)) in cases.iter().zip(&rows).enumerate() {
        assert_eq!(row.input_ids, ids(&c["ids"]), "sentence {i}");
        let want_words: Vec<Option<u32>> = c["word_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_u64().map(|x| x as u32))
            .collect();
        assert_eq!(
            row.word_ids.as_deref(),
            Some(&want_words[..]),
            "sentence {i}"
        );
        let want_labels: Vec<i64> = c["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(row.label, EncodedLabel::Tokens(want_labels), "sentence {i}");
    }
}

#[test]
fn sliding_windows_match_transformers_overflow() {
    let Some(dir) = minilm_dir() else { return };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let fx = fixture();
    let w = &fx["windows"];
    let (max, stride) = (
        w["max_length"].as_u64().unwrap() as usize,
        w["stride"].as_u64().unwrap() as usize,
    );
    let cases = w["texts"].as_array().unwrap();
    let examples: Vec<Example> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text = c["text"].as_str().unwrap().to_owned();
            example(TextInput::Single(text), Target::Class("x".into()), i)
        })
        .collect();
    let map = LabelMap::from_labels(vec!["x".into()]).unwrap();
    let (rows, report) = tok
        .encode_examples(
            &examples,
            Some(&map),
            &EncodeOptions::new(max).stride(stride),
        )
        .unwrap();
    let mut k = 0;
    for (i, c) in cases.iter().enumerate() {
        let windows = c["windows"].as_array().unwrap();
        assert!(windows.len() >= 2, "text {i} should need several windows");
        for (j, want) in windows.iter().enumerate() {
            assert_eq!((rows[k].example, rows[k].window), (i, j as u32));
            assert_eq!(rows[k].input_ids, ids(want), "text {i} window {j}");
            assert_eq!(rows[k].label, EncodedLabel::Class(0));
            k += 1;
        }
    }
    assert_eq!(k, rows.len());
    assert_eq!((report.over_length, report.rows), (3, rows.len()));
    assert!(
        report.to_string().contains("split into windows"),
        "{report}"
    );
}
