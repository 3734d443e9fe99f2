"""Validate ``musebench audit`` on a finished mini-world experiment: its verdicts against MUSE's C1-C3.

    musebench demo --threads 1 --out runs/demo                       # (or --quick) any finished run
    python benchmarks/audit_validation.py --run runs/demo/news-mini --threads 1 --out bench/audit-news

Audits the target, the retrain model and every method's selected checkpoint with the run's own raw/forget
documents and raw/holdout as the never-seen documents (the target as --original for every unlearned model),
and prints a Markdown table: the audit's verdict and per-probe status next to MUSE's C1 (VerbMem-f <=
retrain), C2 (KnowMem-f <= retrain) and C3 (|PrivLeak| <= 5 %) from the run's results.json, the expected
agreement, and each audit's wall time. Writes every audit to OUT/<model>/ and the table to OUT/validation.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

PRIVLEAK_TOLERANCE = 5.0  # the report's C3 rule (musebench.report.verdicts.VerdictRules)
STATUS = {"leak": "leak", "indistinguishable": "ok", "below_unseen": "below", "not_judged": "-"}


def muse_verdicts(scores: dict, retrain: dict) -> dict[str, bool]:
    return {
        "C1": scores["verbmem_f"] <= retrain["verbmem_f"],
        "C2": scores["knowmem_f"] <= retrain["knowmem_f"],
        "C3": abs(scores["privleak"]) <= PRIVLEAK_TOLERANCE,
    }


def muse_reading(scores: dict, c: dict[str, bool]) -> str:
    """What MUSE's C1-C3 say in the audit's terms: still memorised, over-unlearned, or like retrain."""
    if not c["C1"] or not c["C2"] or scores["privleak"] < -PRIVLEAK_TOLERANCE:
        return "leak"
    if scores["privleak"] > PRIVLEAK_TOLERANCE:
        return "below_unseen"
    return "indistinguishable"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--run", required=True, help="a finished experiment directory (results.json, data/, methods/)"
    )
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--attacks", default="", help="attacks for the unlearned models, e.g. quantize:nf4,relearn:10"
    )
    p.add_argument("--methods", default="", help="comma list (default: every method of the run)")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from musebench.audit import AuditModel, AuditSettings, load_documents, run_audit, write_audit
    from musebench.audit.attacks import parse_attacks
    from musebench.unlearn import load_unlearned

    run = Path(args.run)
    results = json.loads((run / "results.json").read_text())
    forget = load_documents(run / "data" / "raw" / "forget.json")
    holdout = load_documents(run / "data" / "raw" / "holdout.json", "holdout")
    settings = AuditSettings()
    out = Path(args.out)
    target_dir = results["reference"]["target"]["model"]
    retrain_scores = results["reference"]["retrain"]["scores"]
    models = [
        ("target", target_dir, results["reference"]["target"]["scores"], None),
        ("retrain", results["reference"]["retrain"]["model"], retrain_scores, None),
    ]
    chosen = [m for m in args.methods.split(",") if m] or list(results["methods"])
    for name in chosen:
        m = results["methods"][name]
        models.append(
            (
                f"{name} ({m['selected']})",
                str(run / "methods" / name / m["selected"]),
                m["selected_scores"],
                m["selected"],
            )
        )

    def load(path: str) -> AuditModel:
        loaded = load_unlearned(path, "cpu")
        return AuditModel(loaded.model, loaded.tokenizer, path)

    original = load(target_dir)
    rows = []
    for label, path, scores, selected in models:
        unlearned = selected is not None
        attacks = parse_attacks([a for a in args.attacks.split(",") if a], "cpu") if unlearned else []
        if attacks and (Path(path) / "whp.json").is_file():
            attacks = [
                a for a in attacks if not a.name.startswith("relearn")
            ]  # WHP has no weights of its own
        start = time.perf_counter()
        audit, outputs = run_audit(
            load(path),
            forget,
            holdout,
            settings,
            original=original if unlearned else None,
            attacks=attacks,
            progress=False,
            command=f"musebench audit --model {path} --forget {run}/data/raw/forget.json "
            f"--holdout {run}/data/raw/holdout.json" + (f" --original {target_dir}" if unlearned else ""),
        )
        wall = time.perf_counter() - start
        slug = label.split()[0]
        write_audit(audit, outputs, out / slug)
        c = muse_verdicts(scores, retrain_scores)
        reading = muse_reading(scores, c)
        probes = audit["probes"]
        rows.append(
            {
                "model": label,
                "audit": audit["verdict"],
                "model_verdict": audit["model_verdict"],
                "probes": {k: v["status"] for k, v in probes.items()},
                "excess": {k: v["excess"] for k, v in probes.items()},
                "attacks": {a["name"]: a["verdict"] for a in audit["attacks"]},
                "muse": c,
                "muse_reading": reading,
                "scores": scores,
                "agree": reading == audit["model_verdict"],
                "wall_s": round(wall, 1),
            }
        )
        print(
            f"{label}: audit {audit['verdict']} MUSE {reading}, {wall:.1f}s",
            flush=True,
        )
    table = render(rows, results)
    (out / "validation.md").write_text(table)
    (out / "validation.json").write_text(json.dumps(rows, indent=2))
    print(table)


def render(rows: list[dict], results: dict) -> str:
    tick = {True: "✓", False: "✗"}
    probe_keys = list(rows[0]["probes"])
    head = (
        ["model", "VerbMem-f", "KnowMem-f", "PrivLeak", "C1", "C2", "C3", "MUSE reading", "audit"]
        + [k for k in probe_keys]
        + (["attacks"] if any(r["attacks"] for r in rows) else [])
        + ["agree", "wall s"]
    )
    lines = [
        f"Run: {results['name']} (corpus fingerprint {results['corpus']['fingerprint']}); "
        "probe cells: leak / ok (indistinguishable) / below (below unseen) / - (not judged)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        s = r["scores"]
        cells = [
            r["model"],
            f"{s['verbmem_f']:.1f}",
            f"{s['knowmem_f']:.1f}",
            f"{s['privleak']:+.1f}",
            *(tick[r["muse"][c]] for c in ("C1", "C2", "C3")),
            r["muse_reading"],
            r["model_verdict"],
            *(STATUS[r["probes"][k]] for k in probe_keys),
        ]
        if "attacks" in head:
            cells.append(", ".join(f"{k}: {v}" for k, v in r["attacks"].items()) or "")
        cells += ["yes" if r["agree"] else "no", f"{r['wall_s']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    agree = sum(r["agree"] for r in rows)
    lines += ["", f"Agreement with MUSE's C1-C3 reading: {agree} of {len(rows)} models."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
