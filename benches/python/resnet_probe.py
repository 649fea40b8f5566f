"""Twin of src/bin/probe.rs: the guide's Example 2 loop as written — torchvision ResNet-50,
every parameter frozen but a new fc, Adam(fc, lr 1e-4), batch 32, shuffled DataLoader (the
guide's default num_workers=0), RandomResizedCrop(224) + flip + ImageNet normalisation,
model.train() every epoch — over an image folder. The harness times the process.
Usage: resnet_probe.py FOLDER WEIGHTS_DIR EPOCHS
       resnet_probe.py --make-weights WEIGHTS_DIR  (seeded random ResNet-50, torchvision names)"""
import os
import sys

import torch
import torchvision
from safetensors.torch import load_file, save_file
from torchvision import datasets, transforms

from common import emit, init_threads

if sys.argv[1] == "--make-weights":
    os.makedirs(sys.argv[2], exist_ok=True)
    torch.manual_seed(0)
    m = torchvision.models.resnet50()
    save_file({k: v.contiguous() for k, v in m.state_dict().items()},
              os.path.join(sys.argv[2], "model.safetensors"))
    sys.exit(0)

init_threads()
folder, weights, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
tf = transforms.Compose([
    transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
data = datasets.ImageFolder(folder, transform=tf)
loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
model = torchvision.models.resnet50()
model.load_state_dict(load_file(os.path.join(weights, "model.safetensors")))
for p in model.parameters():
    p.requires_grad = False
model.fc = torch.nn.Linear(model.fc.in_features, len(data.classes))
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-4)
for epoch in range(epochs):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
emit(0.0, last_loss=loss.item())
