"""Twin of src/bin/bert_step.rs: transformers' BertForSequenceClassification full fine-tuning
steps with torch.optim.AdamW (weight decay 0.01 off biases and LayerNorms, as Trainer does).
Usage: bert_step.py MODEL BATCH SEQ STEPS [WARMUP=2] (MODEL: minilm-l6 or a config.json path)."""
import os
import sys
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

from common import emit, ft_home, init_threads, median

init_threads()
model, batch, seq, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
if os.path.isfile(model):
    m = BertForSequenceClassification(BertConfig.from_json_file(model))
else:
    m = BertForSequenceClassification.from_pretrained(f"{ft_home()}/models/{model}", num_labels=2)
m.train()
decay = [p for n, p in m.named_parameters() if p.ndim > 1 and not n.endswith("bias")]
rest = [p for n, p in m.named_parameters() if not (p.ndim > 1 and not n.endswith("bias"))]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=2e-5)
ids = torch.randint(1000, 30000, (batch, seq))
mask = torch.ones(batch, seq, dtype=torch.long)
labels = torch.randint(0, 2, (batch,))


def step():
    t = time.perf_counter()
    m(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    opt.step()
    opt.zero_grad()
    return time.perf_counter() - t


for _ in range(int(sys.argv[5]) if len(sys.argv) > 5 else 2):
    step()
s = median([step() for _ in range(steps)])
emit(batch / s, step_s=s, params=sum(p.numel() for p in m.parameters()))
