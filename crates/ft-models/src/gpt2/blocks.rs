//! The pieces of a GPT-2 block, with transformers' names: `ln_1`, `attn.c_attn`, `attn.c_proj`,
//! `ln_2`, `mlp.c_fc`, `mlp.c_proj`.
use super::cache::LayerCache;
use super::Gpt2Config;
use tch::nn::{self, Module};
use tch::Tensor;

/// transformers' `Conv1D`: a linear layer whose weight is stored `[in, out]` (the transpose of
/// `nn.Linear`), which is how every GPT-2 checkpoint lays it out.
pub(crate) struct Conv1D {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1D {
    pub(crate) fn new(p: nn::Path, inp: i64, out: i64, stdev: f64) -> Conv1D {
        Conv1D {
            weight: p.var("weight", &[inp, out], nn::Init::Randn { mean: 0.0, stdev }),
            bias: p.var("bias", &[out], nn::Init::Const(0.0)),
        }
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Tensor {
        xs.matmul(&self.weight) + &self.bias
    }
}

pub(crate) fn layer_norm(p: nn::Path, size: i64, eps: f64) -> nn::LayerNorm {
    let config = nn::LayerNormConfig {
        eps,
        ..Default::default()
    };
    nn::layer_norm(p, vec![size], config)
}

/// How a forward pass masks attention.
pub(crate) enum AttnMask {
    /// Plain causal attention over the current tokens (no cache, no padding): the fused kernel's
    /// own causal mask, the fast path for training.
    Causal,
    /// One new token per row attending to everything cached before it: nothing to mask.
    None,
    /// An additive `[B, 1, T, past + T]` mask (0 where attended, a large negative elsewhere)
    /// combining causality with the padding of `attention_mask`.
    Additive(Tensor),
}

struct Attention {
    c_attn: Conv1D,
    c_proj: Conv1D,
    heads: i64,
    attn_pdrop: f64,
    resid_pdrop: f64,
}

impl Attention {
    fn forward(
        &self,
        xs: &Tensor,
        mask: &AttnMask,
        cache: Option<&mut LayerCache>,
        train: bool,
    ) -> Tensor {
        let (b, t, h) = xs.size3().expect("hidden states are [batch, seq, hidden]");
        let qkv = self.c_attn.forward(xs).split(h, 2);
        let split = |x: &Tensor| x.view([b, t, self.heads, h / self.heads]).transpose(1, 2);
        let q = split(&qkv[0]);
        let (mut k, mut v) = (split(&qkv[1]), split(&qkv[2]));
        if let Some(cache) = cache {
            (k, v) = cache.append(k, v);
        }
        let p = if train { self.attn_pdrop } else { 0.0 };
        // The fused kernel computes softmax(q·kᵀ/√d + mask)·v as GPT-2's eager attention does
        // (scale_attn_weights), without materialising the probabilities twice.
        let ctx = match mask {
            AttnMask::Causal => Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                None::<Tensor>,
                p,
                true,
                None,
                false,
            ),
            AttnMask::None => Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                None::<Tensor>,
                p,
                false,
                None,
                false,
            ),
            AttnMask::Additive(m) => {
                Tensor::scaled_dot_product_attention(&q, &k, &v, Some(m), p, false, None, false)
            }
        };
        let ctx = ctx.transpose(1, 2).contiguous().view([b, t, h]);
        self.c_proj.forward(&ctx).dropout(self.resid_pdrop, train)
    }
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluTanh,
    GeluErf,
    Relu,
}

/// One transformer block: pre-norm attention and MLP, each added to the residual stream.
pub(crate) struct Block {
    ln_1: nn::LayerNorm,
    attn: Attention,
    ln_2: nn::LayerNorm,
    c_fc: Conv1D,
    mlp_proj: Conv1D,
    act: Activation,
    resid_pdrop: f64,
}

impl Block {
    pub(crate) fn new(p: nn::Path, c: &Gpt2Config) -> Block {
        let h = c.n_embd;
        let std = c.initializer_range;
        // GPT-2 scales the init of the projections into the residual stream by 1/√(2·n_layer)
        // so the stream's variance does not grow with depth (transformers does the same).
        let proj_std = std / (2.0 * c.n_layer as f64).sqrt();
        let attn = &p / "attn";
        let mlp = &p / "mlp";
        Block {
            ln_1: layer_norm(&p / "ln_1", h, c.layer_norm_epsilon),
            attn: Attention {
                c_attn: Conv1D::new(&attn / "c_attn", h, 3 * h, std),
                c_proj: Conv1D::new(&attn / "c_proj", h, h, proj_std),
                heads: c.n_head,
                attn_pdrop: c.attn_pdrop,
                resid_pdrop: c.resid_pdrop,
            },
            ln_2: layer_norm(&p / "ln_2", h, c.layer_norm_epsilon),
            c_fc: Conv1D::new(&mlp / "c_fc", h, c.inner_dim(), std),
            mlp_proj: Conv1D::new(&mlp / "c_proj", c.inner_dim(), h, proj_std),
            act: match c.activation_function.as_str() {
                "gelu" => Activation::GeluErf,
                "relu" => Activation::Relu,
                _ => Activation::GeluTanh,
            },
            resid_pdrop: c.resid_pdrop,
        }
    }

    pub(crate) fn forward(
        &self,
        xs: &Tensor,
        mask: &AttnMask,
        cache: Option<&mut LayerCache>,
        train: bool,
    ) -> Tensor {
        let xs = xs
            + self
                .attn
                .forward(&self.ln_1.forward(xs), mask, cache, train);
        let inner = self.c_fc.forward(&self.ln_2.forward(&xs));
        let inner = match self.act {
            Activation::GeluTanh => inner.gelu("tanh"),
            Activation::GeluErf => inner.gelu("none"),
            Activation::Relu => inner.relu(),
        };
        let out = self
            .mlp_proj
            .forward(&inner)
            .dropout(self.resid_pdrop, train);
        xs + out
    }
}
