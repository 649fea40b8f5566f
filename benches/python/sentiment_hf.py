"""Twin of the `sentiment` recipe with transformers' Trainer: the guide's Example 1 settings
(lr 2e-5, batch 16, weight decay 0.01, eval + save every epoch, best restored) on MiniLM-L6 and
the Rotten Tomatoes reviews, split exactly as ft splits them (Python's random.Random(42) shuffle
of the fresh/rotten rows: 1000 train, 1000 validation, 1000 test).

PADDING is `max_length` (every text padded to 128, as the guide writes it), `dynamic`
(DataCollatorWithPadding, what a careful user does) or `grouped` (dynamic padding plus
`train_sampling_strategy="group_by_length"`, the batching ft's recipe uses). Prints the test
accuracy; the harness times the whole process.
Usage: sentiment_hf.py max_length|dynamic|grouped OUTPUT_DIR [EPOCHS=3]"""
import bz2
import csv
import io
import random
import sys

import numpy as np
import torch
from datasets import Dataset
from transformers import (AutoTokenizer, BertForSequenceClassification, DataCollatorWithPadding,
                          Trainer, TrainingArguments)

from common import emit, ft_home, init_threads

init_threads()
padding, out = sys.argv[1], sys.argv[2]
assert padding in ("max_length", "dynamic", "grouped"), padding
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
seed, home = 42, ft_home()
text = bz2.open(f"{home}/datasets/rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2").read().decode()
rows = [(r["text"], 1 if r["category"] == "fresh" else 0)
        for r in csv.DictReader(io.StringIO(text)) if r["category"] in ("fresh", "rotten")]
random.Random(seed).shuffle(rows)
train, val, test = rows[:1000], rows[1000:2000], rows[2000:3000]
mdir = f"{home}/models/minilm-l6"
tok = AutoTokenizer.from_pretrained(mdir)


def ds(rs):
    d = Dataset.from_dict({"text": [t for t, _ in rs], "label": [l for _, l in rs]})
    return d.map(lambda e: tok(e["text"], padding="max_length" if padding == "max_length" else False,
                               truncation=True, max_length=128), batched=True)


tr, va, te = ds(train), ds(val), ds(test)
torch.manual_seed(seed)
model = BertForSequenceClassification.from_pretrained(mdir, num_labels=2)
args = TrainingArguments(
    output_dir=out, learning_rate=2e-5, per_device_train_batch_size=16, per_device_eval_batch_size=16,
    num_train_epochs=epochs, weight_decay=0.01, eval_strategy="epoch", save_strategy="epoch",
    load_best_model_at_end=True, metric_for_best_model="accuracy", report_to=[], seed=seed,
    disable_tqdm=True, logging_strategy="no", use_cpu=True,
    train_sampling_strategy="group_by_length" if padding == "grouped" else "random")


def metrics(p):
    return {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())}


trainer = Trainer(model=model, args=args, train_dataset=tr, eval_dataset=va, compute_metrics=metrics,
                  data_collator=DataCollatorWithPadding(tok) if padding != "max_length" else None)
trainer.train()
emit(0.0, accuracy=trainer.evaluate(te)["eval_accuracy"], padding=padding)
