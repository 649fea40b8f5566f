"""Reference outputs of the same convolutional VAE written in plain PyTorch.

Usage: vae_reference.py OUT.safetensors LIKELIHOOD IMAGE_SIZE CHANNELS LATENT HIDDEN(comma-separated)
Builds the architecture ft's ConvVae documents (4x4 stride-2 convs + ReLU, linear mu/logvar heads,
linear decoder input + ReLU, mirrored 4x4 stride-2 transposed convs, ReLU between them; sigmoid
mean for gaussian) with seeded weights, and writes the weights under ft's variable names, a batch
of images, fixed noise eps, the decoder output for z = mu + exp(logvar/2) * eps, mu, logvar, the
summed reconstruction and KL terms (torch's own BCE-with-logits / MSE), and gradients of a few
weights of recon + kl.
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

out, likelihood, size, channels, latent, hidden = sys.argv[1:7]
size, channels, latent = int(size), int(channels), int(latent)
hidden = [int(h) for h in hidden.split(",")]
torch.manual_seed(0)
bottom = size >> len(hidden)
flat = hidden[-1] * bottom * bottom
layers = {}
prev = channels
for i, h in enumerate(hidden):
    layers[f"encoder.{i}"] = nn.Conv2d(prev, h, 4, stride=2, padding=1)
    prev = h
layers["fc_mu"] = nn.Linear(flat, latent)
layers["fc_logvar"] = nn.Linear(flat, latent)
layers["decoder_input"] = nn.Linear(latent, flat)
widths = hidden[::-1]
for i, w in enumerate(widths):
    nxt = widths[i + 1] if i + 1 < len(widths) else channels
    layers[f"decoder.{i}"] = nn.ConvTranspose2d(w, nxt, 4, stride=2, padding=1)
model = nn.ModuleDict({k.replace(".", "_"): v for k, v in layers.items()})

x = torch.rand(3, channels, size, size)
eps = torch.randn(3, latent)
h = x
for i in range(len(hidden)):
    h = F.relu(layers[f"encoder.{i}"](h))
h = h.flatten(1)
mu, logvar = layers["fc_mu"](h), layers["fc_logvar"](h)
z = mu + torch.exp(0.5 * logvar) * eps
d = F.relu(layers["decoder_input"](z)).view(-1, hidden[-1], bottom, bottom)
for i in range(len(widths)):
    d = layers[f"decoder.{i}"](d)
    if i + 1 < len(widths):
        d = F.relu(d)
if likelihood == "bernoulli":
    recon_sum = F.binary_cross_entropy_with_logits(d, x, reduction="sum")
else:
    d = torch.sigmoid(d)
    recon_sum = 0.5 * F.mse_loss(d, x, reduction="sum")
kl_sum = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
(recon_sum + kl_sum).backward()

tensors = {"x": x, "eps": eps, "recon": d.detach(), "mu": mu.detach(), "logvar": logvar.detach(),
           "recon_sum": recon_sum.detach().reshape(1), "kl_sum": kl_sum.detach().reshape(1)}
for name, layer in layers.items():
    tensors[f"weights.{name}.weight"] = layer.weight.detach()
    tensors[f"weights.{name}.bias"] = layer.bias.detach()
for name in ["encoder.0", "fc_logvar", f"decoder.{len(widths) - 1}"]:
    tensors[f"grad.{name}.weight"] = layers[name].weight.grad
save_file({k: v.contiguous() for k, v in tensors.items()}, out)
