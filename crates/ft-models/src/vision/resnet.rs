//! torchvision's ResNet (v1.5: the stride sits on the 3x3 conv of a bottleneck) with
//! torchvision's parameter names, so torchvision and timm `resnet*` checkpoints load as they are.
use super::layers::{linear, BatchNorm, Conv, Padding};
use super::ResNetConfig;
use crate::{GroupModes, LayerGroup, ModelError};
use tch::nn::{self, Init, Module};
use tch::Tensor;

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

/// The variable-name prefix of the classification head.
pub const RESNET_HEAD_PREFIX: &str = "fc.";

/// torchvision initialises every conv with Kaiming-normal over fan-out, which keeps a model
/// trained from scratch stable without warm-up tricks.
fn conv(p: nn::Path, inp: i64, out: i64, k: i64, stride: i64) -> Conv {
    let init = Init::Kaiming {
        dist: nn::init::NormalOrUniform::Normal,
        fan: nn::init::FanInOut::FanOut,
        non_linearity: nn::init::NonLinearity::ReLU,
    };
    Conv::new(p, (inp, out, k), stride, 1, Padding::Symmetric, init)
}

fn bn(p: nn::Path, channels: i64) -> BatchNorm {
    BatchNorm::new(p, channels, BN_EPS, BN_MOMENTUM)
}

/// One residual block: `BasicBlock` (two 3x3 convs) or `Bottleneck` (1x1, 3x3, 1x1 with 4x
/// expansion), with `downsample.0` (1x1 conv) / `downsample.1` (BN) when the shape changes.
struct Block {
    convs: Vec<(Conv, BatchNorm)>,
    downsample: Option<(Conv, BatchNorm)>,
}

impl Block {
    fn new(p: nn::Path, inp: i64, planes: i64, stride: i64, bottleneck: bool) -> Block {
        let (convs, out) = if bottleneck {
            let out = planes * 4;
            let convs = vec![
                (
                    conv(&p / "conv1", inp, planes, 1, 1),
                    bn(&p / "bn1", planes),
                ),
                (
                    conv(&p / "conv2", planes, planes, 3, stride),
                    bn(&p / "bn2", planes),
                ),
                (conv(&p / "conv3", planes, out, 1, 1), bn(&p / "bn3", out)),
            ];
            (convs, out)
        } else {
            let convs = vec![
                (
                    conv(&p / "conv1", inp, planes, 3, stride),
                    bn(&p / "bn1", planes),
                ),
                (
                    conv(&p / "conv2", planes, planes, 3, 1),
                    bn(&p / "bn2", planes),
                ),
            ];
            (convs, planes)
        };
        let downsample = (stride != 1 || inp != out).then(|| {
            let d = &p / "downsample";
            (conv(&d / "0", inp, out, 1, stride), bn(&d / "1", out))
        });
        Block { convs, downsample }
    }

    fn out_channels(&self) -> i64 {
        let (last, _) = self.convs.last().expect("a block has convs");
        last.out_channels()
    }

    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let last = self.convs.len() - 1;
        let mut h = xs.shallow_clone();
        for (i, (c, b)) in self.convs.iter().enumerate() {
            h = b.forward(&c.forward(&h), train);
            if i < last {
                h = h.relu_();
            }
        }
        match &self.downsample {
            Some((c, b)) => h += b.forward(&c.forward(xs), train),
            None => h += xs,
        }
        h.relu_()
    }
}

/// torchvision's `ResNet` for depth 18/34/50/101/152: `conv1`, `bn1`, `layer1`…`layer4`, `fc`.
pub struct ResNet {
    pub config: ResNetConfig,
    conv1: Conv,
    bn1: BatchNorm,
    layers: Vec<Vec<Block>>,
    fc: nn::Linear,
    groups: Vec<LayerGroup>,
    num_features: i64,
}

impl ResNet {
    /// Builds the model under `p` with torchvision's initialisation (Kaiming-normal fan-out
    /// convs, BN weight 1 / bias 0, PyTorch's default Linear for `fc`).
    pub fn new(p: &nn::Path, config: &ResNetConfig) -> Result<ResNet, ModelError> {
        config.validate().map_err(ModelError::Invalid)?;
        let (counts, bottleneck) = config.layout().map_err(ModelError::Invalid)?;
        let conv1 = conv(p / "conv1", 3, 64, 7, 2);
        let bn1 = bn(p / "bn1", 64);
        let mut inp = 64;
        let mut layers = Vec::new();
        for (stage, &count) in counts.iter().enumerate() {
            let planes = 64 << stage;
            let stride = if stage == 0 { 1 } else { 2 };
            let lp = p / format!("layer{}", stage + 1);
            let mut blocks = Vec::with_capacity(count);
            for b in 0..count {
                let block = Block::new(
                    &lp / b,
                    inp,
                    planes,
                    if b == 0 { stride } else { 1 },
                    bottleneck,
                );
                inp = block.out_channels();
                blocks.push(block);
            }
            layers.push(blocks);
        }
        let fc = linear(p / "fc", inp, config.num_classes);
        let mut groups = vec![LayerGroup::new("stem", &["conv1.", "bn1."])];
        for i in 1..=4 {
            let prefix = format!("layer{i}.");
            groups.push(LayerGroup::new(format!("layer{i}"), &[prefix.as_str()]));
        }
        groups.push(LayerGroup::new("head", &[RESNET_HEAD_PREFIX]));
        Ok(ResNet {
            config: config.clone(),
            conv1,
            bn1,
            layers,
            fc,
            groups,
            num_features: inp,
        })
    }

    /// Bottom to top: `stem` (conv1, bn1), `layer1`…`layer4`, `head` (fc).
    pub fn layer_groups(&self) -> &[LayerGroup] {
        &self.groups
    }

    /// Width of the pooled features (512 for 18/34, 2048 for 50 and deeper).
    pub fn num_features(&self) -> i64 {
        self.num_features
    }

    /// Pooled backbone features `[N, C]` of images `[N, 3, H, W]`. Each BatchNorm runs in its
    /// group's mode: a frozen group normalises with, and keeps, its running statistics.
    pub fn features(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        let mut h = self
            .bn1
            .forward(&self.conv1.forward(xs), modes.is_train(0))
            .relu_()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for (i, blocks) in self.layers.iter().enumerate() {
            let train = modes.is_train(i + 1);
            for block in blocks {
                h = block.forward(&h, train);
            }
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }

    /// Logits `[N, num_classes]` from pooled features (ResNet has no dropout).
    pub fn classify(&self, features: &Tensor, _modes: &GroupModes) -> Tensor {
        self.fc.forward(features)
    }

    pub fn forward(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        self.classify(&self.features(xs, modes), modes)
    }
}
