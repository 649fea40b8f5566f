#!/usr/bin/env bash
# Benchmark (not a test): ft-data vs transformers on tokenize + collate of 100k Rotten Tomatoes
# sentences, in one run on the same machine. Usage (repository root):
#   crates/ft-data/benches/tokenize_collate.sh [N=100000] [PYTHON=.venv/bin/python]
set -euo pipefail
N=${1:-100000}
PY=${2:-.venv/bin/python}
cargo build --release -p ft-data --example tokenize_bench
BIN=${CARGO_TARGET_DIR:-target}/release/examples/tokenize_bench
echo "# all cores"
"$BIN" "$N"
"$PY" crates/ft-data/benches/tokenize_collate_hf.py "$N"
echo "# one thread"
"$BIN" "$N" 1
TOKENIZERS_PARALLELISM=false "$PY" crates/ft-data/benches/tokenize_collate_hf.py "$N"
