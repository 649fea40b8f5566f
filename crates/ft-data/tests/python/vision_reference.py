"""torchvision references for ft-data's image pipeline tests (crates/ft-data/tests/vision_*.rs).

    python vision_reference.py transforms OUT.safetensors
        Builds small fixed images (seeded numpy), runs torchvision's v1 functional transforms on
        them as PIL images, and saves inputs and outputs: uint8 [H, W(, C)] for byte outputs,
        float32 [C, H, W] for tensors.
    python vision_reference.py folder ROOT
        Prints torchvision ImageFolder(ROOT)'s classes and samples as JSON (one line).

Run with the project venv (torch/torchvision/pillow of the pinned versions).
"""

import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from torchvision import datasets, transforms
from torchvision.transforms import functional as F

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def images():
    rng = np.random.RandomState(0)
    # Smooth gradients plus noise: resizing smooth data is where rounding differences show.
    yy, xx = np.mgrid[0:23, 0:37]
    base = np.stack([xx * 7, yy * 11, (xx + yy) * 5], axis=-1)
    rgb = np.clip(base + rng.randint(0, 60, size=base.shape), 0, 255).astype(np.uint8)
    grey = rng.randint(0, 256, size=(29, 19)).astype(np.uint8)
    return rgb, grey


def transforms_reference(out):
    rgb, grey = images()
    img = Image.fromarray(rgb, "RGB")
    g = Image.fromarray(grey, "L")
    t = {"input_rgb": rgb, "input_grey": grey}

    def put(name, pil):
        t[name] = np.ascontiguousarray(np.array(pil, dtype=np.uint8))

    put("resize_down", F.resize(img, 10))
    put("resize_up", F.resize(img, 50))
    put("resize_hw", F.resize(img, [17, 41]))
    put("resize_grey", F.resize(g, 12))
    put("center_crop", F.center_crop(img, [15, 20]))
    put("center_crop_odd", F.center_crop(img, [16, 21]))
    put("center_crop_pad", F.center_crop(img, [30, 40]))
    put("resized_crop", F.resized_crop(img, 3, 5, 14, 20, [24, 24]))
    put("resized_crop_whole", F.resized_crop(img, 0, 0, 23, 37, [11, 13]))
    put("hflip", F.hflip(img))
    for name, fn, factors in [
        ("brightness", F.adjust_brightness, [0.6, 1.4]),
        ("contrast", F.adjust_contrast, [0.5, 1.7]),
        ("saturation", F.adjust_saturation, [0.3, 1.8]),
        ("hue", F.adjust_hue, [-0.2, 0.13, 0.5]),
    ]:
        for f in factors:
            put(f"{name}_{f}", fn(img, f))
    put("grayscale", F.to_grayscale(img, 1))
    t["grey_to_rgb"] = transforms.Compose(
        [transforms.Grayscale(num_output_channels=3), transforms.ToTensor()]
    )(g).numpy()
    t["to_tensor_normalize"] = F.normalize(F.to_tensor(img), MEAN, STD).numpy()
    t["eval_preset"] = transforms.Compose(
        [transforms.Resize(16), transforms.CenterCrop(12), transforms.ToTensor(),
         transforms.Normalize(MEAN, STD)]
    )(img).numpy()
    tmp = out + ".tmp"
    save_file({k: np.ascontiguousarray(v) for k, v in t.items()}, tmp)
    os.replace(tmp, out)


def folder_reference(root):
    ds = datasets.ImageFolder(root, loader=lambda p: p)
    print(json.dumps({"classes": ds.classes,
                      "samples": [[os.path.relpath(p, root), c] for p, c in ds.samples]}))


if __name__ == "__main__":
    torch.manual_seed(0)
    if sys.argv[1] == "transforms":
        transforms_reference(sys.argv[2])
    elif sys.argv[1] == "folder":
        folder_reference(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]!r} (transforms | folder)")
