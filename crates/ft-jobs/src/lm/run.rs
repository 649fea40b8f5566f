//! `ft train --task causal-lm`: GPT-2 pre-training or fine-tuning on a text corpus (the
//! guide's section VI, GPT fine-tuning).
//!
//! `model` is `scratch` (a GPT-2 built from `model_config`, with a byte-level BPE trained on the
//! training texts), a fetched `gpt2`, or the directory of an earlier run (weights + tokenizer).
//! Documents are joined with end-of-text and packed into blocks of `max_length` tokens. With
//! `held_out_label`, the test documents are drawn first from that label and kept out of
//! training, validation and BPE; their perplexity is reported before and after training.
use crate::config::{RunConfig, TaskKind};
use crate::job::{Comparison, Extras, Job, JobContext, Loaders, Model, Prepared};
use crate::lm::task::LmTask;
use crate::resolve::{resolve_data_file, resolve_max_length, resolve_model};
use anyhow::{bail, Context, Result};
use ft_data::lm::{encode_documents, pack, read_documents, train_bpe_to, BpeOptions, END_OF_TEXT};
use ft_data::text::{CsvSpec, Example, LabelFilter, Target, TextInput, Tokenizer};
use ft_data::{split_seeded, Collator, Loader, Sampler, SplitSizes};
use ft_models::gpt2::{GenerateOptions, Gpt2Config, Gpt2LMHeadModel};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A causal-LM job: GPT-2 pretraining from scratch or fine-tuning.
#[derive(Default)]
pub struct LmJob {
    /// The architecture and tokenizer, once resolved by [`Job::prepare`].
    start: Option<(Tokenizer, Gpt2Config)>,
}

fn text(e: &Example) -> &str {
    match &e.input {
        TextInput::Single(t) => t,
        TextInput::Pair(t, _) => t,
        TextInput::Words(_) => "",
    }
}

/// How the run's documents are read: its text and label columns, its label filter.
fn csv_spec(data: &crate::config::DataConfig) -> Result<CsvSpec> {
    let mut spec = CsvSpec::new(data.text_column.as_str()).label(data.label_column.as_str());
    if let Some(map) = &data.label_map {
        spec = spec.filter(LabelFilter::parse(map)?);
    }
    Ok(spec)
}

/// Every document of `file`, read like the run's training data (`ft eval --data-file`).
pub(crate) fn read_file_documents(config: &RunConfig, file: &Path) -> Result<Vec<Example>> {
    Ok(read_documents(file, &csv_spec(&config.data)?)?)
}

/// The block length: `max_length` (checked against the context when the run started) or the
/// default capped at the model's context.
pub(crate) fn block_length(config: &RunConfig, n_positions: i64) -> usize {
    match config.data.max_length {
        Some(n) => n,
        None => crate::config::DEFAULT_MAX_LENGTH.min(n_positions.max(0) as usize),
    }
}

/// Train, validation and held-out test documents.
pub(crate) fn documents(config: &RunConfig) -> Result<(Vec<Example>, Vec<Example>, Vec<Example>)> {
    let data = &config.data;
    let path = resolve_data_file(data, &data.train_file)?;
    let docs = read_documents(&path, &csv_spec(data)?)?;
    let seed = data.split_seed.unwrap_or(config.training.seed);
    let (test, rest) = match &data.held_out_label {
        Some(label) => {
            let n = data
                .test_size
                .context("held_out_label needs test_size (how many documents to hold out)")?;
            let is_label = |e: &Example| matches!(&e.target, Target::Class(c) if c == label);
            let candidates: Vec<Example> = docs.iter().filter(|e| is_label(e)).cloned().collect();
            if candidates.len() <= n {
                bail!(
                    "{}: {} documents labelled `{label}`, not more than the {n} to hold out",
                    path.display(),
                    candidates.len()
                );
            }
            let sizes = SplitSizes::Counts {
                train: candidates.len() - n,
                validation: 0,
                test: n,
            };
            let held = split_seeded(candidates, seed, sizes)?.test;
            let rest = docs
                .into_iter()
                .filter(|d| !held.iter().any(|h| h.location == d.location))
                .collect();
            (held, rest)
        }
        None => (Vec::new(), docs),
    };
    let validation = data.validation_size.unwrap_or(0).min(rest.len() / 2);
    let sizes = SplitSizes::Counts {
        train: rest.len() - validation,
        validation,
        test: 0,
    };
    let split = split_seeded(rest, seed, sizes)?;
    Ok((split.train, split.validation, test))
}

pub(crate) fn loader(
    tok: &Tokenizer,
    docs: &[Example],
    block: usize,
    sampler: Sampler,
    bs: usize,
    seed: u64,
    say: &dyn Fn(&str),
) -> Result<Option<Loader>> {
    if docs.is_empty() {
        return Ok(None);
    }
    let texts: Vec<&str> = docs.iter().map(text).collect();
    let ids = encode_documents(tok, &texts)?;
    let eos = tok
        .token_to_id(END_OF_TEXT)
        .context("the tokenizer has no <|endoftext|> token")?;
    let packed = pack(&ids, eos, block)?;
    say(&format!("  {packed}"));
    if packed.blocks.is_empty() {
        return Ok(None);
    }
    let collator = Collator::new(i64::from(eos)).without_token_type_ids();
    Ok(Some(
        Loader::new(Arc::new(packed.rows()), sampler, collator, bs)?.seed(seed),
    ))
}

/// The context of a `scratch` GPT-2 whose `model_config` does not set `n_positions`.
const SCRATCH_POSITIONS: i64 = 64;

/// The tokenizer, architecture and weights to start from.
fn start(
    config: &RunConfig,
    train: &[Example],
    out: &Path,
) -> Result<(Tokenizer, Gpt2Config, Option<PathBuf>)> {
    if config.model == "scratch" {
        // The context length is known before the BPE is trained: check it first.
        let positions = config
            .model_config
            .as_ref()
            .and_then(|v| v.get("n_positions"))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(SCRATCH_POSITIONS);
        resolve_max_length(
            config.data.max_length,
            positions,
            "n_positions",
            Path::new("model_config"),
        )?;
        let vocab = config.data.bpe_vocab_size.unwrap_or(4000);
        let texts: Vec<&str> = train.iter().map(text).collect();
        let tok = train_bpe_to(out, &texts, &BpeOptions::new(vocab))?;
        let eos = tok
            .token_to_id(END_OF_TEXT)
            .context("BPE without <|endoftext|>")? as i64;
        let mut v = config
            .model_config
            .clone()
            .context("model `scratch` needs model_config (n_layer, n_embd, n_head, n_positions)")?;
        v["vocab_size"] = (tok.vocab_size() as i64).into();
        for key in ["bos_token_id", "eos_token_id"] {
            v[key] = eos.into();
        }
        let base = Gpt2Config::small(tok.vocab_size() as i64, SCRATCH_POSITIONS, 128, 2, 4, eos);
        let mut merged = serde_json::to_value(&base)?;
        if let (Some(m), Some(o)) = (merged.as_object_mut(), v.as_object()) {
            m.extend(o.clone());
        }
        let cfg: Gpt2Config = serde_json::from_value(merged).context("model_config of GPT-2")?;
        cfg.validate().map_err(anyhow::Error::msg)?;
        return Ok((tok, cfg, None));
    }
    let dir = resolve_model(&config.model)?;
    let tok = Tokenizer::from_dir(&dir)?;
    let cfg = Gpt2Config::from_dir(&dir)?;
    resolve_max_length(config.data.max_length, cfg.n_positions, "n_positions", &dir)?;
    if tok.vocab_size() as i64 > cfg.vocab_size {
        bail!(
            "the tokenizer of {} has {} tokens but the model has {} embeddings",
            dir.display(),
            tok.vocab_size(),
            cfg.vocab_size
        );
    }
    Ok((tok, cfg, Some(dir.join("model.safetensors"))))
}

fn build(ctx: &JobContext, cfg: &Gpt2Config, weights: Option<&Path>) -> Result<Model<LmTask>> {
    let vs = ctx.var_store();
    let model: Gpt2LMHeadModel = crate::job::whole_model(&vs, cfg, weights)?;
    Ok(Model {
        vs,
        task: LmTask::new(model),
        pretrained: weights.is_some(),
    })
}

impl Job for LmJob {
    type Task = LmTask;

    fn prepare(&mut self, ctx: &JobContext) -> Result<Prepared<LmTask>> {
        let config = ctx.config;
        if config.task != TaskKind::CausalLm {
            bail!(
                "the causal-lm job runs causal-lm runs, not {:?}",
                config.task
            );
        }
        let args = &config.training;
        ft_train::task::check_metric_for_best_model(args, LmTask::METRIC_NAMES)?;
        let out = args.output_dir.clone();
        std::fs::create_dir_all(&out)?;
        let (train, validation, test) = documents(config)?;
        ctx.say(&format!(
            "data: {} train / {} validation / {} held-out test documents",
            train.len(),
            validation.len(),
            test.len()
        ));
        let (tok, cfg, weights) = start(config, &train, &out)?;
        if weights.is_some() {
            // The run directory must carry its tokenizer (scratch runs wrote theirs already).
            let src = resolve_model(&config.model)?.join("tokenizer.json");
            std::fs::copy(&src, out.join("tokenizer.json"))
                .with_context(|| format!("copying {}", src.display()))?;
        }
        // `start` checked that a max_length given fits the context.
        let block = block_length(config, cfg.n_positions);
        let (bs, ebs, seed) = (
            args.per_device_train_batch_size,
            args.per_device_eval_batch_size,
            args.seed,
        );
        let say = |line: &str| ctx.say(line);
        let train_loader = loader(&tok, &train, block, Sampler::Random, bs, seed, &say)?
            .context("the training documents do not fill one block")?;
        let validation_loader = loader(
            &tok,
            &validation,
            block,
            Sampler::Sequential,
            ebs,
            seed,
            &say,
        )?;
        let test_loader = loader(&tok, &test, block, Sampler::Sequential, ebs, seed, &say)?;
        let model = build(ctx, &cfg, weights.as_deref())?;
        self.start = Some((tok, cfg));
        Ok(Prepared {
            model,
            loaders: Loaders {
                train: train_loader,
                validation: validation_loader,
                test: test_loader,
            },
            resolved: config.clone(),
            source: crate::job::start_source(weights.as_deref(), &out),
            labels: None,
            load_report: None,
            comparison: Some(Comparison {
                metric: "perplexity",
                column: "perplexity",
                title: "Held-out perplexity of the test documents (lower is better)",
            }),
        })
    }

    fn scratch(&self, ctx: &JobContext) -> Result<Option<Model<LmTask>>> {
        let (_, cfg) = self.start.as_ref().context("prepare comes first")?;
        Ok(Some(build(ctx, cfg, None)?))
    }

    /// A few sampled continuations of the trained model, shown and kept in `samples.txt`.
    fn finish(&mut self, ctx: &JobContext, model: &Model<LmTask>) -> Result<Extras> {
        let (tok, _) = self.start.as_ref().context("prepare comes first")?;
        let seed = ctx.config.training.seed;
        let mut samples = Vec::new();
        for (i, prompt) in ["This movie", "The acting", "A film that"]
            .iter()
            .enumerate()
        {
            let mut options = GenerateOptions::sampling(30, seed + i as u64);
            options.top_k = Some(50);
            options.temperature = 0.8;
            let text = crate::lm::generate_text(&model.task.model, tok, prompt, &options)?;
            samples.push(format!("{prompt}{text}"));
        }
        ctx.say("\nsamples (top-k 50, temperature 0.8):");
        for s in &samples {
            ctx.say(&format!("  {s}"));
        }
        let out = &ctx.config.training.output_dir;
        ft_models::st::write_file_atomic(
            &out.join("samples.txt"),
            (samples.join("\n") + "\n").as_bytes(),
        )?;
        let mut extras = Extras::new();
        extras.insert("samples".into(), serde_json::to_value(&samples)?);
        Ok(extras)
    }
}
