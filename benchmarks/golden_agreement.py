"""Per-criterion agreement of musebench with the original MUSE scorer on the golden fixture.

Runs ``musebench.evaluate.evaluate`` (the engine) and ``musebench.evaluate.naive_scorer.naive_evaluate`` (the
independent oracle) on ``tests/fixtures/golden/muse-scorer`` with the scorer's settings, and prints, for each
criterion, how many values were compared, how many are equal (texts and ROUGE exactly, log-prob statistics
within 1e-5 relative, AUCs exactly) and the worst difference (relative for log-prob statistics).
``tests/evaluate/test_golden.py`` asserts the same agreement.

    python benchmarks/golden_agreement.py [--threads 1] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "golden" / "muse-scorer"
ATTACKS = {
    "PPL": "nll",
    "PPL/lower": "lowercase",
    "PPL/zlib": "zlib",
    **{f"Min-{k}%": f"mink_{k}" for k in (5, 10, 20, 30, 40, 50, 60)},
}
CRITERIA = ("verbmem_f", "knowmem_f", "knowmem_r")
SPLITS = ("forget", "retain", "holdout")
PAIRS = (("forget", "holdout"), ("forget", "retain"), ("retain", "holdout"))
REL = 1e-5


def engine_view(result) -> dict:
    view = {}
    for crit in CRITERIA:
        rows = [r for r in result.per_example if r["criterion"] == crit]
        view[crit] = {
            "reference": [r["reference"] for r in rows],
            "output": [r["output"] for r in rows],
            "rougeL_f1": [r["scores"]["rougeL_f1"] for r in rows],
            "mean": result.scores[crit],
        }
    rows = [r for r in result.per_example if r["criterion"] == "privleak"]
    view["per_text"] = {
        s: [
            {"n_tokens": r["n_tokens"], **{k: r["scores"][v] for k, v in ATTACKS.items()}}
            for r in sorted((r for r in rows if r["split"] == s), key=lambda r: r["index"])
        ]
        for s in SPLITS
    }
    view["auc"] = {
        f"{a}_{b}_{k}": result.privacy["attacks"][v]["auc"][f"{a}_vs_{b}"] for k, v in ATTACKS.items() for a, b in PAIRS
    }
    view["privleak"] = result.scores["privleak"]
    return view


def oracle_view(out: dict) -> dict:
    view = {
        crit: {
            "reference": out["references"][crit],
            "output": out["outputs"][crit],
            "rougeL_f1": out["rouge"][crit],
            "mean": out["scores"][crit],
        }
        for crit in CRITERIA
    }
    view["per_text"] = {
        s: [{"n_tokens": r["n_tokens"], **{k: r["scores"][v] for k, v in ATTACKS.items()}} for r in out["privacy"][s]]
        for s in SPLITS
    }
    view["auc"] = {f"{a}_{b}_{k}": out["auc"][v][f"{a}_vs_{b}"] for k, v in ATTACKS.items() for a, b in PAIRS}
    view["privleak"] = out["scores"]["privleak"]
    return view


def exact_row(name: str, got: list, want: list, numeric: bool = True) -> tuple:
    equal = sum(g == w for g, w in zip(got, want)) if len(got) == len(want) else 0
    worst = (
        max((abs(g - w) for g, w in zip(got, want)), default=0.0)
        if numeric
        else ("-" if equal == len(want) else "differs")
    )
    return name, len(want), equal, worst


def relative_row(name: str, got: list[float], want: list[float]) -> tuple:
    rel = [abs(g - w) / abs(w) if w else abs(g) for g, w in zip(got, want)]
    return name, len(want), sum(r <= REL for r in rel), max(rel, default=0.0)


def agreement(view: dict, expected: dict) -> list[tuple]:
    """(criterion, rows compared, rows equal, worst difference) rows."""
    rows = []
    for crit in CRITERIA:
        want = expected[crit]["per_example"]
        rows.append(exact_row(f"{crit} generated text", view[crit]["output"], [w["output"] for w in want], False))
        rows.append(exact_row(f"{crit} reference", view[crit]["reference"], [w["reference"] for w in want], False))
        rows.append(exact_row(f"{crit} ROUGE-L F1", view[crit]["rougeL_f1"], [w["rougeL_f1"] for w in want]))
        rows.append(exact_row(f"{crit} mean x100", [view[crit]["mean"]], [expected[crit]["mean_rougeL_x100"]]))
    texts = [(s, i) for s in SPLITS for i in range(len(expected["privleak"]["per_text"][s]))]
    got = [view["per_text"][s][i] for s, i in texts]
    want = [expected["privleak"]["per_text"][s][i] for s, i in texts]
    rows.append(
        exact_row("privacy n_tokens (BOS counted)", [g["n_tokens"] for g in got], [w["n_tokens"] for w in want])
    )
    for attack in ATTACKS:
        rows.append(relative_row(f"per-text {attack} (rel.)", [g[attack] for g in got], [w[attack] for w in want]))
    keys = sorted(expected["privleak"]["auc"])
    rows.append(
        exact_row(
            f"AUC ({len(PAIRS)} split pairs x {len(ATTACKS)} attacks)",
            [view["auc"][k] for k in keys],
            [expected["privleak"]["auc"][k] for k in keys],
        )
    )
    rows.append(exact_row("PrivLeak (%)", [view["privleak"]], [expected["privleak"]["privleak_pct"]]))
    return rows


def render(title: str, rows: list[tuple]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| criterion | rows compared | rows equal | worst difference |",
        "|---|---:|---:|---:|",
    ]
    for name, n, equal, worst in rows:
        shown = worst if isinstance(worst, str) else f"{worst:.1e}" if worst else "0"
        lines.append(f"| {name} | {n} | {equal} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the scorer ran)")
    parser.add_argument("--markdown", help="also write the tables to this file")
    args = parser.parse_args()

    import torch

    from musebench.data import MissingDataWarning, load_corpus
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.evaluate.naive_scorer import naive_evaluate
    from musebench.models.loading import load_model

    torch.set_num_threads(args.threads)
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    settings = EvalSettings(
        verbmem_max_new_tokens=128,
        verbmem_gt_max_tokens=128,
        knowmem_max_new_tokens=32,
        knowmem_num_shots=None,
        privleak_max_length=None,
        bootstrap_samples=0,
    )
    retrain_auc = expected["privleak"]["retrain_auc_used"]
    lm = load_model(GOLDEN / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        corpus = load_corpus(GOLDEN / "corpus")
    engine = evaluate(lm.model, lm.tokenizer, corpus, settings, retrain_auc=retrain_auc, progress=False)
    oracle = naive_evaluate(lm.model, lm.tokenizer, corpus, settings, retrain_auc=retrain_auc)
    tables = []
    for title, view in (
        ("musebench engine (evaluate) vs the original MUSE scorer", engine_view(engine)),
        ("naive scorer (oracle) vs the original MUSE scorer", oracle_view(oracle)),
    ):
        tables.append((title, agreement(view, expected)))
    text = (
        f"golden fixture: {GOLDEN.relative_to(GOLDEN.parents[3])}; torch threads: {args.threads}; "
        f"torch {torch.__version__}\n\n" + "\n\n".join(render(t, rows) for t, rows in tables)
    )
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    ok = all(equal == n for _, rows in tables for _, n, equal, _ in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
