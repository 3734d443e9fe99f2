"""PrivLeak's 95 % CI before and after issue 23, from a finished run's stored per-text scores (no model is run).

For the target, the retrain model and every method's selected checkpoint, from the headline Min-K% scores the
run stored (each eval stage's ``privleak_scores``, else its ``per_example.jsonl``):

- before: the rule until issue 23: the model's AUC resampled text by text, the measured retrain AUC held fixed;
- fixed, by unit: the same, whole people resampled (the corpus's ``tags/units.json``), retrain still fixed;
- after: today's rule (``musebench.evaluate.privacy.privleak_ci``): both models' scores resampled jointly, by
  person when the corpus labels its privacy texts;

and whether C3 (|PrivLeak| <= 5 %) can be decided at this sample size under each. The retrain row shows its own
AUC's CI as PrivLeak (a model scoring exactly like the retrain model, judged against a re-measured retrain AUC).

    python benchmarks/privleak_ci.py RUN_DIR [--samples N] [--seed S] [--tolerance 5]

RUN_DIR: a run directory (``results.json``), or a folder of runs (``musebench demo --out``): each is read.
Defaults: the run's own bootstrap samples and seed, so "after" reproduces the CI in ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

STAGES = "stages"


@dataclass(frozen=True)
class Scores:
    """One model's headline per-text scores (lower = member), forget and holdout privacy texts, in file order."""

    forget: list[float]
    holdout: list[float]
    source: str  # where they were read


def _stage_results(run: Path) -> dict[str, dict]:
    """stage name -> its stored result (every ``stages/*.json`` with a name and a result)."""
    out = {}
    for path in sorted((run / STAGES).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("name"), str) and isinstance(doc.get("result"), dict):
            out[doc["name"]] = doc["result"]
    return out


def _from_per_example(folder: Path, headline: str | None) -> Scores | None:
    """The scores in ``folder/per_example.jsonl`` (headline from ``summary.json`` when not given)."""
    rows_file = folder / "per_example.jsonl"
    if not rows_file.is_file():
        return None
    if headline is None:
        try:
            headline = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["privacy"]["headline_attack"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            return None
    split: dict[str, list[float]] = {"forget": [], "holdout": []}
    for line in rows_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("criterion") == "privleak" and row.get("split") in split:
            split[row["split"]].append(float(row["scores"][headline]))
    if not split["forget"] or not split["holdout"]:
        return None
    return Scores(split["forget"], split["holdout"], str(rows_file))


def find_scores(run: Path, names: list[str], stages: dict[str, dict], headline: str | None) -> Scores | None:
    """The first of the stage ``names`` with per-text PrivLeak scores: from the stage file, else from the
    evaluation folder the stage wrote (``RUN/<stage name>/per_example.jsonl``)."""
    for name in names:
        stored = (stages.get(name) or {}).get("privleak_scores")
        if isinstance(stored, dict) and stored.get("forget") and stored.get("holdout"):
            return Scores([float(x) for x in stored["forget"]], [float(x) for x in stored["holdout"]], name)
        found = _from_per_example(run / name, headline)
        if found is not None:
            return found
    return None


def _units(run: Path, results) -> tuple[list | None, list | None, str]:
    """The unit label of every forget / holdout privacy text, from the run's corpus (None: texts)."""
    from musebench.data import load_corpus
    from musebench.errors import MusebenchError

    for where in (run / "data", (results.corpus or {}).get("source")):
        if where and Path(where).is_dir():
            try:
                corpus = load_corpus(where)
            except MusebenchError:
                continue
            f, h = corpus.unit_labels("privleak_forget"), corpus.unit_labels("privleak_holdout")
            if f is not None and h is not None:
                return f, h, f"{corpus.unit_name} ({len(set(f))} + {len(set(h))})"
            return None, None, "text (the corpus labels no units)"
    return None, None, "text (the run's corpus was not found)"


def c3_call(value: float | None, ci: list[float] | None, tolerance: float) -> str:
    """C3 under the report's rule: not resolvable when the CI is wider than the band and not wholly outside."""
    from musebench.evaluate.privacy import c3_resolution_note

    if value is None:
        return "n/a"
    if c3_resolution_note(ci, tolerance) is not None:
        return "not resolvable"
    return "met" if abs(value) <= tolerance else "not met"


def _fmt_ci(ci: list[float] | None) -> str:
    return "n/a" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}]"


def _width(ci: list[float] | None) -> str:
    return "n/a" if not ci else f"{ci[1] - ci[0]:.1f}"


def model_row(
    name: str,
    model: Scores,
    retrain: Scores | None,
    retrain_auc: float,
    units: tuple[list | None, list | None],
    samples: int,
    seed: int,
    tolerance: float,
    is_retrain: bool = False,
) -> dict:
    """PrivLeak and its three CIs for one model (``retrain``: the retrain model's scores, None for a constant)."""
    from musebench.evaluate.bootstrap import bootstrap_ci
    from musebench.evaluate.metrics import auc, auc_by_ranks, privleak
    from musebench.evaluate.privacy import MeasuredAUC, privleak_ci

    value = auc(model.forget, model.holdout)
    groups = [(model.forget,), (model.holdout,)]
    auc_texts = bootstrap_ci(auc_by_ranks, groups, samples, seed, name="auc")
    auc_units = bootstrap_ci(auc_by_ranks, groups, samples, seed, name="auc", clusters=list(units))

    def as_privleak(ci):
        return None if ci is None else [privleak(v, retrain_auc) for v in ci]

    before, fixed_by_unit = as_privleak(auc_texts), as_privleak(auc_units)
    if is_retrain or retrain is None:
        # the retrain row: its own AUC's uncertainty; a constant retrain AUC: the code maps the AUC's CI
        after = fixed_by_unit
    else:
        measured = MeasuredAUC(retrain.forget, retrain.holdout, retrain_auc)
        after = privleak_ci(model.forget, model.holdout, measured, samples, seed, clusters=list(units))
    point = privleak(value, retrain_auc)
    return {
        "model": name,
        "auc": value,
        "auc_ci": auc_units,
        "privleak": point,
        "before": before,
        "fixed_by_unit": fixed_by_unit,
        "after": after,
        "c3_before": c3_call(point, before, tolerance),
        "c3_after": c3_call(point, after, tolerance),
        "source": model.source,
    }


def run_rows(run: Path, samples: int | None, seed: int | None, tolerance: float) -> tuple[list[dict], dict]:
    """Every row of one run, and what they were computed with (``info``)."""
    from musebench.results import load_results

    results = load_results(run, complete=False)
    settings = (results.provenance or {}).get("eval_settings") or {}
    own = (int(settings.get("bootstrap_samples", 1000)), int(settings.get("seed", 0)))
    samples = own[0] if samples is None else int(samples)
    seed = own[1] if seed is None else int(seed)
    headline = f"mink_{float(settings.get('mink_k', 40.0)):g}"
    stages = _stage_results(run)
    f_units, h_units, unit = _units(run, results)
    retrain = find_scores(run, ["eval/retrain"], stages, headline)
    target = find_scores(run, ["eval/target"], stages, headline)
    retrain_auc = results.retrain_auc
    if retrain_auc is None and retrain is not None:
        from musebench.evaluate.metrics import auc

        retrain_auc = auc(retrain.forget, retrain.holdout)
    if retrain_auc is None:
        raise ValueError("no retrain AUC in results.json and no retrain scores: PrivLeak is undefined")
    measured = retrain is not None and "measured" in (results.retrain_auc_source or "measured")
    models: list[tuple[str, Scores | None, bool]] = [("target", target, False), ("retrain", retrain, True)]
    for name, method in results.methods.items():
        stage = f"methods/{name}/eval/{method.selected}"
        models.append(
            (f"{name} ({method.selected})", find_scores(run, [f"{stage}/all", stage], stages, headline), False)
        )
    rows, missing = [], []
    for name, scores, is_retrain in models:
        if scores is None:
            missing.append(name)
            continue
        rows.append(
            model_row(
                name,
                scores,
                retrain if measured else None,
                float(retrain_auc),
                (f_units, h_units),
                samples,
                seed,
                tolerance,
                is_retrain=is_retrain,
            )
        )
    stored = {"target": results.target}
    stored.update({f"{n} ({m.selected})": m.selected_checkpoint for n, m in results.methods.items()})
    same = [
        r["model"]
        for r in rows
        if r["model"] in stored
        and stored[r["model"]] is not None
        and r["after"] is not None
        and stored[r["model"]].ci.get("privleak") is not None
        and all(abs(a - b) < 1e-6 for a, b in zip(r["after"], stored[r["model"]].ci["privleak"]))
    ]
    info = {
        "name": results.name,
        "samples": samples,
        "seed": seed,
        "unit": unit,
        "texts": (len(retrain.forget), len(retrain.holdout)) if retrain else None,
        "retrain_auc": float(retrain_auc),
        "retrain_source": results.retrain_auc_source,
        "missing": missing,
        "matches_results": same,
        # the stored CIs were drawn with the run's own samples and seed: compared only then
        "compared": [r["model"] for r in rows if r["model"] in stored] if (samples, seed) == own else [],
    }
    return rows, info


HEADER = [
    "model",
    "Min-K% AUC [CI by unit]",
    "PrivLeak",
    "before: retrain fixed, by text",
    "retrain fixed, by unit",
    "after: joint, by unit",
    "width before / after",
    "C3 before",
    "C3 after",
]


def _table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def markdown(rows: list[dict], info: dict, tolerance: float) -> str:
    """One run's table and the lines that say what it was computed with."""
    lines = [
        _table(
            HEADER,
            [
                [
                    r["model"],
                    f"{r['auc']:.3f} "
                    + ("n/a" if not r["auc_ci"] else f"[{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}]"),
                    f"{r['privleak']:+.1f}",
                    _fmt_ci(r["before"]),
                    _fmt_ci(r["fixed_by_unit"]),
                    _fmt_ci(r["after"]),
                    f"{_width(r['before'])} / {_width(r['after'])}",
                    r["c3_before"],
                    r["c3_after"],
                ]
                for r in rows
            ],
        ),
        "",
        f"Run `{info['name']}`: {info['texts'][0] if info['texts'] else '?'} forget + "
        f"{info['texts'][1] if info['texts'] else '?'} holdout privacy texts, resampled by {info['unit']}; "
        f"retrain AUC {info['retrain_auc']:.4f} ({info['retrain_source']}); {info['samples']} bootstrap "
        f"resamples, seed {info['seed']}; C3 band ±{tolerance:g}. The retrain row's CIs are its own AUC's "
        "uncertainty expressed as PrivLeak ('after' has no second model to resample there).",
    ]
    if info["compared"]:
        lines.append(
            f"'after' equals the CI stored in results.json for {len(info['matches_results'])} of "
            f"{len(info['compared'])} models ({', '.join(info['matches_results']) or 'none'})."
        )
    if info["missing"]:
        lines.append(f"No stored per-text scores found for: {', '.join(info['missing'])}.")
    return "\n".join(lines)


def run_dirs(path: Path) -> list[Path]:
    """``path`` itself when it holds results.json, else every folder below it (two levels) that does."""
    if path.is_file():
        return [path.parent]
    if (path / "results.json").is_file():
        return [path]
    found = [*path.glob("*/results.json"), *path.glob("*/*/results.json")]
    # a run folder has its stages (a report folder's results.json is the report's table data, not a run)
    return sorted({p.parent for p in found if (p.parent / STAGES).is_dir() or (p.parent / "eval").is_dir()})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory, or a folder of runs")
    p.add_argument("--samples", type=int, default=None, help="bootstrap resamples (default: the run's own)")
    p.add_argument("--seed", type=int, default=None, help="bootstrap seed (default: the run's own)")
    p.add_argument("--tolerance", type=float, default=5.0, help="C3's band in PrivLeak %% (default 5)")
    args = p.parse_args(argv)
    from musebench.errors import MusebenchError

    runs = run_dirs(Path(args.run_dir))
    if not runs:
        print(f"error: {args.run_dir}: no results.json here or in the folders below it", file=sys.stderr)
        return 2
    done = 0
    for run in runs:  # a run that cannot be read is named and skipped; the others are still printed
        try:
            rows, info = run_rows(run, args.samples, args.seed, args.tolerance)
        except (MusebenchError, ValueError) as err:
            print(f"error: {run}: {err}", file=sys.stderr)
            continue
        print(f"## {run.name}\n\n{markdown(rows, info, args.tolerance)}\n")
        done += 1
    return 0 if done else 2


if __name__ == "__main__":
    sys.exit(main())
