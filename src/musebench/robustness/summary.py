"""``results.json["robustness"]``: the attacks' raw scores joined into recovery ratios (pure, no models).

Input: per model (``target``, ``retrain``, each method) and attack, what the attack stage returned:
``quantize-*`` and ``paraphrase`` give ``{"scores", "ci"}``, ``relearn-*`` gives ``{"before", "after"}`` (the
rest of the forget set) or ``{"skipped": why}``. Output: ``{"controls": {...}, "methods": {...}}`` where every
entry has the attacked ``scores`` / ``ci``, the unattacked ``baseline`` on the same probe, and for methods
the ``recovery`` per criterion and the ``measure`` C7 judges (relearning: ``excess`` over the retrain
control; otherwise ``recovery``).
"""

from __future__ import annotations

from typing import Any

from musebench.robustness.recovery import excess, kept, paraphrase_recovery, recoveries


def _shift(attacked: dict, baseline: dict) -> dict:
    return {k: round(v - baseline[k], 4) for k, v in attacked.items() if k in baseline}


def _control_entry(attack: str, run: dict, full: dict, para_base: float | None) -> dict:
    if "skipped" in run:
        return dict(run)
    if attack.startswith("relearn-"):
        entry = {"scores": run["after"]["scores"], "ci": run["after"]["ci"], "baseline": run["before"]["scores"]}
    else:
        base = {"knowmem_f": para_base} if attack == "paraphrase" else full
        entry = {"scores": run["scores"], "ci": run.get("ci", {}),
                 "baseline": {k: v for k, v in base.items() if k in run["scores"] and v is not None}}
    entry["shift"] = _shift(entry["scores"], entry["baseline"])
    return entry


def summarise(runs: dict[str, dict[str, Any]], selected: dict[str, dict], target_scores: dict,
              retrain_scores: dict) -> dict[str, Any]:
    """Controls and methods with recoveries; methods missing from ``selected`` are left out."""
    controls = {}
    for role, full in (("target", target_scores), ("retrain", retrain_scores)):
        if role in runs:
            controls[role] = {a: _control_entry(a, r, full, full.get("knowmem_f")) for a, r in runs[role].items()}
    methods = {}
    for name, info in selected.items():
        if name not in runs:
            continue
        unlearned = info["scores"]
        attacks = {}
        for attack, run in runs[name].items():
            if "skipped" in run:
                attacks[attack] = dict(run)
                continue
            if attack.startswith("quantize-"):
                entry = {"scores": run["scores"], "ci": run.get("ci", {}),
                         "baseline": {k: v for k, v in unlearned.items() if k in run["scores"]}}
                entry["recovery"] = recoveries(run["scores"], unlearned, target_scores)
                entry["measure"] = dict(entry["recovery"])
                entry["kept"] = {"knowmem_f": kept(run["scores"].get("knowmem_f"), target_scores.get("knowmem_f"))}
            elif attack.startswith("relearn-"):
                entry = {"scores": run["after"]["scores"], "ci": run["after"]["ci"],
                         "baseline": run["before"]["scores"]}
                t_run = runs.get("target", {}).get(attack, {})
                r_run = runs.get("retrain", {}).get(attack, {})
                t_before = t_run.get("before", {}).get("scores", {})
                entry["recovery"] = recoveries(entry["scores"], entry["baseline"], t_before)
                if "after" in r_run:
                    entry["control_recovery"] = recoveries(r_run["after"]["scores"], r_run["before"]["scores"],
                                                           t_before)
                    entry["excess"] = excess(entry["recovery"], entry["control_recovery"])
                    entry["measure"] = dict(entry["excess"])
                else:
                    entry["measure"] = dict(entry["recovery"])
            else:  # paraphrase
                p_u = run["scores"].get("knowmem_f")
                t_para = runs.get("target", {}).get("paraphrase", {}).get("scores", {}).get("knowmem_f")
                entry = {"scores": run["scores"], "ci": run.get("ci", {}),
                         "baseline": {"knowmem_f": unlearned.get("knowmem_f")}}
                ratio = None
                if None not in (p_u, t_para, unlearned.get("knowmem_f"), target_scores.get("knowmem_f")):
                    ratio = paraphrase_recovery(p_u, t_para, unlearned["knowmem_f"], target_scores["knowmem_f"])
                entry["recovery"] = {"knowmem_f": ratio}
                entry["measure"] = {"knowmem_f": ratio}
            attacks[attack] = entry
        methods[name] = {"checkpoint": info.get("checkpoint"),
                         "kept_full_precision": {"knowmem_f": kept(unlearned.get("knowmem_f"),
                                                                   target_scores.get("knowmem_f"))},
                         "attacks": attacks}
    return {"controls": controls, "methods": methods}
