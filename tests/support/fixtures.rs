//! Small inputs for the tests that run `ft` many times (the bad-input corpus, the crash loop,
//! the signal test): a seeded-random 2-layer BERT that uses MiniLM's real tokenizer, and a
//! labelled CSV of short reviews. A run on them takes about a second, so dozens of runs fit in CI.
//!
//! Generated once into `target/ft-fixtures/` (written to a temporary name, then renamed, so a
//! test binary that dies half-way never leaves a half fixture behind).
use anyhow::{Context, Result};
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

/// Bump when the fixture's content changes: the old folder is then simply not used.
const VERSION: &str = "v1";

/// Where the tiny text fixture is.
pub struct TinyText {
    /// A model directory: `config.json`, `model.safetensors` (encoder only, so any head
    /// size loads), MiniLM's tokenizer files.
    pub model: PathBuf,
    /// `text,label` with 240 rows, `positive` / `negative`, learnable in a few steps.
    pub train_csv: PathBuf,
}

/// `ft train` arguments for a text run on the tiny fixture into `out`: its model and CSV, batches
/// of 16, a constant learning rate (so an optimizer step too many at the end is never hidden by
/// a rate of 0), the CPU, `--quiet`; then `extra`, which must not repeat these flags.
pub fn tiny_train_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let fixture = tiny_text();
    let mut args: Vec<String> = ["train", "--task", "seq-cls", "--model"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(fixture.model.display().to_string());
    args.push("--train-file".into());
    args.push(fixture.train_csv.display().to_string());
    for a in [
        "--per-device-train-batch-size",
        "16",
        "--lr-scheduler-type",
        "constant",
        "--device",
        "cpu",
        "--quiet",
        "--output-dir",
    ] {
        args.push(a.into());
    }
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The tiny config: MiniLM's vocabulary, 2 layers of width 32, 64 positions.
pub fn tiny_bert_config() -> BertConfig {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 64, "type_vocab_size": 2, "model_type": "bert"
    }))
    .expect("valid tiny config")
}

/// The review lines of the fixture CSV (without the header), in file order.
pub fn tiny_reviews() -> Vec<(String, &'static str)> {
    let good = [
        "great",
        "wonderful",
        "moving",
        "brilliant",
        "charming",
        "superb",
    ];
    let bad = ["awful", "dull", "boring", "terrible", "clumsy", "tedious"];
    let nouns = ["film", "movie", "story", "script", "cast"];
    let templates = [
        "a {a} {n}",
        "the {n} was {a}",
        "what a {a} {n} truly",
        "{a} and {b} {n}",
    ];
    let mut rows = Vec::new();
    for (i, n) in nouns.iter().enumerate() {
        for (j, t) in templates.iter().enumerate() {
            for k in 0..6 {
                for (words, label) in [(&good, "positive"), (&bad, "negative")] {
                    let text = t
                        .replace("{a}", words[(k + i) % 6])
                        .replace("{b}", words[(k + j + 1) % 6])
                        .replace("{n}", n);
                    rows.push((text, label));
                }
            }
        }
    }
    rows
}

/// The tiny text fixture, generated on first use.
pub fn tiny_text() -> TinyText {
    let root = crate::workspace_root()
        .join("target/ft-fixtures")
        .join(format!("tiny-text-{VERSION}"));
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    if !root.join("train.csv").is_file() {
        generate(&root).unwrap_or_else(|e| panic!("generating {}: {e:#}", root.display()));
    }
    TinyText {
        model: root.join("model"),
        train_csv: root.join("train.csv"),
    }
}

fn generate(root: &Path) -> Result<()> {
    let parent = root.parent().context("fixture root has a parent")?;
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".tiny-text-{}.tmp", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let model = tmp.join("model");
    std::fs::create_dir_all(&model)?;

    let config = tiny_bert_config();
    {
        let _rng = crate::torch_rng_lock();
        tch::manual_seed(20261201);
        let vs = VarStore::new(tch::Device::Cpu);
        let _bert = BertForTask::new(
            &vs.root(),
            &config,
            BertTask::SequenceClassification { num_labels: 2 },
        )?;
        let mut tensors: Vec<(String, tch::Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(name, _)| name.starts_with("bert."))
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        ft_models::st::write_atomic(&model.join("model.safetensors"), &tensors)?;
    }
    std::fs::write(
        model.join("config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    let minilm = crate::asset("minilm-l6");
    for name in [
        "tokenizer.json",
        "vocab.txt",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        let src = minilm.join(name);
        if src.is_file() {
            std::fs::copy(&src, model.join(name))
                .with_context(|| format!("copying {}", src.display()))?;
        }
    }

    let mut csv = String::from("text,label\n");
    for (text, label) in tiny_reviews() {
        csv.push_str(&format!("{text},{label}\n"));
    }
    std::fs::write(tmp.join("train.csv"), csv)?;

    match std::fs::rename(&tmp, root) {
        Ok(()) => Ok(()),
        // Another process finished first: its fixture is the same.
        Err(_) if root.join("train.csv").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("renaming into {}", root.display())),
    }
}
