//! The generative transfer recipes end to end at a tiny budget (section VI of the guide): VAE
//! pretrain → fine-tune on a held-out class, GPT-2 pretrain → fine-tune on `fresh` reviews, each
//! with its comparison table; `ft generate` reproducible per seed; the errors a newcomer hits.
//! The full-size runs, which assert that the pretrained start wins, are `#[ignore]`d.
mod common;

use common::ft;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "ft failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `(model, value)` rows of a run's comparison table.
fn table(run: &Path) -> Vec<(String, f64)> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("comparison.json")).unwrap())
            .unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// `ft <verb>` on `run` fails with one line: "<run> is a `<kind>` run: `ft <verb>` needs …".
fn refused_in_one_line(run: &Path, verb: &str, kind: &str) {
    let mut args = vec![verb, "--model", run.to_str().unwrap(), "--device", "cpu"];
    if verb == "generate" {
        args.extend(["--prompt", "hello"]);
    }
    let out = ft(&args);
    assert!(!out.status.success(), "ft {verb} on a {kind} run succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("{} is a `{kind}` run: `ft {verb}` needs", run.display());
    assert!(err.contains(&want), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `ft eval` on a saved generative run: its held-out number, recomputed from the saved model.
fn evaluates(run: &Path, metric: &str) {
    let stdout = ok(ft(&[
        "eval",
        "--model",
        run.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    assert!(stdout.contains(metric), "{stdout}");
}

#[test]
fn vae_pretrain_then_finetune_reports_the_held_out_elbo_and_writes_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let (pre, fine) = (tmp.path().join("pre"), tmp.path().join("fine"));
    let small = [
        "--validation-size",
        "64",
        "--test-size",
        "128",
        "--device",
        "cpu",
        "--quiet",
    ];
    let mut args = vec![
        "train",
        "--recipe",
        "vae-pretrain",
        "--train-size",
        "512",
        "--num-train-epochs",
        "2",
        "--output-dir",
        pre.to_str().unwrap(),
    ];
    args.extend(small);
    ok(ft(&args));
    let rows = table(&pre);
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Training on other garments already raises the held-out sneakers' ELBO.
    assert!(rows[1].1 > rows[0].1 + 50.0, "{rows:?}");

    let mut args = vec![
        "train",
        "--recipe",
        "vae-finetune",
        "--model",
        pre.to_str().unwrap(),
        "--train-size",
        "64",
        "--num-train-epochs",
        "2",
        "--output-dir",
        fine.to_str().unwrap(),
    ];
    args.extend(small);
    let stdout = ok(ft(&args));
    assert!(
        stdout.contains("| from scratch, same data and steps |"),
        "{stdout}"
    );
    let rows = table(&fine);
    assert_eq!(rows.len(), 3, "{rows:?}");
    // The fine-tuned model starts where phase 1 ended and improves on the target class; the
    // same 4 steps from scratch are far behind.
    assert!((rows[0].1 - table(&pre)[1].1).abs() < 1e-6, "{rows:?}");
    assert!(rows[1].1 > rows[0].1, "{rows:?}");
    assert!(rows[1].1 > rows[2].1 + 50.0, "{rows:?}");
    for grid in [
        "samples-final.png",
        "reconstructions-final.png",
        "samples-epoch-1.png",
    ] {
        assert!(fine.join(grid).is_file(), "missing {grid}");
    }
    // The verbs of a saved VAE run: eval works, the others say why not in one line.
    evaluates(&fine, "elbo");
    refused_in_one_line(&fine, "predict", "vae");
    refused_in_one_line(&fine, "generate", "vae");
}

#[test]
fn lm_pretrain_finetune_and_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let (pre, fine) = (tmp.path().join("pre"), tmp.path().join("fine"));
    let common = ["--test-size", "100", "--device", "cpu", "--quiet"];
    let mut args = vec![
        "train",
        "--recipe",
        "lm-pretrain",
        "--max-steps",
        "30",
        "--output-dir",
        pre.to_str().unwrap(),
    ];
    args.extend(common);
    ok(ft(&args));
    let rows = table(&pre);
    assert!(rows[1].1 < rows[0].1 / 2.0, "{rows:?}");
    assert!(pre.join("tokenizer.json").is_file());

    let mut args = vec![
        "train",
        "--recipe",
        "lm-finetune",
        "--model",
        pre.to_str().unwrap(),
        "--max-steps",
        "10",
        "--output-dir",
        fine.to_str().unwrap(),
    ];
    args.extend(common);
    ok(ft(&args));
    let rows = table(&fine);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[1].1 < rows[0].1,
        "fine-tuning lowers perplexity: {rows:?}"
    );
    assert!(
        rows[1].1 < rows[2].1,
        "pretrained start beats scratch: {rows:?}"
    );

    let generate = |seed: &str| {
        ok(ft(&[
            "generate",
            "--model",
            fine.to_str().unwrap(),
            "--prompt",
            "This movie",
            "--max-new-tokens",
            "12",
            "--seed",
            seed,
            "--device",
            "cpu",
        ]))
    };
    let (a, b, c) = (generate("1"), generate("1"), generate("2"));
    assert!(a.starts_with("This movie"), "{a}");
    assert_eq!(a, b, "same seed, same text");
    assert_ne!(a, c, "another seed, another text");

    // A prompt longer than the context (64 tokens) is refused with the counts.
    let long = "word ".repeat(200);
    let out = ft(&[
        "generate",
        "--model",
        fine.to_str().unwrap(),
        "--prompt",
        &long,
        "--device",
        "cpu",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("64"), "{err}");
    // The other verbs of a saved LM run.
    evaluates(&fine, "perplexity");
    refused_in_one_line(&fine, "predict", "causal-lm");
}

#[test]
fn generative_input_mistakes_get_clear_messages() {
    let tmp = tempfile::tempdir().unwrap();
    // An empty corpus.
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let out = ft(&[
        "train",
        "--recipe",
        "lm-pretrain",
        "--dataset",
        "",
        "--train-file",
        empty.to_str().unwrap(),
        "--output-dir",
        tmp.path().join("lm").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty.txt"), "{err}");
    // A VAE image size the architecture does not support.
    let config = tmp.path().join("vae.json");
    let recipe = serde_json::json!({
        "task": "vae",
        "model": "scratch",
        "model_config": {
            "image_size": 30, "channels": 1, "latent_dim": 8, "hidden_channels": [8, 16],
            "likelihood": "bernoulli"
        },
        "data": {
            "dataset": "fashion-mnist",
            "train_file": "t10k-images-idx3-ubyte.gz",
            "labels_file": "t10k-labels-idx1-ubyte.gz",
            "train_size": 64
        }
    });
    std::fs::write(&config, recipe.to_string()).unwrap();
    let out = ft(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--output-dir",
        tmp.path().join("vae").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("28, 32 and 64"), "{err}");
}

/// Phase 1 then phase 2 of a showcase at full size; returns phase 2's table.
fn full_showcase(pretrain: &str, finetune: &str) -> Vec<(String, f64)> {
    let tmp = tempfile::tempdir().unwrap();
    let (pre, fine) = (tmp.path().join("pre"), tmp.path().join("fine"));
    ok(ft(&[
        "train",
        "--recipe",
        pretrain,
        "--quiet",
        "--output-dir",
        pre.to_str().unwrap(),
    ]));
    ok(ft(&[
        "train",
        "--recipe",
        finetune,
        "--model",
        pre.to_str().unwrap(),
        "--quiet",
        "--output-dir",
        fine.to_str().unwrap(),
    ]));
    let rows = table(&fine);
    println!("{finetune}: {rows:?}");
    rows
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_vae_finetune_beats_from_scratch() {
    let rows = full_showcase("vae-pretrain", "vae-finetune");
    // ELBO: higher is better.
    assert!(rows[1].1 > rows[0].1 && rows[1].1 > rows[2].1, "{rows:?}");
}

#[test]
#[ignore = "full recipe run (minutes): cargo xtask test --full"]
fn recipe_lm_finetune_beats_from_scratch() {
    let rows = full_showcase("lm-pretrain", "lm-finetune");
    // Perplexity: lower is better.
    assert!(rows[1].1 < rows[0].1 && rows[1].1 < rows[2].1, "{rows:?}");
}
