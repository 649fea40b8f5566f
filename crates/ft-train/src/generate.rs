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
