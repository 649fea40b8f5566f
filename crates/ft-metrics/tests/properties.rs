//! Properties that hold for any input: F1's symmetry, micro-F1 = accuracy for
//! single-label data, and independence from how the stream is batched.

use ft_metrics::{
    ClassificationAccumulator, Mode, NllAccumulator, RegressionAccumulator, Scheme,
    SequenceAccumulator, ZeroDivision,
};
use proptest::prelude::*;

const C: usize = 5;

fn labels(n: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    n.prop_flat_map(|n| {
        (
            prop::collection::vec(0..C, n),
            prop::collection::vec(0..C, n),
        )
    })
}

/// Cut `0..n` at the given fractions.
fn cuts(n: usize, fractions: &[f64]) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = fractions.iter().map(|f| (f * n as f64) as usize).collect();
    points.push(0);
    points.push(n);
    points.sort_unstable();
    points.windows(2).map(|w| (w[0], w[1])).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn tag_sentences() -> impl Strategy<Value = (Vec<Vec<String>>, Vec<Vec<String>>)> {
    let tag = prop::sample::select(vec![
        "O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC",
    ])
    .prop_map(str::to_string);
    prop::collection::vec(1usize..9, 1..12).prop_flat_map(move |lens| {
        let one = |lens: &Vec<usize>, tag: &BoxedStrategy<String>| {
            lens.iter()
                .map(|&l| prop::collection::vec(tag.clone(), l))
                .collect::<Vec<_>>()
        };
        let t = tag.clone().boxed();
        (one(&lens, &t), one(&lens, &t))
    })
}

proptest! {
    #[test]
    fn f1_is_symmetric_and_precision_recall_swap((p, r) in labels(1..200), one in any::<bool>()) {
        let zd = if one { ZeroDivision::One } else { ZeroDivision::Zero };
        let run = |a: &[usize], b: &[usize]| {
            let mut acc = ClassificationAccumulator::new(C).unwrap().with_zero_division(zd);
            acc.update(a, b).unwrap();
            acc.compute().unwrap()
        };
        let fwd = run(&p, &r);
        let bwd = run(&r, &p);
        for (x, y) in fwd.per_class.iter().zip(&bwd.per_class) {
            prop_assert_eq!(x.class, y.class);
            prop_assert!(close(x.scores.f1, y.scores.f1));
            prop_assert!(close(x.scores.precision, y.scores.recall));
            prop_assert!(close(x.scores.recall, y.scores.precision));
            // F1 is the harmonic mean of precision and recall where defined.
            let (pr, rc) = (x.scores.precision, x.scores.recall);
            if pr + rc > 0.0 {
                prop_assert!(close(x.scores.f1, 2.0 * pr * rc / (pr + rc)));
            }
        }
        prop_assert!(close(fwd.macro_avg.f1, bwd.macro_avg.f1));
        prop_assert!(close(fwd.micro.f1, bwd.micro.f1));
    }

    #[test]
    fn micro_f1_equals_accuracy((p, r) in labels(1..300)) {
        let mut acc = ClassificationAccumulator::new(C).unwrap();
        acc.update(&p, &r).unwrap();
        let rep = acc.compute().unwrap();
        prop_assert!(close(rep.micro.f1, rep.accuracy));
        prop_assert!(close(rep.micro.precision, rep.accuracy));
        prop_assert!(close(rep.micro.recall, rep.accuracy));
    }

    #[test]
    fn classification_is_invariant_to_batching(
        (rows, refs) in (1usize..120).prop_flat_map(|n| (
            prop::collection::vec(prop::collection::vec(-4.0f64..4.0, C), n),
            prop::collection::vec(0..C, n),
        )),
        fractions in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let logits: Vec<f64> = rows.concat();
        let new = || ClassificationAccumulator::new(C).unwrap().with_top_k(&[1, 3]).unwrap();
        let mut whole = new();
        whole.update_logits(&logits, &refs).unwrap();
        let mut parts = new();
        for (a, b) in cuts(refs.len(), &fractions) {
            parts.update_logits(&logits[a * C..b * C], &refs[a..b]).unwrap();
        }
        let (w, s) = (whole.compute().unwrap(), parts.compute().unwrap());
        prop_assert_eq!(&w.confusion_matrix, &s.confusion_matrix);
        prop_assert_eq!(&w.top_k_accuracy, &s.top_k_accuracy);
        prop_assert!(close(w.log_loss.unwrap(), s.log_loss.unwrap()));
        prop_assert_eq!(w.scalars(), s.scalars().into_iter().map(|(k, v)| {
            // log-loss sums in another order; everything else is exact.
            if k == "log_loss" { (k, w.log_loss.unwrap()) } else { (k, v) }
        }).collect());
    }

    #[test]
    fn binary_roc_auc_is_invariant_to_batching(
        (probs, refs) in (2usize..100).prop_flat_map(|n| (
            prop::collection::vec(0u8..=10, n),
            prop::collection::vec(0usize..2, n),
        )),
        fractions in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let flat: Vec<f64> = probs.iter().flat_map(|&p| {
            let p = f64::from(p) / 10.0;
            [1.0 - p, p]
        }).collect();
        let mut whole = ClassificationAccumulator::new(2).unwrap();
        whole.update_probs(&flat, &refs).unwrap();
        let mut parts = ClassificationAccumulator::new(2).unwrap();
        for (a, b) in cuts(refs.len(), &fractions) {
            parts.update_probs(&flat[a * 2..b * 2], &refs[a..b]).unwrap();
        }
        prop_assert_eq!(whole.compute().unwrap().roc_auc, parts.compute().unwrap().roc_auc);
    }

    #[test]
    fn entity_scores_are_invariant_to_batching_and_f1_symmetric(
        (preds, refs) in tag_sentences(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..4),
        strict in any::<bool>(),
    ) {
        let mode = if strict { Mode::Strict(Scheme::Iobes) } else { Mode::Default };
        let mut whole = SequenceAccumulator::new(mode);
        whole.update(&preds, &refs).unwrap();
        let mut parts = SequenceAccumulator::new(mode);
        for (a, b) in cuts(refs.len(), &fractions) {
            parts.update(&preds[a..b], &refs[a..b]).unwrap();
        }
        let w = whole.compute().unwrap();
        prop_assert_eq!(&w, &parts.compute().unwrap());

        let mut swapped = SequenceAccumulator::new(mode);
        swapped.update(&refs, &preds).unwrap();
        let s = swapped.compute().unwrap();
        prop_assert!(close(w.micro.f1, s.micro.f1));
        prop_assert!(close(w.micro.precision, s.micro.recall));
    }

    #[test]
    fn regression_is_invariant_to_batching(
        (p, r) in (1usize..150).prop_flat_map(|n| (
            prop::collection::vec(-1e3f64..1e3, n),
            prop::collection::vec(-1e3f64..1e3, n),
        )),
        fractions in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let mut whole = RegressionAccumulator::new();
        whole.update(&p, &r).unwrap();
        let mut parts = RegressionAccumulator::new();
        for (a, b) in cuts(r.len(), &fractions) {
            parts.update(&p[a..b], &r[a..b]).unwrap();
        }
        // Welford's update runs element by element, so the split cannot matter at all.
        prop_assert_eq!(whole.compute().unwrap(), parts.compute().unwrap());
    }

    #[test]
    fn perplexity_is_invariant_to_batching(
        nll in prop::collection::vec(0.0f64..20.0, 1..200),
        fractions in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let mut whole = NllAccumulator::new();
        whole.update_values(&nll).unwrap();
        let mut parts = NllAccumulator::new();
        for (a, b) in cuts(nll.len(), &fractions) {
            parts.update(nll[a..b].iter().sum(), (b - a) as u64).unwrap();
        }
        let (w, s) = (whole.compute().unwrap(), parts.compute().unwrap());
        prop_assert!(close(w.perplexity, s.perplexity));
        prop_assert!(close(w.bits_per_dim, s.bits_per_dim));
    }
}
