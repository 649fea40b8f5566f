use super::BertConfig;
use crate::GroupModes;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Activation {
    fn from_config(name: &str) -> Activation {
        match name {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            _ => Activation::GeluErf,
        }
    }

    fn apply(self, xs: &Tensor) -> Tensor {
        match self {
            Activation::GeluErf => xs.gelu("none"),
            Activation::GeluTanh => xs.gelu("tanh"),
            Activation::Relu => xs.relu(),
        }
    }
}

fn layer_norm(p: nn::Path, size: i64, eps: f64) -> nn::LayerNorm {
    let config = nn::LayerNormConfig {
        eps,
        ..Default::default()
    };
    nn::layer_norm(p, vec![size], config)
}

/// transformers initialises weights from N(0, initializer_range) and biases at zero; a freshly
/// added head must start the same way for runs to be comparable.
pub(crate) fn hf_linear(p: nn::Path, inp: i64, out: i64, init_range: f64) -> nn::Linear {
    let config = nn::LinearConfig {
        ws_init: nn::Init::Randn {
            mean: 0.0,
            stdev: init_range,
        },
        bs_init: Some(nn::Init::Const(0.0)),
        bias: true,
    };
    nn::linear(p, inp, out, config)
}

struct Embeddings {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    dropout: f64,
}

impl Embeddings {
    fn new(p: nn::Path, c: &BertConfig) -> Embeddings {
        let emb = |name: &str, n: i64| {
            let config = nn::EmbeddingConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: c.initializer_range,
                },
                ..Default::default()
            };
            nn::embedding(&p / name, n, c.hidden_size, config)
        };
        Embeddings {
            word: emb("word_embeddings", c.vocab_size),
            position: emb("position_embeddings", c.max_position_embeddings),
            token_type: emb("token_type_embeddings", c.type_vocab_size),
            norm: layer_norm(&p / "LayerNorm", c.hidden_size, c.layer_norm_eps),
            dropout: c.hidden_dropout_prob,
        }
    }

    fn forward(&self, input_ids: &Tensor, token_type_ids: &Tensor, train: bool) -> Tensor {
        let seq_len = input_ids.size()[1];
        let positions = Tensor::arange(seq_len, (Kind::Int64, input_ids.device())).unsqueeze(0);
        let xs = self.word.forward(input_ids)
            + self.position.forward(&positions)
            + self.token_type.forward(token_type_ids);
        self.norm.forward(&xs).dropout(self.dropout, train)
    }
}

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    heads: i64,
    act: Activation,
    dropout: f64,
    attn_dropout: f64,
}

impl Layer {
    fn new(p: nn::Path, c: &BertConfig) -> Layer {
        let h = c.hidden_size;
        let r = c.initializer_range;
        let attn = &p / "attention";
        Layer {
            query: hf_linear(&attn / "self" / "query", h, h, r),
            key: hf_linear(&attn / "self" / "key", h, h, r),
            value: hf_linear(&attn / "self" / "value", h, h, r),
            attn_out: hf_linear(&attn / "output" / "dense", h, h, r),
            attn_norm: layer_norm(&attn / "output" / "LayerNorm", h, c.layer_norm_eps),
            intermediate: hf_linear(&p / "intermediate" / "dense", h, c.intermediate_size, r),
            output: hf_linear(&p / "output" / "dense", c.intermediate_size, h, r),
            out_norm: layer_norm(&p / "output" / "LayerNorm", h, c.layer_norm_eps),
            heads: c.num_attention_heads,
            act: Activation::from_config(&c.hidden_act),
            dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
        }
    }

    /// `mask` is additive, [B, 1, 1, T]: 0 where attended, the dtype's minimum where padded.
    fn forward(&self, xs: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (b, t, h) = xs.size3().expect("hidden states are [batch, seq, hidden]");
        let split = |x: Tensor| x.view([b, t, self.heads, h / self.heads]).transpose(1, 2);
        let q = split(self.query.forward(xs));
        let k = split(self.key.forward(xs));
        let v = split(self.value.forward(xs));
        let p = if train { self.attn_dropout } else { 0.0 };
        // The fused kernel computes softmax(q·kᵀ/√d + mask)·v exactly as BERT's eager attention
        // does, without materialising the [B, H, T, T] probabilities twice.
        let ctx =
            Tensor::scaled_dot_product_attention(&q, &k, &v, Some(mask), p, false, None, false);
        let ctx = ctx.transpose(1, 2).contiguous().view([b, t, h]);
        let attn = self
            .attn_norm
            .forward(&(self.attn_out.forward(&ctx).dropout(self.dropout, train) + xs));
        let inner = self.act.apply(&self.intermediate.forward(&attn));
        self.out_norm
            .forward(&(self.output.forward(&inner).dropout(self.dropout, train) + attn))
    }
}

/// The outputs of [`BertModel::forward`].
pub struct BertOutput {
    /// [B, T, hidden]
    pub last_hidden_state: Tensor,
    /// [B, hidden]: tanh(dense(first token)), when the model has a pooler.
    pub pooler_output: Option<Tensor>,
}

/// transformers' `BertModel`. Its variables live under the path it is built on
/// (`bert.` inside the task models), named exactly as in transformers.
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: Option<nn::Linear>,
}

impl BertModel {
    /// Layer-group indices: 0 embeddings, 1..=N encoder layers, N+1 pooler.
    pub fn new(p: &nn::Path, config: &BertConfig, add_pooler: bool) -> BertModel {
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::new(p / "encoder" / "layer" / i, config))
            .collect();
        let pooler = add_pooler.then(|| {
            hf_linear(
                p / "pooler" / "dense",
                config.hidden_size,
                config.hidden_size,
                config.initializer_range,
            )
        });
        BertModel {
            embeddings: Embeddings::new(p / "embeddings", config),
            layers,
            pooler,
        }
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// `input_ids` [B, T] i64; `attention_mask` [B, T] (1 = token, 0 = padding; all ones when
    /// absent); `token_type_ids` [B, T] (zeros when absent). Dropout runs per group as `modes` says.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        token_type_ids: Option<&Tensor>,
        modes: &GroupModes,
    ) -> BertOutput {
        let zeros;
        let token_type_ids = match token_type_ids {
            Some(t) => t,
            None => {
                zeros = input_ids.zeros_like();
                &zeros
            }
        };
        let mut xs = self
            .embeddings
            .forward(input_ids, token_type_ids, modes.is_train(0));
        let kind = xs.kind();
        let (b, t) = input_ids.size2().expect("input_ids are [batch, seq]");
        let mask = match attention_mask {
            Some(m) => m.to_kind(kind),
            None => Tensor::ones([b, t], (kind, xs.device())),
        };
        let min = match kind {
            Kind::Half => f64::from(half::f16::MIN),
            Kind::BFloat16 => f64::from(half::bf16::MIN),
            Kind::Double => f64::MIN,
            _ => f64::from(f32::MIN),
        };
        let additive: Tensor = (mask.ones_like() - &mask) * min;
        let additive = additive.view([b, 1, 1, t]);
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs, &additive, modes.is_train(i + 1));
        }
        let pooler_output = self
            .pooler
            .as_ref()
            .map(|dense| dense.forward(&xs.select(1, 0)).tanh());
        BertOutput {
            last_hidden_state: xs,
            pooler_output,
        }
    }
}
