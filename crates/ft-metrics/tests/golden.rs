//! Compares every accumulator with the values scikit-learn, seqeval and scipy
//! give on the inputs in `golden.json` (written by `gen_golden.py`).
//!
//! Each case is fed in uneven batches, so the comparison also checks that
//! streaming gives the one-shot answer.

use ft_metrics::{
    ClassificationAccumulator, Mode, NllAccumulator, RegressionAccumulator, Scheme, Scores,
    SequenceAccumulator, VaeAccumulator, ZeroDivision,
};
use serde_json::Value;

const TOL: f64 = 1e-9;

fn golden() -> Value {
    let text = include_str!("golden.json");
    serde_json::from_str(text).expect("golden.json parses")
}

#[track_caller]
fn close(case: &str, what: &str, got: f64, want: &Value) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{case}: {what}: golden value {want} is not a number"));
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{case}: {what}: got {got}, scikit-learn/seqeval/scipy say {want}"
    );
}

#[track_caller]
fn close_opt(case: &str, what: &str, got: Option<f64>, want: &Value) {
    match (got, want.is_null()) {
        (None, true) => {}
        (Some(g), false) => close(case, what, g, want),
        (g, _) => panic!("{case}: {what}: got {g:?}, golden says {want}"),
    }
}

fn check_scores(case: &str, what: &str, got: &Scores, want: &Value) {
    close(
        case,
        &format!("{what}.precision"),
        got.precision,
        &want["precision"],
    );
    close(case, &format!("{what}.recall"), got.recall, &want["recall"]);
    close(case, &format!("{what}.f1"), got.f1, &want["f1"]);
    if let Some(s) = want.get("support") {
        assert_eq!(got.support, s.as_u64().unwrap(), "{case}: {what}.support");
    }
}

fn zd(v: &Value) -> ZeroDivision {
    match v.as_i64() {
        Some(0) => ZeroDivision::Zero,
        Some(1) => ZeroDivision::One,
        other => panic!("unexpected zero_division {other:?}"),
    }
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Uneven batch boundaries: 1, 2, 3, ... elements per batch.
fn batches(n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 1);
    while start < n {
        let end = (start + size).min(n);
        out.push((start, end));
        start = end;
        size += 1;
    }
    out
}

#[test]
fn classification_matches_scikit_learn() {
    let g = golden();
    let cases = g["classification"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let c = case["num_classes"].as_u64().unwrap() as usize;
        let refs = usizes(&case["refs"]);
        let exp = &case["expected"];
        let mut acc = ClassificationAccumulator::new(c)
            .unwrap()
            .with_zero_division(zd(&case["zero_division"]))
            .with_top_k(&usizes(&case["top_k"]))
            .unwrap();
        if let Some(p) = case["pos_label"].as_u64() {
            acc = acc.with_positive_label(p as usize).unwrap();
        }
        if case["probs"].is_null() {
            let preds = usizes(&case["preds"]);
            for (a, b) in batches(refs.len()) {
                acc.update(&preds[a..b], &refs[a..b]).unwrap();
            }
        } else {
            let probs: Vec<f64> = case["probs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(floats)
                .collect();
            for (a, b) in batches(refs.len()) {
                acc.update_probs(&probs[a * c..b * c], &refs[a..b]).unwrap();
            }
        }
        let r = acc.compute().unwrap();

        close(name, "accuracy", r.accuracy, &exp["accuracy"]);
        check_scores(name, "micro", &r.micro, &exp["micro"]);
        check_scores(name, "macro", &r.macro_avg, &exp["macro"]);
        check_scores(name, "weighted", &r.weighted, &exp["weighted"]);

        let pc = &exp["per_class"];
        let labels: Vec<usize> = r.per_class.iter().map(|s| s.class).collect();
        assert_eq!(labels, usizes(&pc["labels"]), "{name}: per-class labels");
        for (i, s) in r.per_class.iter().enumerate() {
            let what = format!("class {}", s.class);
            close(
                name,
                &format!("{what} precision"),
                s.scores.precision,
                &pc["precision"][i],
            );
            close(
                name,
                &format!("{what} recall"),
                s.scores.recall,
                &pc["recall"][i],
            );
            close(name, &format!("{what} f1"), s.scores.f1, &pc["f1"][i]);
            assert_eq!(
                s.scores.support,
                pc["support"][i].as_u64().unwrap(),
                "{name}: {what} support"
            );
        }
        if let Some(b) = exp.get("binary") {
            check_scores(name, "binary", &r.binary.unwrap().scores, b);
        } else {
            assert!(r.binary.is_none());
        }

        let cm: Vec<Vec<u64>> = serde_json::from_value(exp["confusion"].clone()).unwrap();
        assert_eq!(r.confusion_matrix, cm, "{name}: confusion matrix");
        for (i, row) in r.confusion_matrix_normalized.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                close(
                    name,
                    &format!("normalized[{i}][{j}]"),
                    v,
                    &exp["confusion_normalized"][i][j],
                );
            }
        }

        if case["probs"].is_null() {
            assert!(r.log_loss.is_none() && r.roc_auc.is_none() && r.top_k_accuracy.is_empty());
        } else {
            close_opt(name, "log_loss", r.log_loss, &exp["log_loss"]);
            match exp.get("roc_auc") {
                Some(want) => close_opt(name, "roc_auc", r.roc_auc, want),
                None => assert!(r.roc_auc.is_none(), "{name}: roc_auc only for 2 classes"),
            }
            let want_k = exp["top_k"].as_object().unwrap();
            assert_eq!(r.top_k_accuracy.len(), want_k.len(), "{name}: top-k count");
            for t in &r.top_k_accuracy {
                close(
                    name,
                    &format!("top-{}", t.k),
                    t.accuracy,
                    &want_k[&t.k.to_string()],
                );
            }
        }
    }
}

fn mode_of(s: &str) -> Mode {
    match s {
        "default" => Mode::Default,
        "strict_iob2" => Mode::Strict(Scheme::Iob2),
        "strict_iobes" => Mode::Strict(Scheme::Iobes),
        other => panic!("unknown mode {other}"),
    }
}

fn sentences(v: &Value) -> Vec<Vec<String>> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn sequence_labelling_matches_seqeval() {
    let g = golden();
    let cases = g["sequence"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let refs = sentences(&case["refs"]);
        let preds = sentences(&case["preds"]);
        let exp = &case["expected"];
        let mut acc = SequenceAccumulator::new(mode_of(case["mode"].as_str().unwrap()))
            .with_zero_division(zd(&case["zero_division"]));
        for (a, b) in batches(refs.len()) {
            acc.update(&preds[a..b], &refs[a..b]).unwrap();
        }
        let r = acc.compute().unwrap();
        close(
            name,
            "token_accuracy",
            r.token_accuracy,
            &exp["token_accuracy"],
        );
        check_scores(name, "micro", &r.micro, &exp["micro"]);
        check_scores(name, "macro", &r.macro_avg, &exp["macro"]);
        check_scores(name, "weighted", &r.weighted, &exp["weighted"]);
        let want = exp["per_type"].as_array().unwrap();
        let types: Vec<&str> = r.per_type.iter().map(|e| e.entity_type.as_str()).collect();
        let want_types: Vec<&str> = want.iter().map(|w| w["type"].as_str().unwrap()).collect();
        assert_eq!(types, want_types, "{name}: entity types");
        for (e, w) in r.per_type.iter().zip(want) {
            check_scores(name, &e.entity_type, &e.scores, w);
        }
    }
}

#[test]
fn no_entities_at_all_matches_seqeval_except_the_documented_macro() {
    let g = golden();
    let case = &g["sequence_all_o"];
    let refs = sentences(&case["refs"]);
    let mut acc = SequenceAccumulator::new(Mode::Default);
    acc.update(&refs, &refs).unwrap();
    let r = acc.compute().unwrap();
    check_scores("all_O", "micro", &r.micro, &case["expected"]["micro"]);
    close(
        "all_O",
        "token_accuracy",
        r.token_accuracy,
        &case["expected"]["token_accuracy"],
    );
    // seqeval averages an empty list (NaN); we report the zero-division value.
    assert!(case["expected"]["macro_f1"].is_null());
    assert_eq!(r.macro_avg.f1, 0.0);
    assert!(r.per_type.is_empty());
}

#[test]
fn regression_matches_scikit_learn_and_scipy() {
    let g = golden();
    let cases = g["regression"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let preds = floats(&case["preds"]);
        let refs = floats(&case["refs"]);
        let exp = &case["expected"];
        let mut acc = RegressionAccumulator::new();
        for (a, b) in batches(refs.len()) {
            acc.update(&preds[a..b], &refs[a..b]).unwrap();
        }
        let r = acc.compute().unwrap();
        close(name, "mse", r.mse, &exp["mse"]);
        close(name, "rmse", r.rmse, &exp["rmse"]);
        close(name, "mae", r.mae, &exp["mae"]);
        close_opt(name, "r2", r.r2, &exp["r2"]);
        close_opt(name, "pearson", r.pearson, &exp["pearson"]);
        close_opt(name, "spearman", r.spearman, &exp["spearman"]);
        let undefined = [&exp["r2"], &exp["pearson"], &exp["spearman"]]
            .iter()
            .any(|v| v.is_null());
        assert_eq!(
            !r.notes.is_empty(),
            undefined,
            "{name}: a note explains undefined values"
        );
    }
}

#[test]
fn generative_terms_match_numpy() {
    let g = golden();
    let case = &g["generative"]["nll"][0];
    let mut acc = NllAccumulator::new();
    for b in case["batches"].as_array().unwrap() {
        acc.update(b["nll_sum"].as_f64().unwrap(), b["count"].as_u64().unwrap())
            .unwrap();
    }
    let r = acc.compute().unwrap();
    let exp = &case["expected"];
    close("nll", "mean_nll", r.mean_nll, &exp["mean_nll"]);
    close("nll", "perplexity", r.perplexity, &exp["perplexity"]);
    close("nll", "bits_per_dim", r.bits_per_dim, &exp["bits_per_dim"]);

    let case = &g["generative"]["vae"][0];
    let recon = floats(&case["reconstruction"]);
    let kl = floats(&case["kl"]);
    let mut acc = VaeAccumulator::new();
    for (a, b) in batches(kl.len()) {
        acc.update(&recon[a..b], &kl[a..b]).unwrap();
    }
    let r = acc.compute().unwrap();
    let exp = &case["expected"];
    close(
        "vae",
        "reconstruction",
        r.reconstruction,
        &exp["reconstruction"],
    );
    close("vae", "kl", r.kl, &exp["kl"]);
    close("vae", "elbo", r.elbo, &exp["elbo"]);
}

#[test]
fn text_tables_match_the_python_reports() {
    let g = golden();
    let t = &g["text"]["classification"];
    let mut acc = ClassificationAccumulator::new(3).unwrap();
    acc.update(&usizes(&t["preds"]), &usizes(&t["refs"]))
        .unwrap();
    let r = acc.compute().unwrap();
    assert_eq!(r.text(2), t["digits2"].as_str().unwrap());
    assert_eq!(r.text(4), t["digits4"].as_str().unwrap());

    let t = &g["text"]["sequence"];
    let mut acc = SequenceAccumulator::new(Mode::Default);
    acc.update(&sentences(&t["preds"]), &sentences(&t["refs"]))
        .unwrap();
    let r = acc.compute().unwrap();
    for digits in [2, 4] {
        let want = t[format!("digits{digits}")].as_str().unwrap();
        let got = r.text(digits);
        assert!(
            got.starts_with(want),
            "seqeval table differs:\n{got}\n--- expected ---\n{want}"
        );
    }
}
