//! The readers, splits and full pipeline on the real assets of the recipes, checked against
//! numbers printed by the Python reference protocol (`hf_rt_anchor.py`, `hf_ner_reg_anchor.py`).
//! Skipped with a message when an asset is not in the cache.

mod common;

use ft_data::split::{split_seeded, SplitSizes};
use ft_data::text::{
    read_conll, read_csv, ConllSpec, CsvSpec, EncodeOptions, LabelFilter, Tokenizer,
};
use ft_data::{DataError, LabelMap, Loader, Sampler, Target, TextInput};
use std::sync::Arc;

fn text(i: &TextInput) -> &str {
    match i {
        TextInput::Single(s) => s,
        other => panic!("not a single text: {other:?}"),
    }
}

fn rt_spec() -> CsvSpec {
    CsvSpec::new("text")
        .label("category")
        .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=").unwrap())
}

#[test]
fn rotten_tomatoes_split_equals_the_reference_rows() {
    let Some(path) = common::asset("datasets/rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2")
    else {
        return;
    };
    let rows = read_csv(&path, &rt_spec()).unwrap();
    assert_eq!(
        rows.len(),
        4866,
        "2455 fresh + 2411 rotten, 156 plot rows dropped"
    );
    let s = split_seeded(
        rows,
        42,
        SplitSizes::Counts {
            train: 1000,
            validation: 1000,
            test: 1000,
        },
    )
    .unwrap();
    let positives = |xs: &[ft_data::Example]| {
        xs.iter()
            .filter(|e| e.target == Target::Class("positive".into()))
            .count()
    };
    // Python: random.Random(42).shuffle(rows); sum of labels per split.
    assert_eq!(
        [
            positives(&s.train),
            positives(&s.validation),
            positives(&s.test)
        ],
        [500, 517, 529]
    );
    assert!(text(&s.train[0].input).starts_with("Ararat is among the director's best work"));
    assert!(text(&s.validation[0].input).starts_with("Culkin exudes none of the charm"));
    assert_eq!(
        text(&s.test[999].input),
        "A lovely and beautifully photographed romance."
    );

    // The thin path end to end: label map, tokenization, dynamic padding, prefetch loader.
    let Some(tok) = common::asset("models/minilm-l6/tokenizer.json") else {
        return;
    };
    let tok = Tokenizer::from_dir(tok.parent().unwrap()).unwrap();
    let labels = LabelMap::from_train(&s.train).unwrap();
    assert_eq!(labels.labels(), ["negative", "positive"]);
    let (train, report) = tok
        .encode_examples(&s.train, Some(&labels), &EncodeOptions::new(128))
        .unwrap();
    assert_eq!((report.examples, report.rows), (1000, 1000));
    assert!(report.longest <= 128);
    let loader = Loader::new(Arc::new(train), Sampler::Random, tok.collator(), 16)
        .unwrap()
        .seed(42);
    let mut seen = 0;
    let mut positives_seen = 0;
    for batch in loader.epoch(0) {
        let b = batch.unwrap();
        let (bs, t) = (b.batch_size(), b.seq_len());
        assert_eq!(b.get("input_ids").unwrap().shape, [bs, t]);
        assert_eq!(b.get("token_type_ids").unwrap().shape, [bs, t]);
        // Dynamic padding: some row fills the batch, every row starts with [CLS].
        assert!((0..bs).any(|r| b.attention_mask()[r * t + t - 1] == 1));
        assert!((0..bs).all(|r| b.input_ids()[r * t] == 101));
        positives_seen += b.i64s("labels").unwrap().iter().sum::<i64>();
        seen += bs;
    }
    assert_eq!((seen, positives_seen), (1000, 500));
    assert_eq!(loader.num_batches(), 63);
}

#[test]
fn wnut16_sentences_tags_and_fraction_split() {
    let Some(path) = common::asset("datasets/wnut16/ner.txt") else {
        return;
    };
    let sents = read_conll(&path, &ConllSpec::default()).unwrap();
    let words: usize = sents
        .iter()
        .map(|e| match &e.input {
            TextInput::Words(w) => w.len(),
            _ => 0,
        })
        .sum();
    assert_eq!((sents.len(), words), (2394, 46469));
    let labels = LabelMap::from_train(&sents).unwrap();
    assert_eq!(labels.len(), 21);
    assert_eq!(
        (labels.name(0), labels.name(10), labels.name(20)),
        (Some("B-company"), Some("I-company"), Some("O"))
    );
    let s = split_seeded(
        sents,
        42,
        SplitSizes::Fractions {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
        },
    )
    .unwrap();
    assert_eq!(
        (s.train.len(), s.validation.len(), s.test.len()),
        (1915, 239, 240)
    );
    let first = |e: &ft_data::Example| match &e.input {
        TextInput::Words(w) => w[..6].join(" "),
        _ => unreachable!(),
    };
    assert_eq!(first(&s.train[0]), "Football game tonight :) yeeah boilers");
    assert_eq!(first(&s.test[239]), "@FATJEW : I watch porn movies");

    // A tag the training split lacks is an error naming the tag and its exact line.
    let mut eval = s.validation[0].clone();
    if let Target::Tags(t) = &mut eval.target {
        t[2] = "B-spaceship".into();
    }
    let tok = match common::asset("models/minilm-l6/tokenizer.json") {
        Some(p) => Tokenizer::from_dir(p.parent().unwrap()).unwrap(),
        None => return,
    };
    let err = tok
        .encode_examples(&[eval.clone()], Some(&labels), &EncodeOptions::new(128))
        .unwrap_err();
    assert!(
        matches!(&err, DataError::UnknownLabel { label, line, .. }
            if label == "B-spaceship" && *line == eval.location.line + 2),
        "{err}"
    );
    assert!(err.to_string().contains("ner.txt:"), "{err}");
}

#[test]
fn whissell_pleasantness_is_read_as_regression() {
    let Some(path) = common::asset("datasets/whissell/whissells_df.csv") else {
        return;
    };
    let rows = read_csv(
        &path,
        &CsvSpec::new("word").label("pleasantness").regression(),
    )
    .unwrap();
    assert_eq!(rows.len(), 8743);
    assert_eq!(
        (text(&rows[0].input), &rows[0].target),
        ("a", &Target::Value(2.0))
    );
    assert_eq!(rows[8742].target, Target::Value(1.5));
    assert_eq!(rows[8742].location.line, 8744);
}
