//! Text in, text out: the tokenizer around [`ft_models::gpt2::generate`], so that `ft generate`
//! and library users share one implementation.
use anyhow::{Context, Result};
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

/// A saved causal LM with its tokenizer, ready to continue prompts (what `ft generate` opens).
pub struct Generator {
    pub model: Gpt2LMHeadModel,
    pub tokenizer: Tokenizer,
    _vs: tch::nn::VarStore,
}

impl Generator {
    /// Opens a run directory or a fetched model (`config.json`, `model.safetensors`,
    /// `tokenizer.json`).
    pub fn open(spec: &str, device: tch::Device) -> Result<Generator> {
        let dir = crate::text_run::resolve_model(spec)?;
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
