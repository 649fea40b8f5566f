"""Loads a ResNet directory saved by ft into torchvision with a strict load_state_dict.

Usage: resnet_roundtrip.py MODEL_DIR INPUTS.safetensors OUT.safetensors
Reads depth and num_classes from MODEL_DIR/config.json, builds
`torchvision.models.resnet{depth}(num_classes=...)`, loads `model.safetensors` strictly (any
missing, unexpected or mis-shaped key fails), and writes the eval-mode logits for `x`.
"""
import json, os, sys

import torch
import torchvision
from safetensors.torch import load_file, save_file

model_dir, inputs, out = sys.argv[1:4]
config = json.load(open(os.path.join(model_dir, "config.json")))
model = getattr(torchvision.models, f"resnet{config['depth']}")(num_classes=config["num_classes"])
state = load_file(os.path.join(model_dir, "model.safetensors"))
model.load_state_dict(state, strict=True)
for k, v in model.state_dict().items():
    if v.dtype != state[k].dtype:
        sys.exit(f"{k}: saved as {state[k].dtype}, torchvision has {v.dtype}")
model.eval()
with torch.no_grad():
    logits = model(load_file(inputs)["x"])
save_file({"logits": logits.contiguous()}, out)
print(type(model).__name__, config["num_classes"], config.get("id2label"))
