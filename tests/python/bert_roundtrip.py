"""Loads a model directory that ft saved with transformers and runs it on a batch.

Usage: bert_roundtrip.py MODEL_DIR INPUTS.safetensors OUT.safetensors
Prints the loading report so a missing or unexpected tensor fails the test loudly.
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoConfig

model_dir, inputs, out = sys.argv[1:4]
config = AutoConfig.from_pretrained(model_dir)
cls = AutoModelForTokenClassification if config.architectures[0].endswith("TokenClassification") \
    else AutoModelForSequenceClassification
model, info = cls.from_pretrained(model_dir, output_loading_info=True)
bad = {k: v for k, v in info.items() if v and k != "error_msgs" or (k == "error_msgs" and v)}
if bad:
    sys.exit(f"loading {model_dir} was not clean: {bad}")
model.eval()
batch = load_file(inputs)
with torch.no_grad():
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   token_type_ids=batch["token_type_ids"]).logits
save_file({"logits": logits.contiguous()}, out)
print(type(model).__name__, config.id2label)
