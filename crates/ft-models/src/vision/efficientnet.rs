//! EfficientNet-Lite0 in the lukemelas EfficientNet-PyTorch layout (`_conv_stem`, `_bn0`,
//! `_blocks.N…`, `_conv_head`, `_bn1`, `_fc`): MBConv blocks with ReLU6 and no
//! squeeze-excitation, TensorFlow SAME padding, BatchNorm eps 1e-3.
use super::layers::{linear, BatchNorm, Conv, Padding};
use super::EfficientNetConfig;
use crate::{GroupModes, LayerGroup, ModelError};
use tch::nn::{self, Init, Module};
use tch::Tensor;

/// The variable-name prefix of the classification head.
pub const EFFICIENTNET_HEAD_PREFIX: &str = "_fc.";

const STEM_CHANNELS: i64 = 32;
const HEAD_CHANNELS: i64 = 1280;

/// One stage of MBConv blocks: (expand ratio, kernel, stride of its first block, output
/// channels, repeats). Lite0's table (width and depth multipliers 1.0).
const STAGES: [(i64, i64, i64, i64, usize); 7] = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
];

/// PyTorch's default conv init (uniform ±1/√fan-in); lukemelas adds nothing of its own.
fn conv(p: nn::Path, (inp, out, k): (i64, i64, i64), stride: i64, groups: i64) -> Conv {
    let bound = 1.0 / ((inp / groups * k * k) as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    Conv::new(p, (inp, out, k), stride, groups, Padding::TfSame, init)
}

/// An inverted residual: optional 1x1 expansion, depthwise kxk, 1x1 projection; the input is
/// added back when the shape is unchanged.
struct MbConv {
    expand: Option<(Conv, BatchNorm)>,
    depthwise: (Conv, BatchNorm),
    project: (Conv, BatchNorm),
    residual: bool,
    drop_connect: f64,
}

impl MbConv {
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = match &self.expand {
            Some((c, b)) => b.forward(&c.forward(xs), train).relu6_(),
            None => xs.shallow_clone(),
        };
        let (c, b) = &self.depthwise;
        h = b.forward(&c.forward(&h), train).relu6_();
        let (c, b) = &self.project;
        h = b.forward(&c.forward(&h), train);
        if !self.residual {
            return h;
        }
        if train && self.drop_connect > 0.0 {
            // lukemelas' drop_connect: drop the whole branch per example, rescale the survivors.
            let keep = 1.0 - self.drop_connect;
            let n = h.size()[0];
            let mask = (Tensor::rand([n, 1, 1, 1], (h.kind(), h.device())) + keep).floor();
            h = h / keep * mask;
        }
        h += xs;
        h
    }
}

/// EfficientNet-Lite0 with a `num_classes`-way `_fc`.
pub struct EfficientNetLite {
    pub config: EfficientNetConfig,
    stem: (Conv, BatchNorm),
    /// Blocks with the index of their stage.
    blocks: Vec<(usize, MbConv)>,
    head: (Conv, BatchNorm),
    fc: nn::Linear,
    groups: Vec<LayerGroup>,
}

impl EfficientNetLite {
    pub fn new(p: &nn::Path, config: &EfficientNetConfig) -> Result<EfficientNetLite, ModelError> {
        config.validate().map_err(ModelError::Invalid)?;
        let (eps, momentum) = (config.batch_norm_epsilon, config.batch_norm_momentum);
        let bn = |p: nn::Path, c: i64| BatchNorm::new(p, c, eps, momentum);
        let stem = (
            conv(p / "_conv_stem", (3, STEM_CHANNELS, 3), 2, 1),
            bn(p / "_bn0", STEM_CHANNELS),
        );
        let total: usize = STAGES.iter().map(|s| s.4).sum();
        let mut blocks = Vec::with_capacity(total);
        let mut groups = vec![LayerGroup::new("stem", &["_conv_stem.", "_bn0."])];
        let mut inp = STEM_CHANNELS;
        for (stage, &(expand, k, stride, out, repeats)) in STAGES.iter().enumerate() {
            let mut prefixes = Vec::new();
            for r in 0..repeats {
                let index = blocks.len();
                let bp = p / "_blocks" / index;
                prefixes.push(format!("_blocks.{index}."));
                let mid = inp * expand;
                let stride = if r == 0 { stride } else { 1 };
                let block = MbConv {
                    expand: (expand != 1).then(|| {
                        (
                            conv(&bp / "_expand_conv", (inp, mid, 1), 1, 1),
                            bn(&bp / "_bn0", mid),
                        )
                    }),
                    depthwise: (
                        conv(&bp / "_depthwise_conv", (mid, mid, k), stride, mid),
                        bn(&bp / "_bn1", mid),
                    ),
                    project: (
                        conv(&bp / "_project_conv", (mid, out, 1), 1, 1),
                        bn(&bp / "_bn2", out),
                    ),
                    residual: stride == 1 && inp == out,
                    drop_connect: config.drop_connect_rate * index as f64 / total as f64,
                };
                blocks.push((stage, block));
                inp = out;
            }
            let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
            groups.push(LayerGroup::new(format!("stage{}", stage + 1), &prefixes));
        }
        let head = (
            conv(p / "_conv_head", (inp, HEAD_CHANNELS, 1), 1, 1),
            bn(p / "_bn1", HEAD_CHANNELS),
        );
        groups.push(LayerGroup::new("head_conv", &["_conv_head.", "_bn1."]));
        groups.push(LayerGroup::new("head", &[EFFICIENTNET_HEAD_PREFIX]));
        let fc = linear(p / "_fc", HEAD_CHANNELS, config.num_classes);
        Ok(EfficientNetLite {
            config: config.clone(),
            stem,
            blocks,
            head,
            fc,
            groups,
        })
    }

    /// Bottom to top: `stem`, `stage1`…`stage7`, `head_conv` (`_conv_head`, `_bn1`), `head`
    /// (`_fc`).
    pub fn layer_groups(&self) -> &[LayerGroup] {
        &self.groups
    }

    pub fn num_features(&self) -> i64 {
        HEAD_CHANNELS
    }

    /// Pooled features `[N, 1280]` of images `[N, 3, H, W]` scaled as `(x·255 − 127) / 128`.
    pub fn features(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        let (c, b) = &self.stem;
        let mut h = b.forward(&c.forward(xs), modes.is_train(0)).relu6_();
        for (stage, block) in &self.blocks {
            h = block.forward(&h, modes.is_train(stage + 1));
        }
        let head_group = STAGES.len() + 1;
        let (c, b) = &self.head;
        h = b
            .forward(&c.forward(&h), modes.is_train(head_group))
            .relu6_();
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }

    /// Logits from pooled features, with dropout (`dropout_rate`) when the head trains.
    pub fn classify(&self, features: &Tensor, modes: &GroupModes) -> Tensor {
        let train = modes.is_train(self.groups.len() - 1);
        self.fc
            .forward(&features.dropout(self.config.dropout_rate, train))
    }

    pub fn forward(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        self.classify(&self.features(xs, modes), modes)
    }
}
