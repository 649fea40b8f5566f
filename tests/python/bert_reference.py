"""Reference outputs of transformers' BERT on real MiniLM weights and real review sentences.

Usage: bert_reference.py OUT.safetensors MODEL_DIR RT_CSV_BZ2
Writes the tokenized batch (padded), BertModel's last hidden state and pooler output (eval mode),
and for BertForSequenceClassification with a seeded new head: its weights, the logits, the loss
for fixed labels and the gradients of a few named parameters.
"""
import bz2, csv, io, sys

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, BertForSequenceClassification, BertModel

out, model_dir, corpus = sys.argv[1:4]
rows = csv.DictReader(io.StringIO(bz2.open(corpus).read().decode()))
texts = [r["text"] for r in rows if r["category"] in ("fresh", "rotten")][:8]
texts[3] = texts[3] + " " + texts[4] + " " + texts[5]  # a longer one, so padding varies a lot
tok = AutoTokenizer.from_pretrained(model_dir)
enc = tok(texts, padding=True, truncation=True, max_length=96, return_tensors="pt")
torch.set_grad_enabled(False)
base = BertModel.from_pretrained(model_dir).eval()
base_out = base(**enc)
torch.set_grad_enabled(True)
torch.manual_seed(0)
clf = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2).eval()
labels = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0])
res = clf(**enc, labels=labels)
res.loss.backward()
tensors = {
    "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
    "token_type_ids": enc["token_type_ids"], "labels": labels,
    "last_hidden_state": base_out.last_hidden_state, "pooler_output": base_out.pooler_output,
    "logits": res.logits.detach(), "loss": res.loss.detach().reshape(1),
    "classifier.weight": clf.classifier.weight.detach(), "classifier.bias": clf.classifier.bias.detach(),
}
for name in ["classifier.weight", "bert.pooler.dense.weight", "bert.encoder.layer.5.output.dense.weight",
             "bert.encoder.layer.0.attention.self.query.weight", "bert.embeddings.LayerNorm.weight"]:
    tensors["grad." + name] = clf.get_parameter(name).grad
save_file({k: v.contiguous() for k, v in tensors.items()}, out)
