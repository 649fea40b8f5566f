"""torchvision's side of the image pipeline benchmark (issue 10).

    python benches/python/image_pipeline.py FOLDER [BATCH=32] [EPOCHS=2]
        ImageFolder + RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize,
        DataLoader(batch, shuffle, num_workers=2); prints {"images_per_s": ...} (one JSON line),
        like src/bin/image_pipeline.rs does for ft-data.
    python benches/python/image_pipeline.py --make-folder OUT [N=300]
        Writes N JPEG "photos" of 500x375 (random crops, flips and scales of sklearn's
        china.jpg / flower.jpg from ~/.cache/ft/datasets/sklearn-digits) in 3 class folders.
"""

import os
import random
import sys
import time


def make_folder(out, n):
    from PIL import Image

    home = os.environ.get("FT_HOME") or os.path.expanduser("~/.cache/ft")
    src = [Image.open(os.path.join(home, "datasets/sklearn-digits", f)).convert("RGB")
           for f in ("china.jpg", "flower.jpg")]
    rng = random.Random(0)
    for i in range(n):
        im = src[i % 2]
        w = rng.randint(250, im.width)
        h = min(im.height, int(w * 375 / 500))
        x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
        photo = im.crop((x, y, x + w, y + h)).resize((500, 375), Image.BILINEAR)
        if rng.random() < 0.5:
            photo = photo.transpose(Image.FLIP_LEFT_RIGHT)
        d = os.path.join(out, f"class{i % 3}")
        os.makedirs(d, exist_ok=True)
        photo.save(os.path.join(d, f"{i:04d}.jpg"), quality=90)


def bench(folder, batch, epochs):
    import torch
    from torchvision import datasets, transforms

    t = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    ds = datasets.ImageFolder(folder, transform=t)
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=2)
    start = time.perf_counter()
    images = 0
    for _ in range(epochs):
        for x, _y in loader:
            images += x.shape[0]
    secs = time.perf_counter() - start
    from common import emit
    emit(images / secs, images=images, seconds=secs, num_workers=2)


if __name__ == "__main__":
    if sys.argv[1] == "--make-folder":
        make_folder(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    else:
        bench(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32,
              int(sys.argv[3]) if len(sys.argv) > 3 else 2)
