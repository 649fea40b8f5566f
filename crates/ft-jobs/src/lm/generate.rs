//! Text in, text out: the tokenizer around [`ft_models::gpt2::generate`], so that `ft generate`
//! and library users share one implementation.
use crate::config::{RunConfig, TaskKind};
use crate::lm::task::LmTask;
use crate::saved::{Evaluated, SavedJob};
use anyhow::{bail, Context, Result};
use ft_data::text::Tokenizer;
use ft_models::gpt2::{generate, GenerateOptions, Gpt2LMHeadModel};
use ft_models::Pretrained;
use ft_train::TrainingArgs;
use std::path::{Path, PathBuf};

/// Continues `prompt` and returns the generated text only (without the prompt).
///
/// Errors when the prompt encodes to no token, or when its tokens plus
/// `options.max_new_tokens` exceed the model's context (the message gives both counts).
pub fn generate_text(
    model: &Gpt2LMHeadModel,
    tokenizer: &Tokenizer,
    prompt: &str,
    options: &GenerateOptions,
) -> Result<String> {
    let ids: Vec<i64> = tokenizer
        .encode_text(prompt)?
        .into_iter()
        .map(i64::from)
        .collect();
    let new = generate(model, &ids, options).with_context(|| {
        format!(
            "generating from the prompt {:?}",
            prompt.chars().take(60).collect::<String>()
        )
    })?;
    let new: Vec<u32> = new.into_iter().map(|t| t as u32).collect();
    Ok(ft_data::lm::decode(tokenizer, &new)?)
}

/// A run directory must be a causal-lm run; a model directory without `run_config.json` (a
/// fetched `gpt2`) must say `model_type` `gpt2` when it says any.
fn check_generator_dir(dir: &Path) -> Result<()> {
    if dir.join("run_config.json").exists() {
        crate::saved::require_kind(dir, &[TaskKind::CausalLm], "a causal-lm run")?;
        return Ok(());
    }
    let config = dir.join("config.json");
    let text = match std::fs::read_to_string(&config) {
        Ok(text) => text,
        Err(_) => bail!(
            "{} is neither an ft run directory (no run_config.json) nor a model directory (no \
             config.json)",
            dir.display()
        ),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", config.display()))?;
    match value.get("model_type").and_then(serde_json::Value::as_str) {
        None | Some("gpt2") => Ok(()),
        Some(other) => bail!(
            "{} holds a `{other}` model (model_type in config.json), not a GPT-2: `ft generate` \
             needs a causal-lm run or a GPT-2 model",
            dir.display()
        ),
    }
}

/// A saved causal LM with its tokenizer, ready to continue prompts (what `ft generate` opens)
/// and, for a run directory, to measure perplexity (`ft eval`).
pub struct Generator {
    dir: PathBuf,
    task: LmTask,
    pub tokenizer: Tokenizer,
    /// The run's config; `None` for a fetched model.
    config: Option<RunConfig>,
    /// The model's context, which caps the evaluation block length.
    n_positions: i64,
    vs: tch::nn::VarStore,
}

impl Generator {
    /// Opens a causal-lm run directory or a fetched GPT-2 (`config.json`,
    /// `model.safetensors`, `tokenizer.json`). A run of another kind, a model that is not GPT-2
    /// or a directory that is neither is refused in one line naming what it is.
    pub fn open(spec: &str, device: tch::Device) -> Result<Generator> {
        let dir = crate::resolve::resolve_dir(spec)?;
        check_generator_dir(&dir)?;
        Generator::load(&dir, device)
    }

    /// Opens a causal-lm run directory (not a fetched model).
    pub fn open_dir(dir: &Path, device: tch::Device) -> Result<Generator> {
        crate::saved::require_kind(dir, &[TaskKind::CausalLm], "a causal-lm run")?;
        Generator::load(dir, device)
    }

    fn load(dir: &Path, device: tch::Device) -> Result<Generator> {
        let run_config = dir.join("run_config.json");
        let config = run_config
            .exists()
            .then(|| crate::run_files::read_run_config(dir))
            .transpose()?;
        let tokenizer = Tokenizer::from_dir(dir)?;
        let vs = tch::nn::VarStore::new(device);
        let (model, _) = Gpt2LMHeadModel::open_saved(&vs, dir)?;
        let n_positions = model.config.n_positions;
        Ok(Generator {
            dir: dir.to_path_buf(),
            task: LmTask::new(model),
            tokenizer,
            config,
            n_positions,
            vs,
        })
    }

    pub fn model(&self) -> &Gpt2LMHeadModel {
        &self.task.model
    }
}

impl SavedJob for Generator {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn kind(&self) -> TaskKind {
        TaskKind::CausalLm
    }

    /// Perplexity on `data` (a file read like the run's training data, every document) or on
    /// the run's held-out test documents.
    fn evaluate(&self, data: Option<&Path>) -> Result<Evaluated> {
        let config = self.config.as_ref().with_context(|| {
            format!(
                "{} is a fetched model, not a run: `ft eval` needs a causal-lm run directory",
                self.dir.display()
            )
        })?;
        let docs = match data {
            Some(file) => crate::lm::run::read_file_documents(config, file)?,
            None => {
                let (_, _, test) = crate::lm::run::documents(config)?;
                if test.is_empty() {
                    bail!(
                        "the run has no held-out test documents (no held_out_label): pass a file \
                         to evaluate on"
                    );
                }
                test
            }
        };
        let block = crate::lm::run::block_length(config, self.n_positions);
        let args = &config.training;
        let loader = crate::lm::run::loader(
            &self.tokenizer,
            &docs,
            block,
            ft_data::Sampler::Sequential,
            args.per_device_eval_batch_size,
            args.seed,
            &|_| {},
        )?
        .with_context(|| format!("the documents do not fill one block of {block} tokens"))?;
        let args = TrainingArgs {
            output_dir: self.dir.clone(),
            quiet: true,
            ..args.clone()
        };
        let result = ft_train::Trainer::new(args, &self.task, &self.vs)?.evaluate(&loader)?;
        Ok(Evaluated {
            result,
            labels: Vec::new(),
        })
    }

    fn generate(&self, prompt: &str, options: &GenerateOptions) -> Result<String> {
        generate_text(&self.task.model, &self.tokenizer, prompt, options)
    }
}
