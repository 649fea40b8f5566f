//! Text in, text out: the tokenizer around [`ft_models::gpt2::generate`], so that `ft generate`
//! and library users share one implementation.
use anyhow::{bail, Context, Result};
use ft_data::text::Tokenizer;
use ft_models::gpt2::{generate, GenerateOptions, Gpt2LMHeadModel};

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
fn check_generator_dir(dir: &std::path::Path) -> Result<()> {
    use crate::TaskKind;
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

/// A saved causal LM with its tokenizer, ready to continue prompts (what `ft generate` opens).
pub struct Generator {
    pub model: Gpt2LMHeadModel,
    pub tokenizer: Tokenizer,
    _vs: tch::nn::VarStore,
}

impl Generator {
    /// Opens a causal-lm run directory or a fetched GPT-2 (`config.json`,
    /// `model.safetensors`, `tokenizer.json`). A run of another kind, a model that is not GPT-2
    /// or a directory that is neither is refused in one line naming what it is.
    pub fn open(spec: &str, device: tch::Device) -> Result<Generator> {
        let dir = crate::resolve::resolve_dir(spec)?;
        check_generator_dir(&dir)?;
        let config = ft_models::gpt2::Gpt2Config::from_dir(&dir)?;
        let tokenizer = Tokenizer::from_dir(&dir)?;
        let vs = tch::nn::VarStore::new(device);
        let model = Gpt2LMHeadModel::new(&vs.root(), &config)?;
        let weights = dir.join("model.safetensors");
        model
            .load_pretrained(&vs, &weights)?
            .require_complete(&weights)?;
        Ok(Generator {
            model,
            tokenizer,
            _vs: vs,
        })
    }

    /// The continuation of `prompt` (without the prompt).
    pub fn generate(&self, prompt: &str, options: &GenerateOptions) -> Result<String> {
        generate_text(&self.model, &self.tokenizer, prompt, options)
    }
}
