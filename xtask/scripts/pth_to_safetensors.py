"""Convert a pickled PyTorch state dict to safetensors, once, at fetch time.

Run by `cargo xtask fetch-data` with the project venv's torch. `weights_only=True` makes torch's
restricted unpickler refuse anything but tensors and plain containers, so a tampered file cannot
run code; Rust never unpickles at all. Tensor names are kept exactly as in the source file.

Usage: pth_to_safetensors.py IN.pth OUT.safetensors
"""
import sys

import torch
from safetensors.torch import save_file


def main(src, dst):
    state = torch.load(src, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    tensors = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            sys.exit(f"{src}: entry {name!r} is a {type(value).__name__}, not a tensor")
        # clone: safetensors refuses tensors that share storage; contiguous: it stores dense rows.
        tensors[name] = value.detach().clone().contiguous()
    save_file(tensors, dst, metadata={"format": "pt"})
    print(f"converted {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
