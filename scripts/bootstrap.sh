#!/usr/bin/env bash
# Create or reuse a virtual environment and install musebench with its test, Ray and quantization extras
# (bitsandbytes: C7's quantization attack, so CI tests it).
# Installs a CPU build of PyTorch first when none is present, so that the `torch` requirement
# does not pull a multi-GB CUDA build. GPU users: install the CUDA wheel you want into the venv
# first (e.g. `.venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cu124`);
# this script then keeps it.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="${MUSEBENCH_TORCH_VERSION:-2.13.0}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "musebench: installing PyTorch $TORCH_VERSION (CPU build when available)"
  "$PY" -m pip install --quiet "torch==$TORCH_VERSION" \
    || "$PY" -m pip install --quiet "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
fi
# the Ray extra (musebench run --executor ray) and the quant extra (bitsandbytes, C7's quantization attack) are
# part of the test set-up: CI runs a quick experiment on Ray and the quantization tests
"$PY" -m pip install --quiet -e ".[test,ray,quant]"
