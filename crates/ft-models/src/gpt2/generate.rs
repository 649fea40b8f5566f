//! Text generation with a key/value cache: greedy decoding or sampling with temperature, top-k
//! and top-p (nucleus), applied in that order as transformers' `generate` does.
//!
//! Sampling draws from a private generator seeded by [`GenerateOptions::seed`] on the host, not
//! from libtorch's global generator, so the same seed gives the same text whatever else the
//! process (or another thread) does with torch's randomness.
use super::Gpt2LMHeadModel;
use crate::{GroupModes, ModelError};
use tch::{Device, Kind, Tensor};

/// How to pick each new token.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Tokens to generate at most (fewer if the end-of-text token comes first).
    pub max_new_tokens: usize,
    /// Always take the most likely token (the other sampling settings are then unused).
    pub greedy: bool,
    /// Divides the logits before sampling: below 1 sharpens, above 1 flattens. Must be > 0.
    pub temperature: f64,
    /// Sample only among the `k` most likely tokens (`None` or 0: all).
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities add up to `p` (`None`: all).
    pub top_p: Option<f64>,
    /// Seed of the sampler: the same seed, model and prompt give the same tokens.
    pub seed: u64,
    /// Stop after generating the config's `eos_token_id`.
    pub stop_at_eos: bool,
}

impl GenerateOptions {
    /// Greedy decoding of up to `max_new_tokens` tokens.
    pub fn greedy(max_new_tokens: usize) -> GenerateOptions {
        GenerateOptions {
            max_new_tokens,
            greedy: true,
            temperature: 1.0,
            top_k: None,
            top_p: None,
            seed: 0,
            stop_at_eos: true,
        }
    }

    /// Plain sampling at temperature 1 with the given seed; set `top_k` / `top_p` /
    /// `temperature` on the result as needed.
    pub fn sampling(max_new_tokens: usize, seed: u64) -> GenerateOptions {
        GenerateOptions {
            greedy: false,
            seed,
            ..GenerateOptions::greedy(max_new_tokens)
        }
    }

    fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        let usable = self.temperature > 0.0 && self.temperature.is_finite();
        if !self.greedy && !usable {
            return bad(format!("temperature must be > 0, got {}", self.temperature));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return bad(format!("top_p must be in (0, 1], got {p}"));
            }
        }
        Ok(())
    }
}

/// Generates up to `options.max_new_tokens` tokens after `prompt` and returns only the new ones.
///
/// Errors on an empty prompt, a token outside the vocabulary, or when the prompt plus
/// `max_new_tokens` would not fit the model's context (`n_positions`), instead of silently
/// truncating.
pub fn generate(
    model: &Gpt2LMHeadModel,
    prompt: &[i64],
    options: &GenerateOptions,
) -> Result<Vec<i64>, ModelError> {
    options.validate()?;
    let c = &model.config;
    if prompt.is_empty() {
        return Err(ModelError::Invalid(
            "the prompt is empty: GPT-2 needs at least one token to continue".into(),
        ));
    }
    if let Some(bad) = prompt.iter().find(|&&t| t < 0 || t >= c.vocab_size) {
        return Err(ModelError::Invalid(format!(
            "prompt token {bad} is outside the vocabulary (size {})",
            c.vocab_size
        )));
    }
    let needed = prompt.len() + options.max_new_tokens;
    if needed as i64 > c.n_positions {
        return Err(ModelError::Invalid(format!(
            "the prompt has {} tokens and {} new ones were asked for: {needed} is longer than the \
             model's context of {} tokens (shorten the prompt or lower max_new_tokens)",
            prompt.len(),
            options.max_new_tokens,
            c.n_positions
        )));
    }
    let device = model.device();
    let modes = GroupModes::all(model.layer_groups().len(), false);
    let mut cache = model.new_cache();
    let mut rng = SplitMix64(options.seed);
    let mut input = Tensor::from_slice(prompt).view([1, -1]).to_device(device);
    let mut out = Vec::with_capacity(options.max_new_tokens);
    tch::no_grad(|| -> Result<(), ModelError> {
        for _ in 0..options.max_new_tokens {
            let logits = model.forward(&input, None, Some(&mut cache), &modes)?;
            let last = logits
                .select(1, -1)
                .view([-1])
                .to_kind(Kind::Double)
                .to_device(Device::Cpu);
            let scores = Vec::<f64>::try_from(&last)?;
            let next = if options.greedy {
                argmax(&scores)
            } else {
                sample(&scores, options, &mut rng)
            } as i64;
            out.push(next);
            if options.stop_at_eos && next == c.eos_token_id {
                break;
            }
            input = Tensor::from_slice(&[next]).view([1, 1]).to_device(device);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The first index of the maximum (as `torch.argmax`).
fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// Temperature, then top-k (ties with the k-th score are kept, as in transformers), then top-p
/// over the renormalised probabilities (the most likely token always stays), then one draw.
fn sample(scores: &[f64], o: &GenerateOptions, rng: &mut SplitMix64) -> usize {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep = order.len();
    if let Some(k) = o.top_k.filter(|&k| k > 0 && k < order.len()) {
        let threshold = scores[order[k - 1]];
        keep = order
            .iter()
            .take_while(|&&i| scores[i] >= threshold)
            .count();
    }
    let top = scores[order[0]] / o.temperature;
    let mut probs: Vec<f64> = order[..keep]
        .iter()
        .map(|&i| (scores[i] / o.temperature - top).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if let Some(p) = o.top_p {
        let mut mass = 0.0;
        let mut n = 0;
        for &q in &probs {
            n += 1;
            mass += q;
            if mass >= p {
                break;
            }
        }
        probs.truncate(n);
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|q| *q /= total);
    }
    let u = rng.next_f64();
    let mut cumulative = 0.0;
    for (j, &q) in probs.iter().enumerate() {
        cumulative += q;
        if u < cumulative {
            return order[j];
        }
    }
    order[probs.len() - 1]
}

/// SplitMix64: a tiny, well-mixed generator; enough for drawing tokens reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_top_p_restrict_the_candidates() {
        let scores = [0.0, 5.0, 4.9, -3.0, 4.8];
        let mut rng = SplitMix64(1);
        let mut o = GenerateOptions::sampling(1, 1);
        o.top_k = Some(2);
        for _ in 0..200 {
            assert!(matches!(sample(&scores, &o, &mut rng), 1 | 2));
        }
        o.top_k = None;
        o.top_p = Some(0.01);
        for _ in 0..50 {
            assert_eq!(sample(&scores, &o, &mut rng), 1);
        }
        // A very low temperature is greedy in practice.
        o.top_p = None;
        o.temperature = 1e-3;
        assert_eq!(sample(&scores, &o, &mut rng), 1);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        o.temperature = 0.0;
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("temperature"));
    }
}
