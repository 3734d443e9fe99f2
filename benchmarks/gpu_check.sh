#!/usr/bin/env bash
# One prepared GPU check, sized for a session's ~15 minutes of GPU time: every benchmarks/gpu_*_check.py
# section in turn (evaluation: gpu_eval_check.py, <= 5 min; unlearning: gpu_unlearn_check.py when present),
# each under its own time limit, the whole script under 8 minutes. Each section is called with
# `--work OUT/<section>` (and `--dry-run-cpu` in a dry run) and logs to OUT/<section>.log; a section that
# fails or runs out of time is reported and the next one still runs.
#
#   bash benchmarks/gpu_check.sh OUT                  # on a machine with one CUDA GPU
#   GPU_CHECK_DRY_RUN=1 bash benchmarks/gpu_check.sh OUT    # CPU, tiny shapes: checks the script itself
#
# Needs a Python with this project and a CUDA build of torch (PYTHON=... to choose it); nothing is downloaded.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu_check_out}
PY=${PYTHON:-python}
TOTAL_S=${GPU_CHECK_TOTAL_S:-480}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

section_limit() {  # seconds allowed to one section: its own budget, never past the whole script's
    local own
    if [ -n "${GPU_CHECK_DRY_RUN:-}" ]; then  # a CPU dry run checks logic, not GPU budgets
        own=$TOTAL_S
    else case "$1" in
        gpu_eval_check) own=300 ;;
        gpu_unlearn_check) own=180 ;;
        *) own=$TOTAL_S ;;
    esac; fi
    local left=$(( TOTAL_S - ($(date +%s) - START) ))
    echo $(( own < left ? own : left ))
}

dry=()
[ -n "${GPU_CHECK_DRY_RUN:-}" ] && dry=(--dry-run-cpu)
"$PY" -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" || exit 2

START=$(date +%s)
failed=0
for script in benchmarks/gpu_*_check.py; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .py)
    limit=$(section_limit "$name")
    if [ "$limit" -le 0 ]; then
        echo "== $name: skipped (the script's ${TOTAL_S}s are spent)"
        failed=1
        continue
    fi
    echo "== $name (limit ${limit}s)"
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$PY" "$script" --work "$OUT/$name" "${dry[@]}" > "$OUT/$name.log" 2>&1
    rc=$?
    cat "$OUT/$name.log" | grep -v "Loading weights" | tail -40
    echo "== $name: exit $rc after $(( $(date +%s) - t0 ))s"
    [ "$rc" -eq 0 ] || failed=1
done
echo "== gpu_check: $(( $(date +%s) - START ))s in all; results under $OUT"
exit $failed
