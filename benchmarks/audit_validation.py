"""Validate ``musebench audit``: its verdicts against MUSE's C1-C3, and its measured error rates.

    musebench demo --threads 1 --out runs/demo                       # (or --quick) any finished run
    python benchmarks/audit_validation.py --run runs/demo/news-mini --threads 1 --out bench/audit-news
    python benchmarks/audit_validation.py --mode simulate --trials 300 --out bench/audit-sim
    python benchmarks/audit_validation.py --mode resample --run runs/demo/news-mini-quick --sets 100 \
        --relearn-steps 150 --relearn-seeds 3 --out bench/audit-resample [--extra MODEL_DIR:LABEL]

``--mode simulate``: per-document probe values with known effect sizes (5 probes; documents alone or 3 per
person), audited by the rule before issue 23 (document bootstrap, any 95 % CI above 0 is a leak, no
correction, "indistinguishable" when none is) and by today's (``musebench.audit.verdict``). ``--mode
resample``: every model of a finished run measured once on all forget and holdout documents, then judged on
``--sets`` document sets drawn by person with replacement (the unit of independence); the retrain model and
the target also under the relearning attack with its control. See benchmarks/audit_validation.md.

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
from dataclasses import replace
from functools import partial
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
    p.add_argument("--mode", choices=("table", "simulate", "resample"), default="table")
    p.add_argument("--trials", type=int, default=300, help="simulate: audits per cell")
    p.add_argument("--sets", type=int, default=100, help="resample: document sets per model")
    p.add_argument("--relearn-steps", type=int, default=150, help="resample: the relearning attack's steps")
    p.add_argument("--relearn-seeds", type=int, default=3, help="resample: relearning splits per model")
    p.add_argument("--extra", action="append", default=[], help="resample: MODEL_DIR:LABEL, audited as well")
    p.add_argument("--only", default="", help="resample: comma list of model labels to run (default: all)")
    p.add_argument("--samples", type=int, default=400, help="permutations / resamples per test")
    p.add_argument("--run", help="a finished experiment directory (results.json, data/, methods/)")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--attacks", default="", help="attacks for the unlearned models, e.g. quantize:nf4,relearn:10")
    p.add_argument("--methods", default="", help="comma list (default: every method of the run)")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    if args.mode == "simulate":
        simulate(args.trials, args.samples, Path(args.out))
        return
    if args.mode == "resample":
        resample(
            Path(args.run),
            args.sets,
            args.relearn_steps,
            args.relearn_seeds,
            args.samples,
            args.extra,
            Path(args.out),
            [m for m in args.methods.split(",") if m],
            [m for m in args.only.split(",") if m],
        )
        return
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
            attacks = [a for a in attacks if not a.name.startswith("relearn")]  # WHP has no weights of its own
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


# --- error rates: simulation with known effects, and resampled document sets of a finished run -------------

VALUE_PROBES = ("verbatim_rougeL", "verbatim_exact", "knowledge_em", "knowledge_rougeL")


def _measurement(forget: dict, holdout: dict):
    """A Measurement from per-document values: ``{probe: [value per document]}`` per side; ``membership``
    holds the Min-K% score (lower = member)."""
    from musebench.audit.measure import Measurement

    m = Measurement()
    for role, values in (("forget", forget), ("holdout", holdout)):
        for probe, column in values.items():
            if probe == "membership":
                m.membership[role] = {d: {"mink_40": float(v), "nll": float(v)} for d, v in enumerate(column)}
            else:
                for d, v in enumerate(column):
                    m.add(role, probe, d, float(v))
    return m


def old_verdict(m, samples: int, seed: int) -> str:
    """The rule before issue 23, rewritten here to measure it: a percentile bootstrap over documents per
    probe, 'leak' when any 95 % CI of the excess lies above 0, no correction; 'indistinguishable' when no probe
    leaks or lies below (0 vs 0 probes counted as evidence)."""
    import numpy as np

    from musebench.evaluate.metrics import auc_by_ranks

    rng = np.random.default_rng(seed)
    statuses = []
    pairs = []
    for probe in VALUE_PROBES:
        if probe in m.per_doc.get("forget", {}):
            f = np.array(list(m.doc_means("forget", probe).values()))
            h = np.array(list(m.doc_means("holdout", probe).values()))
            pairs.append((f, h, None))
    if "forget" in m.membership:
        f = np.array([s["mink_40"] for s in m.membership["forget"].values()])
        h = np.array([s["mink_40"] for s in m.membership["holdout"].values()])
        pairs.append((f, h, lambda a, b: 0.5 - auc_by_ranks(a, b)))
    for f, h, stat in pairs:
        fi, hi_ = rng.integers(0, len(f), (samples, len(f))), rng.integers(0, len(h), (samples, len(h)))
        if stat is None:  # documents resampled, the difference of means (vectorised)
            boot = f[fi].mean(axis=1) - h[hi_].mean(axis=1)
        else:
            boot = np.array([stat(f[a], h[b]) for a, b in zip(fi, hi_)])
        lo, hi = np.percentile(boot[np.isfinite(boot)], [2.5, 97.5])
        statuses.append("leak" if lo > 0 else "below_unseen" if hi < 0 else "indistinguishable")
    return "leak" if "leak" in statuses else "below_unseen" if "below_unseen" in statuses else "indistinguishable"


def new_stats(m, groups, settings, name: str):
    """Today's per-probe tests without the level CIs (only the verdict is counted): ``verdict._stat``."""
    import numpy as np

    from musebench.audit.stats import Side, two_sample
    from musebench.audit.verdict import PROBES, _auc_excess, _auc_margin, _labels, _stat

    out = {}
    for probe in VALUE_PROBES:
        if probe not in m.per_doc.get("forget", {}):
            continue
        fd, hd = list(m.doc_means("forget", probe)), list(m.doc_means("holdout", probe))
        f = np.array(list(m.doc_means("forget", probe).values()))
        h = np.array(list(m.doc_means("holdout", probe).values()))
        informative = float(np.ptp(np.concatenate([f, h]))) > 0
        test = (
            two_sample(
                None,
                Side.of(f, _labels(groups, "forget", fd)),
                Side.of(h, _labels(groups, "holdout", hd)),
                settings.eval.bootstrap_samples,
                settings.eval.seed,
                f"{name}:{probe}",
            )
            if informative
            else None
        )
        sd = float(np.std(np.concatenate([f, h]), ddof=1))
        out[probe] = _stat(
            probe,
            PROBES[probe][0],
            f.mean(),
            None,
            h.mean(),
            None,
            test,
            len(f),
            len(h),
            settings.equivalence_margin * sd,
            informative,
            settings,
        )
    if "forget" in m.membership:
        fd, hd = list(m.membership["forget"]), list(m.membership["holdout"])
        f = np.array([m.membership["forget"][d]["mink_40"] for d in fd])
        h = np.array([m.membership["holdout"][d]["mink_40"] for d in hd])
        test = two_sample(
            _auc_excess,
            Side.of(f, _labels(groups, "forget", fd)),
            Side.of(h, _labels(groups, "holdout", hd)),
            settings.eval.bootstrap_samples,
            settings.eval.seed,
            f"{name}:membership",
        )
        out["membership"] = _stat(
            "membership",
            "membership",
            None,
            None,
            0.5,
            None,
            test,
            len(f),
            len(h),
            _auc_margin(settings.equivalence_margin),
            True,
            settings,
        )
    return out


def new_verdict(families, settings, leaking: dict | None = None) -> str:
    """``families``: [(Measurement, groups, name)]; Holm over all of them together, then the overall verdict.
    ``leaking`` (optional) counts, per probe, the families in which it leaked."""
    from musebench.audit.verdict import calibrate, overall

    stats = [new_stats(m, g, settings, name) for m, g, name in families]
    calibrate(stats, settings)
    for fam in stats if leaking is not None else ():
        for probe, s in fam.items():
            leaking[probe] = leaking.get(probe, 0) + (s.status == "leak")
    return overall(*stats)


def _rates(verdicts: list[str]) -> dict[str, float]:
    n = len(verdicts)
    return {
        v: 100.0 * sum(x == v for x in verdicts) / n
        for v in ("leak", "indistinguishable", "inconclusive", "below_unseen")
    }


def _simulated_side(rng, units: int, per_unit: int, shift: float) -> dict:
    """One side's per-document values of the five probes; with ``per_unit`` > 1 half the variance is the unit's."""
    import numpy as np

    values = {}
    for probe in (*VALUE_PROBES, "membership"):
        person = rng.normal(0, np.sqrt(0.5), units) if per_unit > 1 else np.zeros(units)
        noise = rng.normal(0, np.sqrt(0.5) if per_unit > 1 else 1.0, units * per_unit)
        x = np.repeat(person, per_unit) + noise + shift
        values[probe] = -x if probe == "membership" else x  # membership: lower = member
    return values


def simulate(trials: int, samples: int, out: Path) -> None:
    """Five independent probes; never seen (effect 0) or leaking (each probe 0.5 SD higher on forget: the
    membership AUC about 0.36); documents alone, or 3 documents per person (half the variance is the person's);
    without and with one attacked copy (a second family of five probes with the same effect)."""
    import numpy as np

    from musebench.audit.settings import AuditSettings, audit_evaluation

    settings = AuditSettings(eval=replace(audit_evaluation(), bootstrap_samples=samples))
    designs = [("5 documents a side", 5, 1), ("20 documents a side", 20, 1), ("8 people x 3 documents a side", 8, 3)]
    rows = []
    start = time.perf_counter()
    for label, units, per_unit in designs:
        for effect in (0.0, 0.5, 1.0):
            for attacked in (False, True):
                rng = np.random.default_rng([units, per_unit, int(effect * 10), attacked])
                old, new = [], []
                for t in range(trials):
                    groups = None
                    if per_unit > 1:
                        labels = tuple(str(i // per_unit) for i in range(units * per_unit))
                        groups = {"forget": labels, "holdout": labels}
                    draw = partial(_simulated_side, rng, units, per_unit)
                    fams = [(_measurement(draw(effect), draw(0.0)), groups, f"t{t}:model")]
                    if attacked:
                        fams.append((_measurement(draw(effect), draw(0.0)), groups, f"t{t}:attack"))
                    old.append(
                        "leak"
                        if any(old_verdict(m, samples, t) == "leak" for m, _, _ in fams)
                        else old_verdict(fams[0][0], samples, t)
                    )
                    new.append(new_verdict(fams, settings))
                rows.append(
                    {
                        "design": label,
                        "effect_sd": effect,
                        "attack": attacked,
                        "trials": trials,
                        "old": _rates(old),
                        "new": _rates(new),
                    }
                )
                print(
                    f"{label} effect {effect} attack {attacked}: old {rows[-1]['old']} new {rows[-1]['new']} "
                    f"({time.perf_counter() - start:.0f}s)",
                    flush=True,
                )
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "| design | effect (SD; membership AUC) | attacked copy | before: leak % | before: indistinguishable % "
        "| after: leak % | after: indistinguishable % | after: inconclusive % | after: below unseen % |",
        "|" + "---|" * 9,
    ]
    for r in rows:
        auc = {0.0: "0.50", 0.5: "0.36", 1.0: "0.24"}[r["effect_sd"]]
        lines.append(
            f"| {r['design']} | {r['effect_sd']:g} ({auc}) | {'yes' if r['attack'] else 'no'} | "
            f"{r['old']['leak']:.1f} | {r['old']['indistinguishable']:.1f} | {r['new']['leak']:.1f} | "
            f"{r['new']['indistinguishable']:.1f} | {r['new']['inconclusive']:.1f} | {r['new']['below_unseen']:.1f} |"
        )
    table = "\n".join(lines) + "\n"
    (out / "simulation.md").write_text(table)
    print(table)


def _holdout_groups(run: Path, holdout_docs) -> tuple[str, ...]:
    """The person of every holdout document of a generated mini corpus (the world is redrawn from its seed)."""
    from musebench.data.synthetic.sizes import size_spec
    from musebench.data.synthetic.world import Streams, build_world

    spec = json.loads((run / "data" / "synthetic.json").read_text())
    kind, size, seed = spec["kind"], spec["size"], spec["seed"]
    world = build_world(size_spec(size).people_per_group(), Streams(f"{kind}/{size}/{seed}"))
    names = [p.name for p in world.groups["holdout"]]
    out = []
    for d in holdout_docs:
        found = [n for n in names if n in d]
        if not found:
            raise SystemExit(f"no holdout person named in a holdout document: {d[:80]}")
        out.append(max(found, key=d.count))
    return tuple(out)


def _subset(m, draws: dict[str, list[int]]):
    """The measurement of a resampled document set: ``draws[role]`` the original document of each new one."""
    from musebench.audit.measure import Measurement

    sub = Measurement()
    for role, docs in draws.items():
        for probe, by_doc in m.per_doc.get(role, {}).items():
            for new, old in enumerate(docs):
                if old in by_doc:
                    sub.per_doc.setdefault(role, {}).setdefault(probe, {})[new] = list(by_doc[old])
        if role in m.membership:
            sub.membership[role] = {
                new: m.membership[role][old] for new, old in enumerate(docs) if old in m.membership[role]
            }
    return sub


def _draw(rng, groups: tuple[str, ...], keep: list[int]) -> tuple[list[int], tuple[str, ...]]:
    """Three quarters of the people (at least 2; without replacement: a drawn twice would look like two
    independent people), their documents among ``keep``; unit labels."""
    people = sorted({groups[i] for i in keep})
    chosen = set(rng.choice(people, max(2, round(0.75 * len(people))), replace=False))
    docs = [i for i in keep if groups[i] in chosen]
    return docs, tuple(groups[i] for i in docs)


def resample(
    run: Path,
    sets: int,
    steps: int,
    seeds: int,
    samples: int,
    extra: list[str],
    out: Path,
    methods: list[str] | None = None,
    only: list[str] | None = None,
) -> None:
    import copy
    import tempfile

    import numpy as np

    from musebench.audit import AuditSettings, load_documents
    from musebench.audit.attacks import relearn_split
    from musebench.audit.documents import DocumentSet
    from musebench.audit.measure import measure
    from musebench.audit.probes import build_probes
    from musebench.audit.settings import audit_evaluation
    from musebench.robustness.relearn import RelearnBudget, relearn_in_memory
    from musebench.unlearn import load_unlearned

    results = json.loads((run / "results.json").read_text())
    forget = load_documents(run / "data" / "raw" / "forget.json")
    holdout = load_documents(run / "data" / "raw" / "holdout.json", "holdout")
    tags = json.loads((run / "data" / "tags" / "forget.json").read_text())
    forget = DocumentSet(forget.source, forget.documents, tuple(tags["forget"]))
    holdout = DocumentSet(holdout.source, holdout.documents, _holdout_groups(run, holdout.documents))
    settings = AuditSettings(eval=replace(audit_evaluation(), bootstrap_samples=samples))
    retrain_scores = results["reference"]["retrain"]["scores"]
    models = [
        ("target", results["reference"]["target"]["model"], results["reference"]["target"]["scores"]),
        ("retrain", results["reference"]["retrain"]["model"], retrain_scores),
    ]
    for name, m in results["methods"].items():
        if methods and name not in methods:
            continue
        models.append((f"{name} ({m['selected']})", str(run / "methods" / name / m["selected"]), m["selected_scores"]))
    for item in extra:
        path, _, label = item.partition(":")
        models.append((label or path, path, None))
    rows = []
    start = time.perf_counter()
    for label, path, scores in models:
        if only and label not in only:
            continue
        loaded = load_unlearned(path, "cpu")
        probes = build_probes(loaded.tokenizer, forget, holdout, settings)
        full = measure(loaded.model, loaded.tokenizer, probes, settings, label=label, progress=False)
        f_all = sorted({p.doc for p in probes.roles["forget"].verbatim} | set(probes.roles["forget"].doc_indices()))
        h_all = sorted(set(probes.roles["holdout"].doc_indices()))
        attacks = []  # (attacked measurement on the forget rest + all holdout, control on the holdout rest, rests)
        if label in ("target", "retrain") and steps > 0:
            budget = RelearnBudget(steps=steps, seed=0)
            for seed in range(seeds):
                f_slice, f_rest = relearn_split(forget, seed)
                h_slice, h_rest = relearn_split(holdout, seed)
                got = []
                for texts, keep_f in (
                    ([forget.documents[i] for i in f_slice], True),
                    ([holdout.documents[i] for i in h_slice], False),
                ):
                    twin = copy.deepcopy(loaded.model)
                    with tempfile.TemporaryDirectory() as work:
                        relearn_in_memory(twin, loaded.tokenizer, texts, budget, "cpu", work)
                    subset = probes.without("forget", f_slice if keep_f else list(range(len(forget))))
                    if not keep_f:
                        subset = subset.without("holdout", h_slice)
                    got.append(
                        measure(twin, loaded.tokenizer, subset, settings, label=f"{label}-r{seed}", progress=False)
                    )
                    del twin
                attacks.append((got[0], got[1], f_rest, [h for h in h_rest if h in h_all]))
        rng = np.random.default_rng(0)
        old, new, old_att, new_att = [], [], [], []
        leaking: dict[str, int] = {}
        for k in range(sets):
            fd, fl = _draw(rng, forget.groups, f_all)
            hd, hl = _draw(rng, holdout.groups, h_all)
            sub = _subset(full, {"forget": fd, "holdout": hd})
            groups = {"forget": fl, "holdout": hl}
            old.append(old_verdict(sub, samples, k))
            new.append(new_verdict([(sub, groups, f"s{k}")], settings, leaking))
            if attacks:
                attacked, control, f_rest, h_rest = attacks[k % len(attacks)]
                afd, afl = _draw(rng, forget.groups, f_rest)
                ahd, ahl = _draw(rng, holdout.groups, h_rest)
                att_new = _subset(attacked, {"forget": afd})
                ctrl = _subset(control, {"holdout": ahd})
                att_new.per_doc["holdout"] = ctrl.per_doc.get("holdout", {})
                att_new.membership["holdout"] = ctrl.membership.get("holdout", {})
                new_att.append(
                    new_verdict([(sub, groups, f"s{k}"), (att_new, {"forget": afl, "holdout": ahl}, f"a{k}")], settings)
                )
                att_old = _subset(attacked, {"forget": afd, "holdout": hd})  # the attacked copy's own holdout
                old_att.append("leak" if "leak" in (old[-1], old_verdict(att_old, samples, k)) else old[-1])
        reading = None
        if scores is not None:
            reading = muse_reading(scores, muse_verdicts(scores, retrain_scores))
        rows.append(
            {
                "model": label,
                "muse_reading": reading,
                "sets": sets,
                "old": _rates(old),
                "new": _rates(new),
                "old_attack": _rates(old_att) if old_att else None,
                "new_attack": _rates(new_att) if new_att else None,
                "units": [len(set(forget.groups)), len(set(holdout.groups))],
                "leaking_probes": leaking,
            }
        )
        print(f"{label}: {rows[-1]} ({time.perf_counter() - start:.0f}s)", flush=True)
        del loaded
    out.mkdir(parents=True, exist_ok=True)
    (out / "resample.json").write_text(json.dumps(rows, indent=2))
    head = [
        "model",
        "MUSE reading",
        "before: leak %",
        "before: indistinguishable %",
        "after: leak %",
        "after: indistinguishable %",
        "after: inconclusive %",
        "after: below unseen %",
        f"relearn:{steps} before: leak %",
        f"relearn:{steps} after: leak %",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["model"],
            r["muse_reading"] or "(never trained on the corpus)",
            f"{r['old']['leak']:.0f}",
            f"{r['old']['indistinguishable']:.0f}",
            f"{r['new']['leak']:.0f}",
            f"{r['new']['indistinguishable']:.0f}",
            f"{r['new']['inconclusive']:.0f}",
            f"{r['new']['below_unseen']:.0f}",
            f"{r['old_attack']['leak']:.0f}" if r["old_attack"] else "",
            f"{r['new_attack']['leak']:.0f}" if r["new_attack"] else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (out / "resample.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
