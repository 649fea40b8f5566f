"""Predicts with transformers from a directory that `ft train` wrote: model AND tokenizer.

Usage: hf_predict.py RUN_DIR TEXTS.txt
Prints one JSON line per text: {"label": ..., "probabilities": {...}}.
"""
import json, sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

run_dir, texts_file = sys.argv[1:3]
texts = [t for t in open(texts_file, encoding="utf-8").read().splitlines() if t.strip()]
tok = AutoTokenizer.from_pretrained(run_dir)
model = AutoModelForSequenceClassification.from_pretrained(run_dir).eval()
with torch.no_grad():
    enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    probs = model(**enc).logits.softmax(-1)
for p in probs:
    best = int(p.argmax())
    print(json.dumps({"label": model.config.id2label[best],
                      "probabilities": {model.config.id2label[i]: float(v) for i, v in enumerate(p)}}))
