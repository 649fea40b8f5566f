"""EfficientNet-Lite0 on scikit-learn's two sample photos, with the published preprocessing.

Usage: efficientnet_reference.py OUT.safetensors MODEL.safetensors
Writes `pixels` [2, 3, 224, 224] (flower.jpg, china.jpg: shorter side resized to 256 with PIL
bilinear, center crop 224, (x - 127) / 128) and `logits` [2, 1000] from a plain functional PyTorch
implementation of the lukemelas EfficientNet-Lite0 forward pass (ReLU6, no squeeze-excitation,
TF SAME padding, BN eps 1e-3, eval mode) on the converted ImageNet weights: an independent check
of the Rust model, not only of its argmax. Also `train_logits` and every BatchNorm's running
statistics after one train-mode forward (`after.<name>`; dropout and drop-connect off).
"""
import hashlib, math, os, sys

import numpy as np
import sklearn.datasets
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file

# scikit-learn 1.9.1's copies; another version's photos would still work but are not these.
IMAGES = {
    "flower.jpg": "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
    "china.jpg": "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
}
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]

out, weights = sys.argv[1:3]
folder = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")


def preprocess(path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = 256 / min(w, h)
    img = img.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    w, h = img.size
    left, top = (w - 224) // 2, (h - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1)
    return (x - 127.0) / 128.0


pixels = []
for name, digest in IMAGES.items():
    path = os.path.join(folder, name)
    got = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if got != digest:
        sys.exit(f"{path}: sha256 {got}, expected {digest}")
    pixels.append(preprocess(path))
pixels = torch.stack(pixels)

w = load_file(weights)


def same_conv(x, weight, stride, groups=1):
    k = weight.shape[-1]
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + k - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + k - iw, 0)
    x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return F.conv2d(x, weight, None, stride, 0, 1, groups)


def forward(pixels, stats, train):
    """Lite0's logits; in train mode BatchNorm uses batch statistics and updates `stats`
    (momentum 0.01 in PyTorch's sense), dropout and drop-connect off."""

    def bn(x, prefix):
        return F.batch_norm(x, stats[prefix + ".running_mean"], stats[prefix + ".running_var"],
                            w[prefix + ".weight"], w[prefix + ".bias"], train, 0.01, 1e-3)

    x = F.relu6(bn(same_conv(pixels, w["_conv_stem.weight"], 2), "_bn0"))
    i = 0
    for expand, k, stride, out_c, repeats in STAGES:
        for r in range(repeats):
            p = f"_blocks.{i}."
            s = stride if r == 0 else 1
            h = x
            if expand != 1:
                h = F.relu6(bn(same_conv(h, w[p + "_expand_conv.weight"], 1), p + "_bn0"))
            h = F.relu6(bn(same_conv(h, w[p + "_depthwise_conv.weight"], s, groups=h.shape[1]),
                           p + "_bn1"))
            h = bn(same_conv(h, w[p + "_project_conv.weight"], 1), p + "_bn2")
            x = h + x if s == 1 and x.shape[1] == out_c else h
            i += 1
    x = F.relu6(bn(same_conv(x, w["_conv_head.weight"], 1), "_bn1"))
    return F.linear(x.mean((2, 3)), w["_fc.weight"], w["_fc.bias"])


with torch.no_grad():
    logits = forward(pixels, w, False)
    stats = {k: v.clone() for k, v in w.items() if "running_" in k}
    train_logits = forward(pixels, stats, True)

print("top-5:", logits.topk(5).indices.tolist())
tensors = {"pixels": pixels, "logits": logits, "train_logits": train_logits}
tensors.update({"after." + k: v for k, v in stats.items()})
save_file({k: v.contiguous() for k, v in tensors.items()}, out)
