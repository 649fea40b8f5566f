"""A tiny cats-vs-dogs stand-in for the image tests: OUT/images/{cat,dog}/*.jpg (16 photos each,
varied sizes; cats reddish, dogs bluish, with noise), one corrupt file (OUT/images/cat/broken.jpg),
and OUT/resnet50/model.safetensors: torchvision's resnet50 with seeded random weights (its
state_dict as written by torchvision, so loading it tests the torchvision names).
Usage: image_fixture.py OUT [--no-weights]"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

out = sys.argv[1]
rng = np.random.default_rng(0)
for cls, base in [("cat", (200, 60, 50)), ("dog", (50, 70, 200))]:
    d = os.path.join(out, "images", cls)
    os.makedirs(d, exist_ok=True)
    for i in range(16):
        w, h = int(rng.integers(60, 120)), int(rng.integers(60, 120))
        px = np.clip(np.array(base) + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(px).save(os.path.join(d, f"{cls}.{i}.jpg"), quality=90)
with open(os.path.join(out, "images", "cat", "broken.jpg"), "wb") as f:
    f.write(b"\xff\xd8\xff\xe0 this is not really a jpeg")
if "--no-weights" in sys.argv:
    sys.exit(0)
os.makedirs(os.path.join(out, "resnet50"), exist_ok=True)
torch.manual_seed(0)
m = torchvision.models.resnet50()
save_file({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(out, "resnet50", "model.safetensors"))
print("ok")
