"""Loads a GPT-2 directory that ft saved with transformers and runs it on a batch.

Usage: gpt2_roundtrip.py MODEL_DIR INPUTS.safetensors OUT.safetensors
Fails loudly if loading reports missing or unexpected tensors.
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import GPT2LMHeadModel

model_dir, inputs, out = sys.argv[1:4]
model, info = GPT2LMHeadModel.from_pretrained(model_dir, output_loading_info=True)
bad = {k: v for k, v in info.items() if v}
if bad:
    sys.exit(f"loading {model_dir} was not clean: {bad}")
model.eval()
batch = load_file(inputs)
with torch.no_grad():
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
save_file({"logits": logits.contiguous()}, out)
print(type(model).__name__, model.config.n_layer)
