#!/usr/bin/env bash
# Prove the dependency floors: install every dependency of pyproject.toml at exactly its declared floor
# (`name>=X` becomes `name==X`) into a fresh virtual environment, then import musebench and run a smoke
# selection of the test suite there (every architecture family, evaluation, unlearning with a pad-less
# tokenizer and with gradient accumulation, LoRA). A floor set too low fails here, not at a user's site.
#
#   scripts/check_floors.sh              # venv in a fresh temporary directory (removed at the end)
#   FLOORS_VENV=.venv-floors scripts/check_floors.sh   # reuse / keep that venv
#   FLOORS_TORCH="torch==2.13.0+cpu" scripts/check_floors.sh  # a torch your index has (torch's own floor is
#                                                             # then not exercised; every other one is)
#
# Needs the package index (and the PyTorch CPU index for torch); takes a few minutes, so CI runs it as an
# optional step (see README, "Dependency floors").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ -n "${FLOORS_VENV:-}" ]; then
  VENV="$FLOORS_VENV"
else
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  VENV="$TMP/venv"
fi
start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip

# name==floor for every runtime and test dependency
CONSTRAINTS="$VENV/floor-constraints.txt"
"$PY" - > "$CONSTRAINTS" <<'PYEOF'
import re
text = open("pyproject.toml", encoding="utf-8").read()
blocks = re.findall(r'^(?:dependencies|test) = \[(.*?)\]', text, flags=re.S | re.M)
for spec in re.findall(r'"([^"]+)"', " ".join(blocks)):
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?>=([0-9][^,;\s]*)", spec.strip())
    if m:
        print(f"{m.group(1)}=={m.group(2)}")
PYEOF
echo "floors:"; sed 's/^/  /' "$CONSTRAINTS"
TORCH="$(sed -n 's/^torch==//p' "$CONSTRAINTS")"
sed -i '/^torch==/d' "$CONSTRAINTS"  # installed first, on its own
if [ -n "${FLOORS_TORCH:-}" ]; then
  "$PY" -m pip install --quiet "$FLOORS_TORCH"
else  # the CPU build: the default index would pull a multi-GB CUDA build on Linux
  "$PY" -m pip install --quiet "torch==$TORCH" --index-url https://download.pytorch.org/whl/cpu
fi
"$PY" -m pip install --quiet -c "$CONSTRAINTS" ".[test]"
"$PY" -m pip check
"$PY" - <<'PYEOF'
import importlib.metadata as md
import musebench.cli, musebench.evaluate, musebench.experiment, musebench.report, musebench.unlearn  # noqa: F401
names = ["torch", "transformers", "accelerate", "peft", "datasets", "tokenizers", "safetensors", "huggingface-hub"]
print("installed: " + ", ".join(f"{n} {md.version(n)}" for n in names))
PYEOF
# the checkout's tests, run against the installed (non-editable) package
OMP_NUM_THREADS=1 "$PY" -m pytest -q -p no:cacheprovider --import-mode=importlib \
  tests/test_smoke.py tests/evaluate/test_architectures.py tests/models/test_loading_pad.py \
  tests/models/test_loading_vocab.py tests/unlearn/test_pad_training.py tests/unlearn/test_methods.py::test_lora_epochs_are_merged_plain_models \
  tests/evaluate/test_cli.py::test_eval_writes_summary_with_measured_retrain_auc tests/data/test_hub.py
echo "floors OK in $(( $(date +%s) - start )) s"
