use super::blocks::{layer_norm, AttnMask, Block};
use super::{Gpt2Config, KvCache};
use crate::loading::{load_into, LoadReport, NameMap};
use crate::{GroupModes, LayerGroup, ModelError};
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Kind, Reduction, Tensor};

/// The variable-name prefix of the head group (the final layer norm; the output projection is
/// the tied `transformer.wte`).
pub const HEAD_PREFIX: &str = "transformer.ln_f.";

/// transformers' `GPT2LMHeadModel`: `transformer.wte` / `wpe` embeddings, blocks
/// `transformer.h.N`, `transformer.ln_f`, and a language-model head tied to `wte`.
///
/// The head has no variable of its own: logits are `hidden · wteᵀ`, exactly as transformers ties
/// `lm_head.weight` to `transformer.wte.weight`. So freezing the `embeddings` group also freezes
/// the output projection, and fine-tuning the head group alone trains only `ln_f`.
pub struct Gpt2LMHeadModel {
    pub config: Gpt2Config,
    wte: nn::Embedding,
    wpe: nn::Embedding,
    blocks: Vec<Block>,
    ln_f: nn::LayerNorm,
    groups: Vec<LayerGroup>,
}

/// Large negative for masked attention logits: finite so that a fully masked row (a padding
/// query) gives a uniform softmax rather than NaN.
fn mask_min(kind: Kind) -> f64 {
    match kind {
        Kind::Half => f64::from(half::f16::MIN),
        Kind::BFloat16 => f64::from(half::bf16::MIN),
        Kind::Double => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

impl Gpt2LMHeadModel {
    /// Builds the model under `root` (variables `transformer.…`), initialised as transformers does.
    pub fn new(root: &nn::Path, config: &Gpt2Config) -> Result<Gpt2LMHeadModel, ModelError> {
        config.validate().map_err(ModelError::Invalid)?;
        let p = root / "transformer";
        let emb = |name: &str, n: i64| {
            let c = nn::EmbeddingConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: config.initializer_range,
                },
                ..Default::default()
            };
            nn::embedding(&p / name, n, config.n_embd, c)
        };
        let wte = emb("wte", config.vocab_size);
        let wpe = emb("wpe", config.n_positions);
        let blocks = (0..config.n_layer)
            .map(|i| Block::new(&p / "h" / i, config))
            .collect();
        let ln_f = layer_norm(&p / "ln_f", config.n_embd, config.layer_norm_epsilon);
        let mut groups = vec![LayerGroup::new(
            "embeddings",
            &["transformer.wte.", "transformer.wpe."],
        )];
        for i in 0..config.n_layer {
            let prefix = format!("transformer.h.{i}.");
            groups.push(LayerGroup::new(format!("h.{i}"), &[prefix.as_str()]));
        }
        groups.push(LayerGroup::new("head", &[HEAD_PREFIX]));
        Ok(Gpt2LMHeadModel {
            config: config.clone(),
            wte,
            wpe,
            blocks,
            ln_f,
            groups,
        })
    }

    /// Bottom to top: `embeddings` (wte + wpe, and so the tied output projection), `h.0` …
    /// `h.{n_layer-1}`, `head` (ln_f).
    pub fn layer_groups(&self) -> &[LayerGroup] {
        &self.groups
    }

    pub fn head_prefix(&self) -> &'static str {
        HEAD_PREFIX
    }

    /// The device the weights live on.
    pub fn device(&self) -> tch::Device {
        self.wte.ws.device()
    }

    /// An empty key/value cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.blocks.len())
    }

    /// Next-token logits `[B, T, vocab]` for `input_ids` `[B, T]`.
    ///
    /// `attention_mask` (1 = token, 0 = padding) covers the cached tokens and the new ones,
    /// `[B, past + T]`; without it every token is real. With `past`, the new tokens continue
    /// the cached sequence (positions `past..past + T`) and the cache grows by `T`.
    /// Errors when the sequence would run past `n_positions`.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        mut past: Option<&mut KvCache>,
        modes: &GroupModes,
    ) -> Result<Tensor, ModelError> {
        let (b, t) = input_ids.size2().map_err(|_| {
            ModelError::Invalid(format!(
                "input_ids must be [batch, seq], got {:?}",
                input_ids.size()
            ))
        })?;
        let past_len = past.as_ref().map(|c| c.len()).unwrap_or(0);
        let total = past_len + t;
        if total > self.config.n_positions {
            return Err(ModelError::Invalid(format!(
                "a sequence of {total} tokens ({past_len} cached + {t} new) is longer than the \
                 model's context (n_positions = {})",
                self.config.n_positions
            )));
        }
        let device = input_ids.device();
        let positions = Tensor::arange_start(past_len, total, (Kind::Int64, device)).unsqueeze(0);
        let mut xs = (self.wte.forward(input_ids) + self.wpe.forward(&positions))
            .dropout(self.config.embd_pdrop, modes.is_train(0));
        let mask = match attention_mask {
            Some(m) => {
                if m.size() != [b, total] {
                    return Err(ModelError::Invalid(format!(
                        "attention_mask must be [batch, cached + new tokens] = [{b}, {total}], got {:?}",
                        m.size()
                    )));
                }
                // Query i (absolute position past_len + i) sees key j iff j ≤ past_len + i and
                // key j is not padding.
                let q_pos =
                    Tensor::arange_start(past_len, total, (Kind::Int64, device)).view([t, 1]);
                let k_pos = Tensor::arange(total, (Kind::Int64, device)).view([1, total]);
                let causal = k_pos.le_tensor(&q_pos).view([1, 1, t, total]);
                let keys = m.ne(0).view([b, 1, 1, total]);
                let allowed = causal.logical_and(&keys);
                let zeros = Tensor::zeros([1], (xs.kind(), device));
                AttnMask::Additive(zeros.where_scalarother(&allowed, mask_min(xs.kind())))
            }
            None if past_len == 0 => AttnMask::Causal,
            None if t == 1 => AttnMask::None,
            None => {
                let q_pos =
                    Tensor::arange_start(past_len, total, (Kind::Int64, device)).view([t, 1]);
                let k_pos = Tensor::arange(total, (Kind::Int64, device)).view([1, total]);
                let allowed = k_pos.le_tensor(&q_pos).view([1, 1, t, total]);
                let zeros = Tensor::zeros([1], (xs.kind(), device));
                AttnMask::Additive(zeros.where_scalarother(&allowed, mask_min(xs.kind())))
            }
        };
        for (i, block) in self.blocks.iter().enumerate() {
            let cache = past.as_mut().map(|c| &mut c.layers[i]);
            xs = block.forward(&xs, &mask, cache, modes.is_train(i + 1));
        }
        let xs = self.ln_f.forward(&xs);
        Ok(xs.matmul(&self.wte.ws.tr()))
    }

    /// transformers' causal-LM loss: token t predicts label t+1 (the shift happens here, so
    /// `labels` is usually `input_ids`), labels of -100 are skipped, mean over the rest.
    pub fn loss(&self, logits: &Tensor, labels: &Tensor) -> Tensor {
        let (logits, labels) = shift_for_causal_lm(logits, labels);
        logits.cross_entropy_loss::<Tensor>(&labels, None, Reduction::Mean, -100, 0.0)
    }

    /// Loads a GPT-2 checkpoint: upstream `gpt2` / `distilgpt2` files (names without the
    /// `transformer.` prefix, with `h.N.attn.bias` / `masked_bias` buffers, which are ignored) or
    /// a `GPT2LMHeadModel` saved by transformers or ft. An `lm_head.weight` in the file must equal
    /// the embeddings it is tied to; it is then ignored.
    pub fn load_pretrained(
        &self,
        vs: &nn::VarStore,
        path: &Path,
    ) -> Result<LoadReport, ModelError> {
        let checkpoint = crate::st::read(path)?;
        let find = |names: &[&str]| {
            checkpoint
                .iter()
                .find(|(n, _)| names.contains(&n.as_str()))
                .map(|(_, t)| t)
        };
        if let (Some(head), Some(wte)) = (
            find(&["lm_head.weight"]),
            find(&["transformer.wte.weight", "wte.weight"]),
        ) {
            if head.size() != wte.size() || !head.equal(wte) {
                return Err(ModelError::Invalid(format!(
                    "{}: lm_head.weight differs from wte.weight, but GPT-2's output projection \
                     is tied to its embeddings (untied heads are not supported)",
                    path.display()
                )));
            }
        }
        let rename = |name: &str| -> Option<String> {
            if name == "lm_head.weight"
                || name.ends_with(".attn.bias")
                || name.ends_with(".attn.masked_bias")
            {
                return None;
            }
            if ["wte.", "wpe.", "h.", "ln_f."]
                .iter()
                .any(|p| name.starts_with(p))
            {
                Some(format!("transformer.{name}"))
            } else {
                Some(name.to_string())
            }
        };
        let names = NameMap {
            rename: &rename,
            may_be_missing: &|_| false,
        };
        load_into(&vs.variables(), checkpoint, &names, path)
    }

    /// Writes `config.json` and `model.safetensors` in the layout
    /// `transformers.GPT2LMHeadModel.from_pretrained(dir)` loads (the tied `lm_head.weight` is
    /// left out, as transformers itself saves it).
    pub fn save_pretrained(&self, vs: &nn::VarStore, dir: &Path) -> Result<(), ModelError> {
        let mut config = self.config.clone();
        config.extra.insert(
            "architectures".into(),
            serde_json::json!(["GPT2LMHeadModel"]),
        );
        config
            .extra
            .insert("model_type".into(), serde_json::json!("gpt2"));
        crate::config_file::write_model_dir(dir, &config, vs)
    }
}

/// Aligns next-token logits with their targets: `logits[:, :-1]` as `[N, vocab]` against
/// `labels[:, 1:]` as `[N]` (the last position has nothing to predict).
pub fn shift_for_causal_lm(logits: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
    let vocab = *logits
        .size()
        .last()
        .expect("logits have a vocabulary dimension");
    let t = labels.size()[1];
    let logits = logits.narrow(1, 0, t - 1).reshape([-1, vocab]);
    let labels = labels.narrow(1, 1, t - 1).reshape([-1]);
    (logits, labels)
}
