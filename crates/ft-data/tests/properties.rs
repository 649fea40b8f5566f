//! Property tests of the pieces whose invariants are easy to state and easy to break.

use ft_data::text::{align_word_labels, read_csv, word_predictions, CsvSpec, Encoded};
use ft_data::{Collator, EncodedLabel, Sampler, Target, TextInput};
use proptest::prelude::*;

fn samplers() -> impl Strategy<Value = Sampler> {
    prop_oneof![
        Just(Sampler::Sequential),
        Just(Sampler::Random),
        (0usize..4).prop_map(|m| Sampler::LengthGrouped {
            mult: (m > 0).then_some(m)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_epoch_is_a_partition_into_small_batches(
        lengths in prop::collection::vec(1usize..60, 1..200),
        batch in 1usize..20,
        sampler in samplers(),
        seed in any::<u64>(),
        epoch in 0u64..1000,
    ) {
        let b = sampler.batches_for_epoch(&lengths, batch, false, seed, epoch).unwrap();
        prop_assert!(b.iter().all(|x| !x.is_empty() && x.len() <= batch));
        prop_assert_eq!(b.len(), lengths.len().div_ceil(batch));
        let mut all: Vec<usize> = b.concat();
        all.sort();
        prop_assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
        prop_assert_eq!(&b, &sampler.batches_for_epoch(&lengths, batch, false, seed, epoch).unwrap());
        let d = sampler.batches_for_epoch(&lengths, batch, true, seed, epoch).unwrap();
        prop_assert_eq!(d.len(), lengths.len() / batch);
        prop_assert!(d.iter().all(|x| x.len() == batch));
    }

    #[test]
    fn collation_keeps_every_token_and_pads_the_rest(
        rows in prop::collection::vec(prop::collection::vec(1u32..30000, 1..40), 1..12),
        multiple in prop::option::of(2usize..9),
    ) {
        let data: Vec<Encoded> = rows.iter().enumerate().map(|(i, ids)| Encoded {
            input_ids: ids.clone(),
            type_ids: vec![0; ids.len()],
            word_ids: None,
            label: EncodedLabel::Class(i as i64),
            example: i,
            window: 0,
        }).collect();
        let mut c = Collator::new(0);
        if let Some(m) = multiple { c = c.pad_to_multiple_of(m); }
        let order: Vec<usize> = (0..data.len()).rev().collect();
        let b = c.collate(&data, &order, 0).unwrap();
        let longest = rows.iter().map(Vec::len).max().unwrap();
        let t = b.seq_len();
        prop_assert!(t >= longest && t < longest + multiple.unwrap_or(1));
        if let Some(m) = multiple { prop_assert_eq!(t % m, 0); }
        for (r, &i) in order.iter().enumerate() {
            let ids = &b.input_ids()[r * t..(r + 1) * t];
            let mask = &b.attention_mask()[r * t..(r + 1) * t];
            let n = rows[i].len();
            prop_assert!(ids[..n].iter().zip(&rows[i]).all(|(a, b)| *a == i64::from(*b)));
            prop_assert!(ids[n..].iter().all(|&x| x == 0));
            prop_assert_eq!(mask.iter().sum::<i64>(), n as i64);
            prop_assert!(mask[..n].iter().all(|&m| m == 1));
        }
        prop_assert_eq!(b.i64s("labels").unwrap(), order.iter().map(|&i| i as i64).collect::<Vec<_>>());
    }

    #[test]
    fn word_labels_survive_alignment_and_back_mapping(
        pieces in prop::collection::vec(1usize..5, 1..30),
        labels_seed in prop::collection::vec(0i64..9, 30),
    ) {
        // [CLS], then word w split into pieces[w] sub-tokens, then [SEP].
        let mut word_ids = vec![None];
        for (w, &k) in pieces.iter().enumerate() {
            word_ids.extend(std::iter::repeat_n(Some(w as u32), k));
        }
        word_ids.push(None);
        let labels = &labels_seed[..pieces.len()];
        let token_labels = align_word_labels(&word_ids, labels);
        prop_assert_eq!(token_labels.iter().filter(|&&l| l != -100).count(), pieces.len());
        let back = word_predictions(&word_ids, &token_labels, pieces.len());
        prop_assert_eq!(back, labels.iter().map(|&l| Some(l)).collect::<Vec<_>>());
    }

    #[test]
    fn any_text_survives_a_csv_round_trip(
        texts in prop::collection::vec("[a-z ,\"\n\r\té😀]{0,30}", 1..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(["text", "label"]).unwrap();
        for (i, t) in texts.iter().enumerate() {
            w.write_record([t.as_str(), if i % 2 == 0 { "a" } else { "b" }]).unwrap();
        }
        w.flush().unwrap();
        let ex = read_csv(&path, &CsvSpec::new("text").label("label")).unwrap();
        prop_assert_eq!(ex.len(), texts.len());
        for (i, (e, t)) in ex.iter().zip(&texts).enumerate() {
            prop_assert_eq!(&e.input, &TextInput::Single(t.clone()));
            let want = if i % 2 == 0 { "a" } else { "b" };
            prop_assert_eq!(&e.target, &Target::Class(want.into()));
            prop_assert_eq!(e.location.row, Some(i as u64));
        }
    }
}
