//! `ft` end to end on the real MiniLM and real reviews, at a tiny budget: train → files on disk →
//! `ft eval` → `ft predict` (consistent with eval) → transformers loads the run directory and
//! predicts the same. Plus the command-line errors a newcomer will hit.
mod common;

use common::{ft, full_recipe};
use ft_tests::python_run;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn predict(run: &Path, texts: &[String]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ft"))
        .args([
            "predict",
            "--model",
            run.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(texts.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ft predict failed: {}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_eval_predict_and_transformers_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let run_s = run.to_str().unwrap();
    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--train-size",
        "96",
        "--validation-size",
        "32",
        "--test-size",
        "48",
        "--num-train-epochs",
        "2",
        "--max-length",
        "48",
        "--learning-rate",
        "5e-5",
        "--device",
        "cpu",
        "--quiet",
        "--output-dir",
        run_s,
    ]);
    assert!(out.status.success(), "ft train failed: {}", stderr(&out));
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.json",
        "run.json",
        "training_args.json",
        "train_log.jsonl",
        "run_config.json",
        "checkpoint-6/optimizer.safetensors",
        "checkpoint-12/trainer_state.json",
    ] {
        assert!(
            run.join(file).exists(),
            "{file} missing from the run directory"
        );
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id2label"]["0"], "negative");
    assert_eq!(config["id2label"]["1"], "positive");
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let test_accuracy = metrics["test"]["test_accuracy"].as_f64().unwrap();
    assert_eq!(
        metrics["validation"].as_array().unwrap().len(),
        2,
        "one evaluation per epoch"
    );

    let out = ft(&["eval", "--model", run_s, "--device", "cpu"]);
    assert!(out.status.success(), "ft eval failed: {}", stderr(&out));
    let eval: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval_metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        eval["accuracy"].as_f64().unwrap(),
        test_accuracy,
        "ft eval reproduces the run's test accuracy"
    );

    // Predict the same test texts: their accuracy must equal eval's.
    let config: ft_jobs::RunConfig =
        serde_json::from_str(&std::fs::read_to_string(run.join("run_config.json")).unwrap())
            .unwrap();
    let (_, _, test) = ft_jobs::text::data::load_splits(&config).unwrap();
    let texts: Vec<String> = test
        .iter()
        .map(|e| match &e.input {
            ft_data::TextInput::Single(t) => t.clone(),
            other => panic!("unexpected input {other:?}"),
        })
        .collect();
    let preds = predict(&run, &texts);
    assert_eq!(preds.len(), texts.len());
    let correct = preds
        .iter()
        .zip(&test)
        .filter(|(p, e)| matches!(&e.target, ft_data::Target::Class(c) if p["label"] == c.as_str()))
        .count();
    assert_eq!(correct as f64 / texts.len() as f64, test_accuracy);
    for p in &preds {
        let total: f64 = p["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    // transformers loads model and tokenizer from the run directory and predicts the same.
    let some: Vec<String> = texts.iter().take(8).cloned().collect();
    let file = tmp.path().join("texts.txt");
    std::fs::write(&file, some.join("\n")).unwrap();
    let theirs = python_run("hf_predict.py", &[&run, &file]).unwrap();
    for (ours, line) in preds.iter().zip(theirs.lines()) {
        let theirs: Value = serde_json::from_str(line).unwrap();
        assert_eq!(ours["label"], theirs["label"]);
        let (a, b) = (
            ours["probabilities"]["positive"].as_f64().unwrap(),
            theirs["probabilities"]["positive"].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() < 1e-4,
            "positive probability: ft {a}, transformers {b}"
        );
    }
}

#[test]
fn command_line_mistakes_get_clear_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();

    let out = ft(&["train", "--recipe", "sentimnet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no recipe named `sentimnet`") && stderr(&out).contains("sentiment"),
        "{}",
        stderr(&out)
    );

    let out = ft(&[
        "train",
        "--task",
        "seq-cls",
        "--model",
        "minilm-l6",
        "--train-file",
        "/nonexistent/reviews.csv",
        "--output-dir",
        &format!("{dir}/a"),
    ]);
    assert!(
        stderr(&out).contains("/nonexistent/reviews.csv"),
        "{}",
        stderr(&out)
    );

    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--model",
        "/tmp",
        "--output-dir",
        &format!("{dir}/b"),
    ]);
    assert!(stderr(&out).contains("no config.json"), "{}", stderr(&out));

    let nonempty = tmp.path().join("full");
    std::fs::create_dir_all(&nonempty).unwrap();
    std::fs::write(nonempty.join("keep.txt"), "precious").unwrap();
    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--output-dir",
        nonempty.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("not empty") && stderr(&out).contains("--overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(nonempty.join("keep.txt")).unwrap(),
        "precious"
    );

    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--freeze-strategy",
        "partial",
        "--freeze-layers",
        "99",
        "--train-size",
        "16",
        "--validation-size",
        "8",
        "--test-size",
        "8",
        "--output-dir",
        &format!("{dir}/c"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("99"), "{}", stderr(&out));

    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--text-column",
        "review",
        "--output-dir",
        &format!("{dir}/d"),
    ]);
    assert!(stderr(&out).contains("review"), "{}", stderr(&out));

    let out = ft(&["train", "--learning-rate", "abc"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn a_tokenizer_that_does_not_fit_the_weights_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = ft_tests::asset("minilm-l6");
    let model = tmp.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(real.join("config.json")).unwrap()).unwrap();
    config["vocab_size"] = 1000.into();
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();
    std::fs::copy(real.join("tokenizer.json"), model.join("tokenizer.json")).unwrap();
    let out = ft(&[
        "train",
        "--recipe",
        "sentiment",
        "--model",
        model.to_str().unwrap(),
        "--train-size",
        "16",
        "--validation-size",
        "8",
        "--test-size",
        "8",
        "--output-dir",
        tmp.path().join("run").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("30522") && err.contains("1000") && err.contains("do not belong together"),
        "{err}"
    );
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_sentiment_reaches_its_floor() {
    full_recipe("sentiment", "test_accuracy", 0.72);
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_ner_reaches_its_floor() {
    full_recipe("ner", "test_entity_f1", 0.30);
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_regression_reaches_its_floor() {
    full_recipe("regression", "test_pearson", 0.70);
}
