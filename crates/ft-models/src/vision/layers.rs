//! The building blocks both CNNs share: a bias-free convolution and a BatchNorm that keeps
//! PyTorch's `num_batches_tracked` buffer, so saved files are exactly PyTorch `state_dict`s.
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Padding {
    /// `k / 2` zeros on every side, as torchvision's ResNet does.
    Symmetric,
    /// TensorFlow's SAME: the output is `ceil(input / stride)` and the odd pixel of padding goes
    /// to the bottom/right. Pretrained TF weights (EfficientNet-Lite) give wrong classes without it.
    TfSame,
}

/// A 2-d convolution without bias (both CNNs follow every conv with BatchNorm).
pub(crate) struct Conv {
    weight: Tensor,
    stride: i64,
    groups: i64,
    padding: Padding,
}

impl Conv {
    /// `weight` is `[out, in / groups, k, k]`, created under `p` as `weight` with `init`.
    pub(crate) fn new(
        p: nn::Path,
        (inp, out, k): (i64, i64, i64),
        stride: i64,
        groups: i64,
        padding: Padding,
        init: Init,
    ) -> Conv {
        let weight = p.var("weight", &[out, inp / groups, k, k], init);
        Conv {
            weight,
            stride,
            groups,
            padding,
        }
    }

    pub(crate) fn out_channels(&self) -> i64 {
        self.weight.size()[0]
    }

    fn kernel(&self) -> i64 {
        self.weight.size()[3]
    }

    pub(crate) fn forward(&self, xs: &Tensor) -> Tensor {
        let k = self.kernel();
        let conv = |xs: &Tensor, pad: i64| {
            xs.conv2d(
                &self.weight,
                None::<Tensor>,
                [self.stride, self.stride],
                [pad, pad],
                [1, 1],
                self.groups,
            )
        };
        match self.padding {
            Padding::Symmetric => conv(xs, k / 2),
            Padding::TfSame => {
                let size = xs.size();
                let (h, w) = (size[2], size[3]);
                let (ph, pw) = (same_pad(h, k, self.stride), same_pad(w, k, self.stride));
                if ph % 2 == 0 && pw % 2 == 0 && ph == pw {
                    // Symmetric after all: let the convolution pad, which saves a copy.
                    conv(xs, ph / 2)
                } else {
                    let padded = xs.constant_pad_nd([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2]);
                    conv(&padded, 0)
                }
            }
        }
    }
}

/// Total padding TensorFlow's SAME adds along one axis of length `n`.
fn same_pad(n: i64, k: i64, stride: i64) -> i64 {
    let out = (n + stride - 1) / stride;
    ((out - 1) * stride + k - n).max(0)
}

/// PyTorch's `BatchNorm2d` with its five state-dict entries (`weight`, `bias`, `running_mean`,
/// `running_var`, `num_batches_tracked`). Whether it normalises with batch statistics (and
/// updates the running ones) is decided per call, from its layer group's mode.
pub(crate) struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    num_batches_tracked: Tensor,
    eps: f64,
    momentum: f64,
}

impl BatchNorm {
    /// Weight 1 and bias 0, as PyTorch initialises it; `momentum` in PyTorch's sense (the
    /// weight of the new batch in the running average).
    pub(crate) fn new(p: nn::Path, channels: i64, eps: f64, momentum: f64) -> BatchNorm {
        let num_batches_tracked = p.add(
            "num_batches_tracked",
            Tensor::zeros([], (Kind::Int64, p.device())),
            false,
        );
        BatchNorm {
            weight: p.var("weight", &[channels], Init::Const(1.0)),
            bias: p.var("bias", &[channels], Init::Const(0.0)),
            running_mean: p.zeros_no_train("running_mean", &[channels]),
            running_var: p.ones_no_train("running_var", &[channels]),
            num_batches_tracked,
            eps,
            momentum,
        }
    }

    /// In train mode: batch statistics, running statistics updated, `num_batches_tracked` + 1
    /// (as PyTorch counts it). In eval mode the running statistics are used and left untouched.
    pub(crate) fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        if train {
            let mut count = self.num_batches_tracked.shallow_clone();
            tch::no_grad(|| {
                let _ = count.g_add_scalar_(1);
            });
        }
        Tensor::batch_norm(
            xs,
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            self.momentum,
            self.eps,
            true,
        )
    }
}

/// PyTorch's default `nn.Linear` (uniform ±1/√in for weight and bias) under `p`.
pub(crate) fn linear(p: nn::Path, inp: i64, out: i64) -> nn::Linear {
    let bound = 1.0 / (inp as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    nn::linear(
        p,
        inp,
        out,
        nn::LinearConfig {
            ws_init: uniform,
            bs_init: Some(uniform),
            bias: true,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::same_pad;

    #[test]
    fn same_padding_matches_tensorflow() {
        // 224 input, 3x3 stride 2: TF pads 0 top, 1 bottom.
        assert_eq!(same_pad(224, 3, 2), 1);
        assert_eq!(same_pad(224, 5, 2), 3);
        assert_eq!(same_pad(112, 3, 1), 2);
        assert_eq!(same_pad(7, 5, 1), 4);
        assert_eq!(same_pad(225, 3, 2), 2);
    }
}
