"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state).

Each figure is saved as a PNG under ``plots/`` and described by a ``Plot`` (file, title, caption), which the
HTML and Markdown pages embed. Absent data is drawn as "not run", never as zeros.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib; the report never opens a window

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from musebench.criteria import FOLLOW_UPS, SCORES, criterion_of
from musebench.report.tables import Tables
from musebench.results import MethodResult, ScalabilityFold, Scored, SustainabilityRequest

PANEL_ORDER = ("knowmem_f", "verbmem_f", "knowmem_r", "privleak")
TITLES = {key: SCORES[key].plot_title for key in PANEL_ORDER}
TARGET_STYLE = {"color": "#444444", "linestyle": ":", "linewidth": 1.4}
RETRAIN_STYLE = {"color": "#1a9850", "linestyle": "--", "linewidth": 1.6}
FLOOR_STYLE = {"color": "#d95f02", "linestyle": "-.", "linewidth": 1.3}
BAND_COLOR = "#b8e186"
#: One colour per method, none of them the target's grey or the retrain's green; 12 so that the demo's ten
#: methods (and a couple of the user's own) never share one.
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#ff7f0e",
    "#393b79",
    "#e7969c",
    "#843c39",
    "#6b6ecf",
)
DPI = 100
#: Fixed margins for the 2 x 2 panel figures (a layout engine would cost a second full draw per figure).
PANEL_GRID = {"left": 0.06, "right": 0.98, "bottom": 0.08, "top": 0.9, "hspace": 0.42, "wspace": 0.16}


def method_colors(methods) -> dict[str, str]:
    """A fixed colour per method, in the run's method order (the same method, the same colour in every plot)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(methods)}


@dataclass(frozen=True)
class Plot:
    """One saved figure: ``filename`` is relative to the report directory."""

    key: str
    filename: str
    title: str
    caption: str


def render_plots(tables: Tables, out_dir: Path) -> list[Plot]:
    """Draw every figure the results allow into ``out_dir/plots`` and return them in page order."""
    plot_dir = Path(out_dir) / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    colors = method_colors(tables.results.methods)
    plots = [
        _save(
            plot_dir,
            "tradeoff",
            _tradeoff(tables, colors),
            "Forget vs utility",
            "KnowMem on the forget set against KnowMem on the retain set. Faint paths follow each "
            "method's checkpoints; the large marker is the selected one. The shaded corner is where "
            "the retrain model's forgetting and the utility rule (C4) both hold.",
        ),
        _save(
            plot_dir,
            "privleak",
            _privleak_bars(tables),
            "Privacy leakage",
            f"PrivLeak of each model (selected checkpoints). The band is the C3 tolerance "
            f"±{tables.rules.privleak_tolerance:g} %; negative = still looks trained on the forget "
            f"set, positive = over-unlearned.",
        ),
    ]
    if tables.results.robustness is not None:
        from musebench.report.robustness import recovery_figure

        fig = recovery_figure(tables.results.robustness, tables.rules.recovery_limit)
        if fig is not None:
            plots.append(
                _save(
                    plot_dir,
                    "recovery",
                    fig,
                    "C7 recovery under attack",
                    "Share of the forgotten KnowMem-f each attack brings back, per method (selected "
                    "checkpoint); relearning net of the retrain model's own gain. Above the dashed "
                    "line C7 is not met; n/a: nothing was forgotten to recover. The axis is clipped to "
                    "-100..+150 %: a hatched bar runs past it and is labelled with its value.",
                )
            )
    for name, method in tables.results.methods.items():
        plots.append(
            _save(
                plot_dir,
                f"curves-{_slug(name)}",
                _method_curves(tables, method, colors[name]),
                f"{name}: scores per checkpoint",
                f"Scores of {name} after each {_axis_name(method)}; dashed green = retrain, dotted "
                f"grey = target, dash-dot orange = utility floor; the ringed point is the selected "
                f"checkpoint ({method.selected}).",
            )
        )
    for kind in FOLLOW_UPS:
        title = f"{criterion_of(kind).code} {criterion_of(kind).name.lower()}"
        figure = _fold_curves(tables, kind, colors)
        if figure is not None:
            ran = [n for n, m in tables.results.methods.items() if getattr(m, kind)]
            missing = [n for n in tables.results.methods if n not in ran]
            x_what = "forget-set size" if kind == "scalability" else "number of unlearning requests"
            caption = f"Scores of the selected checkpoint against the {x_what}."
            if missing:
                caption += f" Not run for: {', '.join(missing)}."
            plots.append(_save(plot_dir, kind, figure, title, caption))
    return plots


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _save(plot_dir: Path, key: str, fig: Figure, title: str, caption: str) -> Plot:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "musebench"})
    (plot_dir / f"{key}.png").write_bytes(buffer.getvalue())
    return Plot(key, f"plots/{key}.png", title, caption)


def _label_parts(label: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"([A-Za-z_]+)[-_]?([0-9.]+)", label)
    return (match.group(1), match.group(2)) if match else None


def _axis_name(method: MethodResult) -> str:
    kinds = {(_label_parts(c.label) or ("checkpoint", ""))[0] for c in method.checkpoints}
    return kinds.pop() if len(kinds) == 1 else "checkpoint"


def _not_run(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, fontsize=12, color="#888888")
    ax.set_xticks([])
    ax.set_yticks([])


def _references(ax: Axes, tables: Tables, key: str, legend: bool) -> None:
    """Retrain (and target) levels, the utility floor, or the PrivLeak tolerance band."""
    results, rules = tables.results, tables.rules
    if key == "privleak":
        tol = rules.privleak_tolerance
        ax.axhspan(-tol, tol, color=BAND_COLOR, alpha=0.5, label=f"±{tol:g} % (C3)" if legend else None)
        ax.axhline(0.0, **RETRAIN_STYLE, label="retrain" if legend else None)
        return
    if results.retrain.get(key) is not None:
        ax.axhline(results.retrain.scores[key], **RETRAIN_STYLE, label="retrain" if legend else None)
    if results.target.get(key) is not None:
        ax.axhline(results.target.scores[key], **TARGET_STYLE, label="target" if legend else None)
    if key == "knowmem_r" and results.target.get("knowmem_r") is not None:
        floor = rules.utility_fraction * results.target.scores["knowmem_r"]
        ax.axhline(floor, **FLOOR_STYLE, label=f"{rules.utility_fraction * 100:g} % of target" if legend else None)


def _series(points: Sequence[Scored], key: str) -> tuple[list[int], list[float]]:
    xs = [i for i, p in enumerate(points) if p.get(key) is not None]
    return xs, [points[i].scores[key] for i in xs]


def _method_curves(tables: Tables, method: MethodResult, color: str) -> Figure:
    fig = Figure(figsize=(10, 6.4))
    axes = fig.subplots(2, 2, gridspec_kw=PANEL_GRID)
    fig.suptitle(f"{method.name}: criteria over {_axis_name(method)}s", fontsize=12)
    ticks = [(_label_parts(c.label) or ("", c.label))[1] for c in method.checkpoints]
    chosen = next(i for i, c in enumerate(method.checkpoints) if c.label == method.selected)
    for n, (ax, key) in enumerate(zip(axes.flat, PANEL_ORDER)):
        xs, ys = _series(method.checkpoints, key)
        if not xs:
            _not_run(ax, TITLES[key])
            continue
        _references(ax, tables, key, legend=True)
        ax.plot(xs, ys, marker="o", color=color, label=method.name)
        if chosen in xs:
            ax.plot(
                [chosen],
                [method.checkpoints[chosen].scores[key]],
                marker="o",
                markersize=14,
                markerfacecolor="none",
                markeredgecolor="#d62728",
                markeredgewidth=2,
                linestyle="none",
                label=f"selected ({method.selected})",
            )
        ax.set_xticks(range(len(ticks)), ticks)
        ax.set_xlabel(_axis_name(method))
        ax.set_title(TITLES[key], fontsize=10)
        ax.grid(alpha=0.3)
        if n == 0:
            ax.legend(fontsize=8, loc="best")
    return fig


def _tradeoff(tables: Tables, colors: dict[str, str]) -> Figure:
    results, rules = tables.results, tables.rules
    fig = Figure(figsize=(8, 5.6))
    ax = fig.subplots(gridspec_kw={"left": 0.09, "right": 0.97, "bottom": 0.1, "top": 0.93})
    ax.set_xlabel("KnowMem-f (forget set; lower = more forgotten)")
    ax.set_ylabel("KnowMem-r (retain set; utility)")
    ax.set_title("Forget vs utility trade-off")
    retrain_f, target_r = results.retrain.get("knowmem_f"), results.target.get("knowmem_r")
    if retrain_f is not None and target_r is not None:
        floor = rules.utility_fraction * target_r
        ax.fill_between([0, retrain_f], floor, 100, color=BAND_COLOR, alpha=0.35, label="C2 and C4 hold")
    for name, method in results.methods.items():
        pairs = [
            (c.scores["knowmem_f"], c.scores["knowmem_r"])
            for c in method.checkpoints
            if c.get("knowmem_f") is not None and c.get("knowmem_r") is not None
        ]
        if pairs:
            ax.plot(*zip(*pairs), marker=".", color=colors[name], alpha=0.35, linewidth=1)
        chosen = method.selected_checkpoint
        if chosen.get("knowmem_f") is not None and chosen.get("knowmem_r") is not None:
            ax.plot(
                [chosen.scores["knowmem_f"]],
                [chosen.scores["knowmem_r"]],
                marker="o",
                markersize=10,
                color=colors[name],
                linestyle="none",
                label=f"{name} ({method.selected})",
            )
    for role, scored, marker, color in (
        ("target", results.target, "*", "#222222"),
        ("retrain", results.retrain, "D", RETRAIN_STYLE["color"]),
    ):
        if scored.get("knowmem_f") is not None and scored.get("knowmem_r") is not None:
            ax.plot(
                [scored.scores["knowmem_f"]],
                [scored.scores["knowmem_r"]],
                marker=marker,
                markersize=14,
                color=color,
                linestyle="none",
                label=role,
            )
            ax.annotate(
                role,
                (scored.scores["knowmem_f"], scored.scores["knowmem_r"]),
                xytext=(8, 8),
                textcoords="offset points",
                fontsize=9,
            )
    ax.set_xlim(left=-2)
    ax.set_ylim(bottom=-2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def _privleak_bars(tables: Tables) -> Figure:
    rows = tables.rows
    tol = tables.rules.privleak_tolerance
    labels = [f"{r.model} ({r.checkpoint})" if r.checkpoint else r.model for r in rows]
    height = 1.4 + 0.5 * len(rows)
    fig = Figure(figsize=(8, height))
    longest = max(len(label) for label in labels)
    ax = fig.subplots(
        gridspec_kw={
            "left": min(0.45, 0.04 + 0.0088 * longest),
            "right": 0.97,
            "bottom": 0.62 / height,
            "top": 1 - 0.42 / height,
        }
    )
    values = [r.scored.get("privleak") for r in rows]
    ys = list(range(len(rows)))[::-1]
    ax.axvspan(-tol, tol, color=BAND_COLOR, alpha=0.5, label=f"±{tol:g} % (C3)")
    ax.axvline(0.0, color="#333333", linewidth=0.8)
    colors = [
        "#444444"
        if r.kind == "target"
        else RETRAIN_STYLE["color"]
        if r.kind == "retrain"
        else ("#1a9850" if v is not None and abs(v) <= tol else "#d73027")
        for r, v in zip(rows, values)
    ]
    ax.barh(ys, [v if v is not None else 0.0 for v in values], color=colors, height=0.6)
    span = max([abs(v) for v in values if v is not None] + [tol * 2, 10.0])
    for y, value in zip(ys, values):
        text = "not run" if value is None else f"{value:+.1f}"
        x = 0.0 if value is None else value
        ax.text(
            x + (span * 0.02 if x >= 0 else -span * 0.02),
            y,
            text,
            va="center",
            ha="left" if x >= 0 else "right",
            fontsize=9,
        )
    ax.set_xlim(-span * 1.25, span * 1.25)
    ax.set_yticks(ys, labels)
    ax.set_xlabel("PrivLeak (%)")
    ax.set_title("PrivLeak: 0 = indistinguishable from the retrain model")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _fold_curves(tables: Tables, kind: str, colors: dict[str, str]) -> Figure | None:
    """C5 (criteria vs forget-set size) or C6 (criteria vs request number); None when no method ran it."""
    ran = {n: m for n, m in tables.results.methods.items() if getattr(m, kind)}
    if not ran:
        return None
    fig = Figure(figsize=(10, 6.4))
    axes = fig.subplots(2, 2, gridspec_kw=PANEL_GRID)
    title = (
        "C5 scalability: criteria vs forget-set size"
        if kind == "scalability"
        else "C6 sustainability: criteria vs unlearning request"
    )
    fig.suptitle(title, fontsize=12)
    use_docs = kind == "scalability" and all(f.forget_docs is not None for m in ran.values() for f in m.scalability)
    for n, (ax, key) in enumerate(zip(axes.flat, PANEL_ORDER)):
        drawn = False
        for name, method in ran.items():
            points = getattr(method, kind)
            xs = [_fold_x(p, use_docs) for p in points if p.get(key) is not None]
            ys = [p.scores[key] for p in points if p.get(key) is not None]
            if xs:
                ax.plot(xs, ys, marker="o", color=colors[name], label=name)
                drawn = True
        if not drawn:
            _not_run(ax, TITLES[key])
            continue
        ax.set_xticks(sorted({_fold_x(p, use_docs) for m in ran.values() for p in getattr(m, kind)}))
        _references(ax, tables, key, legend=n == 0)
        ax.set_xlabel(
            "forget-set size (documents)"
            if use_docs
            else "scalability fold"
            if kind == "scalability"
            else "request number"
        )
        ax.set_title(TITLES[key], fontsize=10)
        ax.grid(alpha=0.3)
        if n == 0:
            ax.legend(fontsize=8, loc="best")
    return fig


def _fold_x(point: Scored, use_docs: bool) -> int:
    if isinstance(point, ScalabilityFold):
        return point.forget_docs if use_docs and point.forget_docs is not None else point.fold
    if isinstance(point, SustainabilityRequest):
        return point.request
    raise TypeError(f"not a C5 fold or C6 request: {type(point).__name__}")
