"""Audit a pretrained model that never saw the mini world against the world's documents, over world seeds.

    python benchmarks/audit_untouched.py --model MODEL_DIR --seeds 0-7 --threads 1 --out bench/audit-untouched

For each seed the tiny news-mini world is generated (no model is built): its 8 forget and 8 holdout people
and their documents. The model answers every probe once on all of them (``musebench.audit.measure``), and the
measurement is judged three ways: the rule before issue 23 (document bootstrap, no correction), today's rule
with every document its own unit, and today's rule with the person as the unit (what the audit does when the
documents name their person). Which people are "forget" is a random draw of the world, so across seeds a
model that never saw any of them must be called a leak in at most about alpha of the worlds; within one world
the forget people may simply be easier for it (not a false alarm of the test, a property of the draw).
Writes OUT/seed-S.json (the per-document values) and OUT/untouched.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi) + 1)) if hi else [int(x) for x in text.split(",")]


def world_documents(seed: int):
    """The tiny world's forget and holdout documents with their people (``DocumentSet`` with groups)."""
    from musebench.audit.documents import DocumentSet
    from musebench.data.synthetic.assemble import generate_world

    corpus = generate_world("news-mini", "tiny", seed).corpus
    assert set(corpus.privleak_forget) == set(corpus.forget) and set(corpus.privleak_holdout) == set(corpus.holdout)
    forget = DocumentSet(
        f"news-mini tiny seed {seed} forget",
        tuple(corpus.privleak_forget),
        tuple(corpus.unit_labels("privleak_forget")),
    )
    holdout = DocumentSet(
        f"news-mini tiny seed {seed} holdout",
        tuple(corpus.privleak_holdout),
        tuple(corpus.unit_labels("privleak_holdout")),
    )
    return forget, holdout


def directory_documents(data: str):
    """A mini corpus directory's raw forget / holdout documents with their people: from ``tags/units.json``, or
    (a corpus written before it existed) the name each document repeats most (``First Last``)."""
    import re
    from collections import Counter

    from musebench.audit.documents import DocumentSet, with_units
    from musebench.data import load_corpus

    corpus = load_corpus(data)
    units = corpus.text_units()
    if not units:
        pattern = re.compile(r"\b([A-Z][a-z]+ [A-Z][a-z]+)\b")
        units = {d: Counter(pattern.findall(d)).most_common(1)[0][0] for d in corpus.forget + corpus.holdout}
    return (
        with_units(DocumentSet(f"{data} forget", tuple(corpus.forget)), units, data),
        with_units(DocumentSet(f"{data} holdout", tuple(corpus.holdout)), units, data),
    )


def judge(m, forget, holdout, settings, seed: int) -> dict:
    from audit_validation import new_stats, old_verdict

    from musebench.audit.verdict import calibrate, overall

    out = {"before": old_verdict(m, settings.bootstrap_samples, seed)}
    docs = {role: sorted(m.membership.get(role, {})) for role in ("forget", "holdout")}
    person = {"forget": tuple(forget.groups), "holdout": tuple(holdout.groups)}
    for label, groups in (("by document", None), ("by person", person)):
        stats = new_stats(m, groups, settings, f"seed{seed}")
        calibrate([stats], settings)
        out[label] = overall(stats)
        out[f"{label} probes"] = {
            p: {
                "status": s.status,
                "excess": s.excess,
                "p_leak": s.p_leak,
                "p_below": s.p_below,
                "ci95": s.excess_ci,
            }
            for p, s in stats.items()
        }
    out["documents"] = {k: len(v) for k, v in docs.items()}
    return out


def summarize(out: Path, settings) -> list[dict]:
    """The rows of every ``seed-*.json`` in ``out``, judged again from the stored values (``--summarize``)."""
    from musebench.audit.documents import DocumentSet
    from musebench.audit.measure import Measurement

    rows = []
    for path in sorted(out.glob("seed-*.json"), key=lambda q: int(q.stem[5:])):
        saved = json.loads(path.read_text())
        m = Measurement(
            per_doc={
                r: {p: {int(d): v for d, v in docs.items()} for p, docs in probes.items()}
                for r, probes in saved["per_doc"].items()
            },
            membership={r: {int(d): v for d, v in docs.items()} for r, docs in saved["membership"].items()},
        )
        f, h = (
            DocumentSet(role, tuple(str(i) for i in range(len(g))), tuple(g))
            for role, g in zip(("forget", "holdout"), saved["groups"])
        )
        seed = saved["row"]["seed"]
        rows.append({"seed": seed, **judge(m, f, h, settings, seed), "seconds": saved["row"]["seconds"]})
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| world | before | after, by document | after, by person | membership AUC | p by document "
        "(higher / lower) | p by person (higher / lower) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        d, p = r["by document probes"].get("membership", {}), r["by person probes"].get("membership", {})
        auc = 0.5 - p["excess"] if p.get("excess") is not None else float("nan")
        lines.append(
            f"| {r['seed']} | {r['before']} | {r['by document']} | {r['by person']} | {auc:.3f} | "
            f"{d['p_leak']:.3f} / {d['p_below']:.3f} | {p['p_leak']:.3f} / {p['p_below']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--data", default=None, help="a mini corpus directory instead of generated worlds")
    p.add_argument("--samples", type=int, default=1000, help="permutations / resamples per test")
    p.add_argument("--probes", default="verbatim,knowledge,membership", help="comma list of probe families")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    p.add_argument("--summarize", action="store_true", help="only tabulate the seed-*.json files already in --out")
    args = p.parse_args()
    import torch

    from musebench.audit import AuditSettings
    from musebench.audit.measure import measure
    from musebench.audit.probes import build_probes
    from musebench.models.loading import load_model

    torch.set_num_threads(args.threads)
    settings = AuditSettings(bootstrap_samples=args.samples, probes=tuple(args.probes.split(",")))
    out = Path(args.out)
    if args.summarize:
        print(table(summarize(out, settings)))
        return
    out.mkdir(parents=True, exist_ok=True)
    lm = load_model(args.model)
    rows = []
    for seed in _seeds(args.seeds) if args.data is None else [0]:
        start = time.perf_counter()
        forget, holdout = world_documents(seed) if args.data is None else directory_documents(args.data)
        probes = build_probes(lm.tokenizer, forget, holdout, settings)
        m = measure(lm.model, lm.tokenizer, probes, settings, label=f"seed{seed}", progress=False)
        row = {
            "seed": seed,
            **judge(m, forget, holdout, settings, seed),
            "seconds": round(time.perf_counter() - start, 1),
        }
        (out / f"seed-{seed}.json").write_text(
            json.dumps(
                {
                    "row": row,
                    "per_doc": m.per_doc,
                    "membership": m.membership,
                    "groups": [forget.groups, holdout.groups],
                }
            )
        )
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("probes")}), flush=True)
    (out / "untouched.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
