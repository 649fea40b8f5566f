"""Reference outputs of transformers' GPT2LMHeadModel on seeded random weights (tiny config).

Usage: gpt2_reference.py OUT_DIR
Writes into OUT_DIR:
  model/            config.json + model.safetensors as transformers saves them (`transformer.` names)
  upstream.safetensors  the same weights the way the hub's `gpt2` file stores them: no
                    `transformer.` prefix, `h.N.attn.bias` / `masked_bias` buffers, `lm_head.weight`
  reference.safetensors  a right-padded batch, its logits (eval), the shifted mean loss, a few
                    gradients, and greedy `generate(do_sample=False)` continuations of two prompts
"""
import os, sys

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
config = GPT2Config(vocab_size=100, n_positions=32, n_embd=64, n_layer=2, n_head=4,
                    bos_token_id=99, eos_token_id=99, pad_token_id=99)
model = GPT2LMHeadModel(config).eval()
# transformers' init (std 0.02) gives almost uniform logits, where greedy decoding would hinge on
# rounding; wider random weights give clear winners and exercise every parameter.
with torch.no_grad():
    for name, p in model.named_parameters():
        if ".ln_" in name or "ln_f" in name:
            p.copy_(1.0 + 0.1 * torch.randn_like(p) if name.endswith("weight") else 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.15 * torch.randn_like(p))
model.save_pretrained(os.path.join(out, "model"))

upstream = {k.removeprefix("transformer."): v.contiguous() for k, v in model.state_dict().items()}
upstream["lm_head.weight"] = model.transformer.wte.weight.detach().clone()
for i in range(config.n_layer):
    upstream[f"h.{i}.attn.bias"] = torch.tril(torch.ones(32, 32, dtype=torch.uint8)).view(1, 1, 32, 32)
    upstream[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
save_file({k: v.detach().contiguous() for k, v in upstream.items()}, os.path.join(out, "upstream.safetensors"),
          metadata={"format": "pt"})

g = torch.Generator().manual_seed(1)
input_ids = torch.randint(0, 99, (2, 16), generator=g)
attention_mask = torch.ones(2, 16, dtype=torch.long)
attention_mask[1, 11:] = 0
labels = input_ids.masked_fill(attention_mask == 0, -100)
res = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
res.loss.backward()
tensors = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
           "logits": res.logits.detach(), "loss": res.loss.detach().reshape(1)}
for name in ["transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.weight",
             "transformer.ln_f.weight", "transformer.wpe.weight"]:
    tensors["grad." + name] = model.get_parameter(name).grad

with torch.no_grad():
    for i, prompt in enumerate([[5, 17, 42, 8, 3], [61]]):
        ids = torch.tensor([prompt])
        gen = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=20)
        tensors[f"greedy.{i}.prompt"] = ids[0]
        tensors[f"greedy.{i}.output"] = gen[0, len(prompt):]
save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, "reference.safetensors"))
