//! Bad input is an `Err` that names what is wrong, never a panic, and a
//! rejected batch leaves the accumulator as it was.

use ft_metrics::{
    ClassificationAccumulator, MetricError, MetricReport, Mode, NllAccumulator,
    RegressionAccumulator, Scheme, SequenceAccumulator, VaeAccumulator,
};

#[test]
fn mismatched_lengths_name_both_arguments() {
    let mut acc = ClassificationAccumulator::new(3).unwrap();
    let e = acc.update(&[0u32, 1], &[0u32]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "length mismatch: `predictions` has 2 elements but `references` has 1"
    );
    let e = RegressionAccumulator::new()
        .update(&[1.0f32], &[1.0, 2.0])
        .unwrap_err();
    assert!(matches!(
        e,
        MetricError::LengthMismatch {
            left_len: 1,
            right_len: 2,
            ..
        }
    ));
    let e = VaeAccumulator::new()
        .update(&[1.0f64, 2.0], &[0.5])
        .unwrap_err();
    assert!(e.to_string().contains("`reconstruction` has 2"), "{e}");
}

#[test]
fn out_of_range_and_negative_class_ids_are_rejected() {
    let mut acc = ClassificationAccumulator::new(3).unwrap();
    let e = acc.update(&[0i64, 1, 3], &[0i64, 1, 2]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`predictions`[2] = 3 is not a class id in 0..3"
    );
    let e = acc.update(&[0i64], &[-1i64]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`references`[0] = -1 is not a class id in 0..3"
    );
    // Nothing of the rejected batches was counted.
    assert!(acc.is_empty());
    assert!(matches!(acc.compute(), Err(MetricError::Empty { .. })));
}

#[test]
fn score_rows_are_checked() {
    let mut acc = ClassificationAccumulator::new(2).unwrap();
    let e = acc
        .update_probs(&[0.5f32, 0.5, 1.0], &[0u8, 1])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`probabilities` has 3 values, expected 2 rows x 2 classes = 4"
    );
    let e = acc.update_probs(&[0.5f64, 1.5], &[0u8]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`probabilities`[1] = 1.5 is not a probability in [0, 1]"
    );
    let e = acc.update_logits(&[0.5f32, f32::NAN], &[0u8]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`logits`[1] is NaN, expected a finite number"
    );
    assert!(acc.is_empty());
}

#[test]
fn nan_values_are_named() {
    let mut acc = RegressionAccumulator::new();
    acc.update(&[1.0, 2.0], &[1.5, 2.5]).unwrap();
    let before = acc.compute().unwrap();
    let e = acc
        .update(&[1.0, 2.0, 3.0], &[1.0, f64::NAN, 3.0])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`references`[1] is NaN, expected a finite number"
    );
    let e = acc.update(&[f64::INFINITY], &[1.0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`predictions`[0] is inf, expected a finite number"
    );
    assert_eq!(acc.compute().unwrap(), before);

    let e = NllAccumulator::new().update(f64::NAN, 3).unwrap_err();
    assert!(e.to_string().contains("`nll_sum`"), "{e}");
    let e = VaeAccumulator::new()
        .update(&[1.0], &[f64::NAN])
        .unwrap_err();
    assert!(e.to_string().starts_with("`kl`[0] is NaN"), "{e}");
}

#[test]
fn unknown_tags_name_sentence_position_and_tag() {
    let mut acc = SequenceAccumulator::new(Mode::Default);
    acc.update(&[vec!["B-PER"]], &[vec!["B-PER"]]).unwrap();
    let before = acc.compute().unwrap();
    let e = acc
        .update(
            &[vec!["O"], vec!["B-PER", "U-LOC"]],
            &[vec!["O"], vec!["B-PER", "O"]],
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`predictions`[1][1] = \"U-LOC\": unknown tag prefix 'U', expected O or one of B-, I-, E-, S-"
    );
    assert_eq!(
        acc.compute().unwrap(),
        before,
        "rejected batch was not counted"
    );

    let mut strict = SequenceAccumulator::new(Mode::Strict(Scheme::Iob2));
    let e = strict.update(&[vec!["S-PER"]], &[vec!["O"]]).unwrap_err();
    assert!(
        e.to_string().contains("not allowed in the IOB2 scheme"),
        "{e}"
    );
}

#[test]
fn sentence_length_mismatch_names_the_sentence() {
    let mut acc = SequenceAccumulator::new(Mode::Default);
    let e = acc
        .update(&[vec!["O"], vec!["O", "O"]], &[vec!["O"], vec!["O"]])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "length mismatch in sentence 1: predictions have 2 tags, references have 1"
    );
    let e = acc
        .update(&[vec!["O"]], &Vec::<Vec<&str>>::new())
        .unwrap_err();
    assert!(matches!(e, MetricError::LengthMismatch { .. }));
}

#[test]
fn empty_input_is_an_error_not_a_nan() {
    let msg = |e: MetricError| e.to_string();
    assert!(msg(ClassificationAccumulator::new(2)
        .unwrap()
        .compute()
        .unwrap_err())
    .starts_with("classification: nothing accumulated"));
    let mut seq = SequenceAccumulator::new(Mode::Default);
    seq.update(&[Vec::<String>::new()], &[Vec::<String>::new()])
        .unwrap();
    assert!(matches!(seq.compute(), Err(MetricError::Empty { .. })));
    assert!(RegressionAccumulator::new().compute().is_err());
    assert!(NllAccumulator::new().compute().is_err());
    assert!(VaeAccumulator::new().compute().is_err());
    // An empty batch is fine and changes nothing.
    let mut acc = ClassificationAccumulator::new(2).unwrap();
    acc.update::<u8, u8>(&[], &[]).unwrap();
    assert!(acc.is_empty());
}

#[test]
fn configuration_errors() {
    assert!(ClassificationAccumulator::new(0).is_err());
    let e = ClassificationAccumulator::new(3)
        .unwrap()
        .with_positive_label(3)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: positive_label = 3 is not a class id in 0..3"
    );
    assert!(ClassificationAccumulator::new(3)
        .unwrap()
        .with_top_k(&[1, 0])
        .is_err());
    assert!(ClassificationAccumulator::new(3)
        .unwrap()
        .with_class_names(["a", "b"])
        .is_err());
}

#[test]
fn undefined_statistics_are_reported_not_nan() {
    let mut acc = RegressionAccumulator::new();
    acc.update(&[1.0, 2.0, 3.0], &[0.1, 0.1, 0.1]).unwrap();
    let r = acc.compute().unwrap();
    assert_eq!((r.r2, r.pearson, r.spearman), (None, None, None));
    assert!(
        r.notes[0].contains("references have zero variance"),
        "{:?}",
        r.notes
    );
    assert!(!r.scalars().contains_key("r2"));
    assert!(r.to_text().contains("r2  undefined"), "{}", r.to_text());
    let json = r.to_json().unwrap();
    assert!(json.contains("\"r2\": null"), "{json}");

    let mut acc = ClassificationAccumulator::new(2).unwrap();
    acc.update_probs(&[0.2, 0.8, 0.6, 0.4], &[1, 1]).unwrap();
    let r = acc.compute().unwrap();
    assert_eq!(r.roc_auc, None);
    assert!(
        r.notes.iter().any(|n| n.contains("only one class")),
        "{:?}",
        r.notes
    );
}

#[test]
fn reset_starts_over_and_keeps_configuration() {
    let mut acc = ClassificationAccumulator::new(3)
        .unwrap()
        .with_top_k(&[2])
        .unwrap();
    acc.update_probs(&[0.1, 0.2, 0.7], &[0]).unwrap();
    acc.reset();
    acc.update_probs(&[0.1, 0.2, 0.7], &[2]).unwrap();
    let r = acc.compute().unwrap();
    assert_eq!(r.num_examples, 1);
    assert_eq!(r.accuracy, 1.0);
    assert_eq!(r.scalars()["top2_accuracy"], 1.0);
}
