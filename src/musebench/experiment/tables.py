"""Terminal tables of ``results.json`` records: the paper's Table 3, and two runs side by side."""

from __future__ import annotations

from collections.abc import Mapping

from musebench.criteria import FOLLOW_UPS, SCORES, TABLE3
from musebench.results import Results

#: (score key, column title, better direction) in the paper's Table 3 order.
COLUMNS = tuple((key, SCORES[key].column, SCORES[key].better) for key in TABLE3)


def selected_rows(results: Results) -> list[tuple[str, str, Mapping[str, float], Mapping[str, tuple]]]:
    """``(row name, checkpoint, scores, ci)`` for target, retrain and each method at its selected checkpoint."""
    rows = []
    for role in ("target", "retrain"):
        ref = results.reference(role)
        if ref is not None:
            rows.append((role, "", ref.scores, ref.ci))
    for name, method in results.methods.items():
        chosen = method.selected_checkpoint
        rows.append((name, method.selected, chosen.scores, chosen.ci))
    return rows


def format_score(value: float | None, ci: tuple[float, float] | None = None) -> str:
    """``58.4`` or, with a CI, ``58.4`` over a dim ``[52.0, 63.1]`` line (keeps the columns narrow)."""
    if value is None:
        return "–"
    text = f"{value:.1f}"
    if ci:
        text += f"\n[dim][{ci[0]:.1f}, {ci[1]:.1f}][/dim]"
    return text


def console(width: int = 110):
    """A rich console; ``width`` columns when output is not a terminal (logs, pipes), so rows do not wrap."""
    from rich.console import Console

    probe = Console()
    return probe if probe.is_terminal else Console(width=width)


def table3(results: Results, title: str | None = None):
    """The paper's Table 3 for one run: scores with bootstrap 95% CIs."""
    from rich.table import Table

    table = Table(title=title or f"{results.name or 'run'}: selected checkpoints (95% CI)", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("checkpoint", style="dim", no_wrap=True)
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right", min_width=12, no_wrap=True)
    for i, (name, label, scores, ci) in enumerate(selected_rows(results)):
        table.add_row(name, label, *(format_score(scores.get(k), ci.get(k)) for k, _, _ in COLUMNS), end_section=i == 1)
    return table


def _delta_style(delta: float, direction: str, before: float) -> str:
    if abs(delta) < 0.05:
        return "dim"
    better = {"low": delta < 0, "high": delta > 0, "zero": abs(before + delta) < abs(before)}[direction]
    return "green" if better else "red"


def compare_table(a: Results, b: Results, label_a: str = "A", label_b: str = "B"):
    """Rows present in either run; each cell ``A → B (Δ)``, Δ green when B is better on that criterion."""
    from rich.table import Table

    rows_a = {r[0]: r for r in selected_rows(a)}
    rows_b = {r[0]: r for r in selected_rows(b)}
    names = list(rows_a) + [n for n in rows_b if n not in rows_a]
    table = Table(title=f"{label_a} → {label_b}  (Δ = B − A; green: B better)", title_justify="left")
    table.add_column("model")
    table.add_column("checkpoint A → B", style="dim")
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for name in names:
        ra, rb = rows_a.get(name), rows_b.get(name)
        ckpt = f"{ra[1] if ra else '–'} → {rb[1] if rb else '–'}" if (ra and ra[1]) or (rb and rb[1]) else ""
        cells = []
        for key, _, direction in COLUMNS:
            va = ra[2].get(key) if ra else None
            vb = rb[2].get(key) if rb else None
            if va is None or vb is None:
                cells.append(f"{'–' if va is None else f'{va:.1f}'} → {'–' if vb is None else f'{vb:.1f}'}")
                continue
            delta = vb - va
            style = _delta_style(delta, direction, va)
            cells.append(f"{va:.1f} → {vb:.1f} [{style}]({delta:+.1f})[/{style}]")
        table.add_row(name, ckpt, *cells)
    return table


def follow_up_lines(results: Results) -> list[str]:
    """One line per method with C5 / C6 rows: KnowMem-r (utility) per fold / request."""
    lines = []
    titles = {"scalability": "C5 utility by forget size", "sustainability": "C6 utility by request"}
    for name, method in results.methods.items():
        for key in FOLLOW_UPS:
            rows = method.follow_ups(key)
            if rows:
                values = ", ".join(f"{r.number}: {r.scores.get('knowmem_r', float('nan')):.1f}" for r in rows)
                lines.append(f"{name:<12} {titles[key]:<26} {values}")
    for name, entry in (results.robustness.methods if results.robustness is not None else {}).items():
        measures = [(a, e.measure.get("knowmem_f")) for a, e in entry.attacks.items() if e.measure is not None]
        if measures:
            values = ", ".join(f"{a}: {'n/a' if v is None else f'{v * 100:+.0f} %'}" for a, v in measures)
            lines.append(f"{name:<12} {'C7 KnowMem-f recovery':<26} {values}")
    return lines
