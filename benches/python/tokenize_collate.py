"""Twin of src/bin/tokenize.rs: transformers' fast tokenizer batch call
`tok(texts, truncation=True, max_length=128)` + `DataCollatorWithPadding` per batch of 16, on the
same texts (fresh/rotten rows of rotten_tomatoes_corpus_full.csv.bz2 repeated up to N).
Prints sentences/s. Usage: tokenize_collate.py [N=100000]"""
import bz2, csv, io, os, sys, time
from transformers import AutoTokenizer, DataCollatorWithPadding

from common import emit, ft_home, init_threads

init_threads()

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
home = ft_home()
rows = list(csv.DictReader(io.StringIO(
    bz2.open(f"{home}/datasets/rotten-tomatoes/rotten_tomatoes_corpus_full.csv.bz2").read().decode())))
texts = [r["text"] for r in rows if r["category"] in ("fresh", "rotten")]
labels = [1 if r["category"] == "fresh" else 0 for r in rows if r["category"] in ("fresh", "rotten")]
texts = (texts * (n // len(texts) + 1))[:n]
labels = (labels * (n // len(labels) + 1))[:n]
tok = AutoTokenizer.from_pretrained(f"{home}/models/minilm-l6")
collator = DataCollatorWithPadding(tok, return_tensors="np")  # host arrays, like our HostBatch

t0 = time.perf_counter()
enc = tok(texts, truncation=True, max_length=128)
tokenize_s = time.perf_counter() - t0
t1 = time.perf_counter()
tokens = batches = 0
keys = list(enc.keys())
for s in range(0, n, 16):
    feats = [{**{k: enc[k][i] for k in keys}, "labels": labels[i]} for i in range(s, min(s + 16, n))]
    b = collator(feats)
    tokens += int(b["attention_mask"].sum()); batches += 1
collate_s = time.perf_counter() - t1
emit(n / (tokenize_s + collate_s), texts=n, tokenize_s=tokenize_s, collate_s=collate_s,
     batches=batches, tokens=tokens, parallelism=os.environ.get("TOKENIZERS_PARALLELISM", "default"))
