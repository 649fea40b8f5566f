"""torchvision's state_dict layout (names, shapes, dtypes) of several ResNets, without weights.

Usage: resnet_layout.py OUT.json NUM_CLASSES DEPTH...
Writes {"resnet<depth>": {name: [shape, dtype]}} for each depth; the models are built on the meta
device, so nothing is allocated or initialised.
"""
import json, sys

import torch
import torchvision

out, num_classes, depths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
layouts = {}
with torch.device("meta"):
    for depth in depths:
        model = getattr(torchvision.models, f"resnet{depth}")(num_classes=num_classes)
        layouts[f"resnet{depth}"] = {k: [list(v.shape), str(v.dtype).removeprefix("torch.")]
                                    for k, v in model.state_dict().items()}
json.dump(layouts, open(out, "w"))
