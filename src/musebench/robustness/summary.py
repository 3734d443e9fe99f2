"""``results.json["robustness"]``: the attacks' raw scores joined into recovery ratios (pure, no models).

Input: per model (``target``, ``retrain``, each method) and attack, what the attack stage returned:
``quantize-*`` and ``paraphrase`` give ``{"scores", "ci", "items"}``, ``relearn-*`` gives ``{"before",
"after"}`` (the rest of the forget set, each with its ``items``) or ``{"skipped": why}``; ``items`` are the
per-question (per-record) scores, and ``baseline_items`` the same for the unattacked models. Output:
``{"controls": {...}, "methods": {...}}`` where every entry has the attacked ``scores`` / ``ci``, the
unattacked ``baseline`` on the same probe, and for methods the point ``recovery`` per criterion, the
``measure`` C7 judges (relearning: the ``excess`` beyond the retrain control's gain) and ``judged``: per
criterion the ratio with its paired bootstrap CI, the gap, its noise floor, and whether it can be judged.
"""

from __future__ import annotations

from typing import Any

from musebench.robustness.recovery import excess, judge, kept, paraphrase_recovery, recoveries
from musebench.robustness.registry import attack_of

#: The criteria C7 judges, in order: KnowMem-f, and VerbMem-f where an attack measures no KnowMem-f.
JUDGED_KEYS = ("knowmem_f", "verbmem_f")


def _shift(attacked: dict, baseline: dict) -> dict:
    return {k: round(v - baseline[k], 4) for k, v in attacked.items() if k in baseline}


def _items(run: dict | None, key: str):
    return ((run or {}).get("items") or {}).get(key)


def measured_as(stage: str) -> str:
    """Which of C7's three measures a stage's attack takes (``registry.Attack.measured_as``)."""
    found = attack_of(stage)
    return found[0].measured_as if found else "quantize"


def _control_entry(attack: str, run: dict, full: dict, para_base: float | None) -> dict:
    if "skipped" in run:
        return dict(run)
    if measured_as(attack) == "relearn":
        entry = {"scores": run["after"]["scores"], "ci": run["after"]["ci"], "baseline": run["before"]["scores"]}
    else:
        base = {"knowmem_f": para_base} if measured_as(attack) == "paraphrase" else full
        entry = {
            "scores": run["scores"],
            "ci": run.get("ci", {}),
            "baseline": {k: v for k, v in base.items() if k in run["scores"] and v is not None},
        }
    entry["shift"] = _shift(entry["scores"], entry["baseline"])
    return entry


def _judge_all(kind: str, groups: dict[str, list[dict]], seed: int, name: str) -> dict:
    """criterion -> ``judge`` of its per-question vectors; the gap is always target (T) - unlearned (U / B)."""
    gap = ("T", "B") if kind == "relearn" else ("T", "U")
    return {key: judge(kind, g, gap, seed=seed, name=f"{name}:{key}") for key, g in groups.items()}


def summarise(
    runs: dict[str, dict[str, Any]],
    selected: dict[str, dict],
    target_scores: dict,
    retrain_scores: dict,
    baseline_items: dict[str, dict] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Controls and methods with recoveries; methods missing from ``selected`` are left out."""
    baseline_items = baseline_items or {}
    target_items = baseline_items.get("target", {})
    controls = {}
    for role, full in (("target", target_scores), ("retrain", retrain_scores)):
        if role in runs:
            controls[role] = {a: _control_entry(a, r, full, full.get("knowmem_f")) for a, r in runs[role].items()}
    methods = {}
    for name, info in selected.items():
        if name not in runs:
            continue
        unlearned = info["scores"]
        own_items = baseline_items.get(name, {})
        attacks = {}
        for attack, run in runs[name].items():
            if "skipped" in run:
                attacks[attack] = dict(run)
                continue
            tag = f"{name}/{attack}"
            if measured_as(attack) == "quantize":
                entry = {
                    "scores": run["scores"],
                    "ci": run.get("ci", {}),
                    "baseline": {k: v for k, v in unlearned.items() if k in run["scores"]},
                }
                entry["recovery"] = recoveries(run["scores"], unlearned, target_scores)
                entry["measure"] = dict(entry["recovery"])
                entry["kept"] = {"knowmem_f": kept(run["scores"].get("knowmem_f"), target_scores.get("knowmem_f"))}
                keys = [k for k in JUDGED_KEYS if k in run["scores"] and k in unlearned]
                entry["judged"] = _judge_all(
                    "quantize",
                    {k: [{"A": _items(run, k), "U": own_items.get(k), "T": target_items.get(k)}] for k in keys},
                    seed,
                    tag,
                )
            elif measured_as(attack) == "relearn":
                entry = {
                    "scores": run["after"]["scores"],
                    "ci": run["after"]["ci"],
                    "baseline": run["before"]["scores"],
                }
                t_run = runs.get("target", {}).get(attack, {})
                r_run = runs.get("retrain", {}).get(attack, {})
                t_before = t_run.get("before", {}).get("scores", {})
                entry["recovery"] = recoveries(entry["scores"], entry["baseline"], t_before)
                keys = [k for k in JUDGED_KEYS if k in entry["scores"]]
                if "after" in r_run:
                    entry["control_gain"] = _shift(r_run["after"]["scores"], r_run["before"]["scores"])
                    entry["excess"] = excess(
                        entry["scores"],
                        entry["baseline"],
                        r_run["after"]["scores"],
                        r_run["before"]["scores"],
                        t_before,
                    )
                    entry["measure"] = dict(entry["excess"])
                    entry["judged"] = _judge_all(
                        "relearn",
                        {
                            k: [
                                {
                                    "A": _items(run["after"], k),
                                    "B": _items(run["before"], k),
                                    "CA": _items(r_run["after"], k),
                                    "CB": _items(r_run["before"], k),
                                    "T": _items(t_run.get("before"), k),
                                }
                            ]
                            for k in keys
                        },
                        seed,
                        tag,
                    )
                else:  # no control: the point recovery is shown, C7 cannot judge it
                    entry["measure"] = dict(entry["recovery"])
                    entry["judged"] = {
                        k: {
                            "status": "no retrain control",
                            "value": None,
                            "ci": None,
                            "control": "missing: the retrain model was not relearned",
                        }
                        for k in keys
                    }
            else:  # paraphrase
                p_u = run["scores"].get("knowmem_f")
                t_para_run = runs.get("target", {}).get(attack, {})
                t_para = t_para_run.get("scores", {}).get("knowmem_f")
                entry = {
                    "scores": run["scores"],
                    "ci": run.get("ci", {}),
                    "baseline": {"knowmem_f": unlearned.get("knowmem_f")},
                }
                ratio = None
                if None not in (p_u, t_para, unlearned.get("knowmem_f"), target_scores.get("knowmem_f")):
                    ratio = paraphrase_recovery(p_u, t_para, unlearned["knowmem_f"], target_scores["knowmem_f"])
                entry["recovery"] = {"knowmem_f": ratio}
                entry["measure"] = {"knowmem_f": ratio}
                k = "knowmem_f"
                entry["judged"] = _judge_all(
                    "paraphrase",
                    {
                        k: [
                            {"U": own_items.get(k), "T": target_items.get(k)},
                            {"PU": _items(run, k), "PT": _items(t_para_run, k)},
                        ]
                    },
                    seed,
                    tag,
                )
            attacks[attack] = entry
        methods[name] = {
            "checkpoint": info.get("checkpoint"),
            "kept_full_precision": {"knowmem_f": kept(unlearned.get("knowmem_f"), target_scores.get("knowmem_f"))},
            "attacks": attacks,
        }
    return {"controls": controls, "methods": methods}
