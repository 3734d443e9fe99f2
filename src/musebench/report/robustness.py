"""C7 in the report: the robustness table (model x attack x criterion) and the recovery bar chart.

Everything comes from ``results.json["robustness"]`` (``musebench.results.Robustness``): the
attacked scores with their bootstrap CIs, the unattacked score on the same probe, and for methods the
recovery ratio and the ``measure`` C7 judges (relearning: beyond the retrain control).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.figure import Figure

from musebench.criteria import title
from musebench.results import Robustness
from musebench.schema import read_renamed

ATTACK_COLORS = ("#4575b4", "#91bfdb", "#313695", "#d73027", "#fc8d59", "#7b3294")


@dataclass(frozen=True)
class RobustnessRow:
    model: str
    kind: str  # "target", "retrain" (controls) or "method"
    attack: str
    criterion: str
    attacked: float
    ci: tuple[float, float] | None
    unattacked: float | None
    recovery: float | None  # methods: recovery ratio; controls: None
    beyond_control: float | None  # relearning: recovery minus the retrain model's
    skipped: str | None = None
    title: str = ""  # the attack's name on the page (``Robustness.title``)


def robustness_rows(doc: Robustness) -> list[RobustnessRow]:
    """Controls first (target, retrain), then methods; one row per attack and criterion."""
    rows: list[RobustnessRow] = []
    blocks = [(m, m, attacks) for m, attacks in doc.controls.items()]
    blocks += [(m, "method", r.attacks) for m, r in doc.methods.items()]
    for model, kind, attacks in blocks:
        for attack, entry in attacks.items():
            if entry.skipped is not None:
                rows.append(
                    RobustnessRow(
                        model,
                        kind,
                        attack,
                        "",
                        math.nan,
                        None,
                        None,
                        None,
                        None,
                        skipped=entry.skipped,
                        title=doc.title(attack),
                    )
                )
                continue
            for key, value in entry.scores.items():
                if key == "auc":
                    continue
                rows.append(
                    RobustnessRow(
                        model,
                        kind,
                        attack,
                        key,
                        float(value),
                        (entry.ci or {}).get(key),
                        (entry.baseline or {}).get(key),
                        (entry.recovery or {}).get(key),
                        (entry.excess or {}).get(key),
                        title=doc.title(attack),
                    )
                )
    return rows


def c7_measures(doc: Robustness, method: str, key: str = "knowmem_f") -> dict[str, float | None]:
    """attack -> the number C7 judges for ``method`` (None: undefined, e.g. nothing was forgotten)."""
    entry = doc.methods.get(method)
    return entry.measures(key) if entry is not None else {}


JUDGED = "judged"
NOTE = (
    "recovery = (attacked - unlearned) / (target - unlearned) on the same probe. Relearning is scored on the "
    "forget records the slice does not cover, and nets out the retrain model's gain on the same records: "
    "excess = (method's gain - retrain's gain) / (target - method before), in points. Quantization nets out "
    "nothing (the quantized target's shift is the control row); rephrasing normalises each question set by "
    "the target's score. C7 reads the 95 % paired bootstrap CI (questions resampled, before and after "
    "together): met when every attack's upper bound is within the limit, not met when some lower bound "
    "exceeds it, inconclusive otherwise. 'too small to judge': the gap to the target is within 2 standard "
    "errors of the per-question gap's mean (one question moves a 25-question KnowMem by 4 points)."
)


def c7_judgements(doc: Robustness, method: str) -> dict[str, dict]:
    """attack -> the judgement C7 reads for ``method`` (KnowMem-f, else VerbMem-f); skipped attacks left out.

    Entries written before judgements existed get ``status`` "no per-question scores" (rerun the attacks).
    """
    entry = doc.methods.get(method)
    out: dict[str, dict] = {}
    for attack, e in entry.attacks.items() if entry is not None else ():
        if e.skipped is not None:
            continue
        found = e.judgement()
        if found is None:
            out[attack] = {
                "status": "no per-question scores",
                "value": (e.measure or {}).get("knowmem_f"),
                "ci": None,
                "criterion": "knowmem_f",
            }
        else:
            out[attack] = {**found[1], "criterion": found[0]}
    return out


def c7_outcome(judged: dict[str, dict], limit: float) -> tuple[str, dict[str, list[str]]]:
    """met (every attack judged, upper bound <= limit), not met (some lower bound > limit), or inconclusive;
    with the attacks by outcome (``open``: CI straddles the limit; ``not judged``: no CI)."""
    by: dict[str, list[str]] = {"met": [], "not met": [], "open": [], "not judged": []}
    for attack, j in judged.items():
        if j.get("status") != JUDGED or j.get("ci") is None:
            by["not judged"].append(attack)
        elif j["ci"][0] > limit:
            by["not met"].append(attack)
        elif j["ci"][1] <= limit:
            by["met"].append(attack)
        else:
            by["open"].append(attack)
    if by["not met"]:
        return "not met", by
    if by["met"] and not by["open"] and not by["not judged"]:
        return "met", by
    return "inconclusive", by


C7_HEADER = [
    "method",
    "attack",
    "criterion",
    "ratio [95 % CI]",
    "gap / noise (points, n)",
    "judged",
    "control netted out",
    "C7",
]


def c7_rows(doc: Robustness, limit: float) -> list[list[str]]:
    """One line per method and attack: the ratio C7 reads, its CI, the gap against its noise floor, the
    attack's outcome, and (on each method's first line) the method's three-valued C7."""
    rows = []
    for method in doc.methods:
        judged = c7_judgements(doc, method)
        status, by = c7_outcome(judged, limit)
        outcome = {a: k for k, attacks in by.items() for a in attacks}
        for i, (attack, j) in enumerate(judged.items()):
            ratio = format_ratio(j.get("value"))
            if j.get("ci"):
                ratio += f" [{j['ci'][0] * 100:+.0f}, {j['ci'][1] * 100:+.0f}] %"
            gap = (
                f"{j['gap']:.1f} / {j['noise']:.1f} (n={j['n']})"
                if j.get("gap") is not None and j.get("noise") is not None
                else ""
            )
            said = {"met": "within limit", "not met": "over limit", "open": "CI straddles limit"}.get(
                outcome[attack], j.get("status", "not judged")
            )
            rows.append(
                [
                    method if i == 0 else "",
                    doc.title(attack),
                    title(j.get("criterion", "knowmem_f")),
                    ratio,
                    gap,
                    said,
                    j.get("control", ""),
                    status if i == 0 else "",
                ]
            )
    return rows


#: The recovery chart's axis (percent): readable for the usual -100 .. +100 %; a bar beyond is drawn to the edge
#: and labelled with its value, so one outlier (a recovery of -1167 % when almost nothing was forgotten) does
#: not flatten every other bar.
RECOVERY_AXIS = (-100.0, 150.0)


def clip_recovery(value: float, axis: tuple[float, float] = RECOVERY_AXIS) -> tuple[float, bool]:
    """``(height drawn, clipped?)`` for a recovery in percent."""
    low, high = axis
    return min(max(value, low), high), not low <= value <= high


def recovery_figure(doc: Robustness, limit: float) -> Figure | None:
    """Grouped bars: per method, the KnowMem-f recovery of each attack; the dashed line is C7's limit. The axis
    is clipped to ``RECOVERY_AXIS`` (widened to show the limit); clipped bars are hatched and labelled."""
    methods = list(doc.methods)
    attacks = list(dict.fromkeys(a for m in methods for a in c7_measures(doc, m)))
    if not methods or not attacks:
        return None
    axis = (RECOVERY_AXIS[0], max(RECOVERY_AXIS[1], 100 * limit * 1.5))
    fig = Figure(figsize=(max(6.0, 0.9 * len(methods) * max(1, len(attacks)) / 2.5 + 2), 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(attacks)
    for j, attack in enumerate(attacks):
        xs, ys, clipped = [], [], []
        for i, m in enumerate(methods):
            value = c7_measures(doc, m).get(attack)
            x = i - 0.4 + width * (j + 0.5)
            if value is None:
                ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=6, rotation=90, color="#777777")
                continue
            height, cut = clip_recovery(100 * value, axis)
            xs.append(x)
            ys.append(height)
            if cut:
                clipped.append((x, height, 100 * value))
        color = ATTACK_COLORS[j % len(ATTACK_COLORS)]
        ax.bar(xs, ys, width=width, color=color, label=doc.title(attack))
        for x, height, value in clipped:
            ax.bar([x], [height], width=width, color=color, hatch="///", edgecolor="white", linewidth=0)
            ax.text(
                x,
                height * 0.96,
                f"{value:+.0f} %",
                ha="center",
                va="top" if height > 0 else "bottom",
                fontsize=6,
                rotation=90,
                color="#111111",
                backgroundcolor="#ffffffcc",
            )
    ax.axhline(100 * limit, color="#d95f02", linestyle="--", linewidth=1.2, label=f"C7 limit {limit:.0%}")
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.set_ylim(axis[0] * 1.05, axis[1] * 1.05)
    ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"KnowMem-f recovery (%, clipped to {axis[0]:+.0f}..{axis[1]:+.0f})")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.set_title("How much forgotten knowledge each attack brings back", fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.24, top=0.9)
    return fig


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.0f} %"


def _score(value: float | None, key: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}" if key == "privleak" else f"{value:.1f}"


TABLE_HEADER = ["model", "attack", "criterion", "attacked [CI]", "unattacked", "recovery", "excess over retrain's gain"]


def table_cells(row: RobustnessRow) -> list[str]:
    """The cells of one robustness-table line (shared by Markdown and HTML)."""
    if row.skipped:
        return [row.model, row.title or row.attack, "", row.skipped, "", "", ""]
    attacked = _score(row.attacked, row.criterion)
    if row.ci:
        attacked += f" [{_score(row.ci[0], row.criterion)}, {_score(row.ci[1], row.criterion)}]"
    recovery = format_ratio(row.recovery) if row.kind == "method" else "(control)"
    beyond = format_ratio(row.beyond_control) if row.attack.startswith("relearn-") and row.kind == "method" else ""
    return [
        row.model,
        row.title or row.attack,
        title(row.criterion),
        attacked,
        _score(row.unattacked, row.criterion),
        recovery,
        beyond,
    ]


def describe_settings(doc: Robustness) -> list[str]:
    """Lines saying what was attacked how (schemes, relearning budget and split, notes)."""
    settings = doc.settings or {}
    lines = []
    if settings.get("quantize"):
        lines.append("quantization (bitsandbytes via BitsAndBytesConfig): " + ", ".join(settings["quantize"]))
    relearn = read_renamed("RelearnBudget", settings.get("relearn") or {}, "robustness.settings.relearn")
    if relearn.get("on"):
        lines.append(
            f"relearning on {', '.join(relearn['on'])}: {relearn.get('steps')} steps of "
            f"{relearn.get('batch_size')} documents at lr {relearn.get('learning_rate')}, slice = "
            f"{relearn.get('fraction')} of the forget set"
        )
    if settings.get("paraphrase"):
        lines.append("rephrased probe: KnowMem-f on knowmem/forget_qa_paraphrase.json")
    return lines + list(doc.notes or ())
