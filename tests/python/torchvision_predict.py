"""Loads an ft image run into torchvision unchanged — `resnet50(num_classes=k)` and a strict
`load_state_dict` of its model.safetensors — and prints class probabilities for images with the
run's evaluation preprocessing (Resize, CenterCrop, ImageNet normalisation), as JSON lines.
Usage: torchvision_predict.py RUN_DIR RESIZE CROP IMAGE..."""
import json
import sys

import torch
import torchvision
from PIL import Image
from safetensors.torch import load_file
from torchvision import transforms as T

run, resize, crop, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
config = json.load(open(f"{run}/config.json"))
labels = [config["id2label"][str(i)] for i in range(config["num_classes"])]
model = torchvision.models.resnet50(num_classes=config["num_classes"])
model.load_state_dict(load_file(f"{run}/model.safetensors"), strict=True)
model.eval()
tf = T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
with torch.no_grad():
    for path in images:
        x = tf(Image.open(path).convert("RGB")).unsqueeze(0)
        p = model(x).softmax(-1)[0]
        print(json.dumps({"path": path, "probabilities": dict(zip(labels, p.tolist()))}))
