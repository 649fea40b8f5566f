"""Reference outputs of torchvision's ResNet on seeded random weights.

Usage: resnet_reference.py OUT.safetensors DEPTH NUM_CLASSES
Writes the model's state_dict beside OUT as `weights.safetensors` (torchvision's own keys and
dtypes, so the Rust side loads it like any torchvision checkpoint), and into OUT a fixed input batch and labels, the eval-mode logits, and one train-mode forward +
backward: logits, loss, every BatchNorm buffer afterwards (prefixed `after.`) and the gradients of
a few parameters (prefixed `grad.`). BatchNorm weights and statistics are randomised too, so they
matter to the outputs.
"""
import os, sys

import torch
import torchvision
from safetensors.torch import save_file

out, depth, num_classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
model = getattr(torchvision.models, f"resnet{depth}")(num_classes=num_classes)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.1)
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
state = {k: v.clone() for k, v in model.state_dict().items()}
x = torch.randn(2, 3, 64, 64)
labels = torch.tensor([1, num_classes - 1])

model.eval()
with torch.no_grad():
    eval_logits = model(x)

model.train()
logits = model(x)
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()

save_file(state, os.path.join(os.path.dirname(out), "weights.safetensors"))
tensors = {}
tensors.update({"x": x, "labels": labels, "eval_logits": eval_logits,
                "train_logits": logits.detach(), "loss": loss.detach().reshape(1)})
for k, v in model.state_dict().items():
    if "running_" in k or "num_batches_tracked" in k:
        tensors["after." + k] = v
for name in ["fc.weight", "fc.bias", "layer4.0.conv1.weight", "layer1.0.bn1.weight", "conv1.weight"]:
    tensors["grad." + name] = model.get_parameter(name).grad
save_file({k: v.contiguous() for k, v in tensors.items()}, out)
