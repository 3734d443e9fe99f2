"""``musebench leaderboard``: several runs (seeds, machines, corpora) of the same methods on one offline page.

Per method: the mean and the spread (sample standard deviation) over the runs of each MUSE score of its selected
checkpoint, how many runs met each of the C1-C7 verdicts, and a rank. One run is noise (the mini world's
KnowMem CIs are ±10 points); the spread says how far a ranking can be trusted. The page is a single HTML file
with its figure embedded, no script and nothing fetched (the report's Content-Security-Policy), linking to
each run's own report.

Rank: the mean over runs of the number of criteria met (✓; "not run" and "not judged" count nothing), then the
mean KnowMem-r (utility), then the name.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from musebench.errors import ConfigError
from musebench.pages import data_uri, render
from musebench.report.verdicts import (
    CRITERIA,
    INCONCLUSIVE,
    MET,
    NOT_JUDGED,
    NOT_MET,
    NOT_RUN,
    VerdictRules,
    judge_all,
)
from musebench.results import Results, load_results

#: The scores of a selected checkpoint the board shows, with their direction.
SCORES = {
    "verbmem_f": "VerbMem-f ↓",
    "knowmem_f": "KnowMem-f ↓",
    "privleak": "PrivLeak → 0",
    "knowmem_r": "KnowMem-r ↑",
}


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (None for a single value) of the values present."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / self.n if self.values else None

    @property
    def spread(self) -> float | None:
        if self.n < 2:
            return None
        mean = self.mean
        return math.sqrt(sum((v - mean) ** 2 for v in self.values) / (self.n - 1))

    def text(self, signed: bool = False) -> str:
        if self.mean is None:
            return "not run"
        mean = f"{self.mean:+.1f}" if signed else f"{self.mean:.1f}"
        return mean if self.spread is None else f"{mean} ± {self.spread:.1f}"


@dataclass(frozen=True)
class Run:
    label: str
    path: Path
    results: Results
    report: Path | None  # the run's report page, when it has one


@dataclass(frozen=True)
class BoardRow:
    method: str
    runs: int  # runs holding this method
    scores: dict[str, Stat]
    verdicts: dict[str, Counter]  # criterion -> status -> runs
    selected: tuple[str, ...]  # the selected checkpoint in each run
    met: Stat  # criteria met per run

    def sort_key(self) -> tuple:
        utility = self.scores["knowmem_r"].mean
        return (-(self.met.mean or 0.0), -(utility if utility is not None else -math.inf), self.method)


@dataclass(frozen=True)
class Board:
    runs: tuple[Run, ...]
    rows: tuple[BoardRow, ...]
    references: dict[str, dict[str, Stat]]  # target / retrain -> score -> stat
    rules: VerdictRules
    notes: tuple[str, ...] = field(default_factory=tuple)


def _labels(paths: list[Path]) -> list[str]:
    """Each run's directory name, with its parent's where two names collide."""
    names = [p.name or str(p) for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(n) > 1 else n for p, n in zip(paths, names)]


def load_runs(run_dirs: list[str | Path]) -> tuple[Run, ...]:
    """Every run's ``results.json`` (both references required); a bad one is one error naming it."""
    if not run_dirs:
        raise ConfigError("give at least one run directory", field="RUN")
    paths = [Path(p) for p in run_dirs]
    seen = set()
    for p in paths:
        key = p.resolve()
        if key in seen:
            raise ConfigError("the same run is given twice", field="RUN", value=str(p))
        seen.add(key)
    runs = []
    for label, path in zip(_labels(paths), paths):
        results = load_results(path)
        run_dir = results.source.parent if results.source is not None else path
        page = run_dir / (results.report or "report")  # results.json names the page (report/index.html)
        page = page if page.suffix == ".html" else page / "index.html"
        runs.append(Run(label, run_dir, results, page if page.is_file() else None))
    return tuple(runs)


def build_board(runs: tuple[Run, ...], rules: VerdictRules | None = None) -> Board:
    rules = rules or VerdictRules()
    judged = [judge_all(run.results, rules) for run in runs]
    methods = list(dict.fromkeys(m for run in runs for m in run.results.methods))
    rows = []
    for name in methods:
        present = [(run, verdicts[name]) for run, verdicts in zip(runs, judged) if name in run.results.methods]
        chosen = [run.results.methods[name] for run, _ in present]
        scores = {
            k: Stat(tuple(m.selected_checkpoint.scores[k] for m in chosen if m.selected_checkpoint.get(k) is not None))
            for k in SCORES
        }
        counts = {c: Counter(v[c].status for _, v in present) for c in CRITERIA}
        met = Stat(tuple(float(sum(x.status == MET for x in v.values())) for _, v in present))
        rows.append(BoardRow(name, len(present), scores, counts, tuple(m.selected for m in chosen), met))
    references = {
        role: {
            k: Stat(
                tuple(
                    ref.scores[k]
                    for run in runs
                    if (ref := run.results.reference(role)) is not None and ref.get(k) is not None
                )
            )
            for k in SCORES
        }
        for role in ("target", "retrain")
    }
    notes = []
    corpora = {run.results.corpus.get("name") for run in runs} - {None}
    if len(corpora) > 1:
        notes.append(f"these runs use different corpora ({', '.join(sorted(corpora))}): their means mix worlds")
    missing = [row.method for row in rows if row.runs < len(runs)]
    if missing:
        notes.append(f"not in every run: {', '.join(missing)} (their statistics cover the runs that hold them)")
    return Board(runs, tuple(sorted(rows, key=BoardRow.sort_key)), references, rules, tuple(notes))


def _verdict_cell(counts: Counter, runs: int) -> tuple[str, str, str]:
    """(CSS class, tooltip, text) of one criterion's cell: in how many runs it was met."""
    met, failed = counts.get(MET, 0), counts.get(NOT_MET, 0)
    judged = met + failed
    if not judged:
        state = next((s for s in (INCONCLUSIVE, NOT_JUDGED) if counts.get(s)), NOT_RUN)
        symbol = {INCONCLUSIVE: "?", NOT_JUDGED: "–"}.get(state, "not run")
        return "not-run", f"{state} in {runs} of {runs} runs", symbol
    css = "met" if failed == 0 else ("not-met" if met == 0 else "mixed")
    detail = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
    return css, detail, f"{'✓' if met else '✗'} {met}/{judged}"


def _figure(board: Board) -> str:
    """KnowMem-f vs KnowMem-r, mean ± spread per method, the references marked: an embedded PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 4.8), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for row in board.rows:
        x, y = row.scores["knowmem_f"], row.scores["knowmem_r"]
        if x.mean is None or y.mean is None:
            continue
        ax.errorbar(x.mean, y.mean, xerr=x.spread or 0, yerr=y.spread or 0, fmt="o", capsize=3, markersize=5)
        ax.annotate(row.method, (x.mean, y.mean), textcoords="offset points", xytext=(5, 4), fontsize=7)
    for role, marker, color in (("target", "s", "#d73027"), ("retrain", "D", "#1a9850")):
        x, y = board.references[role]["knowmem_f"], board.references[role]["knowmem_r"]
        if x.mean is not None and y.mean is not None:
            ax.errorbar(
                x.mean,
                y.mean,
                xerr=x.spread or 0,
                yerr=y.spread or 0,
                fmt=marker,
                color=color,
                capsize=3,
                markersize=7,
                label=role,
            )
    ax.set_xlabel("KnowMem-f (lower: more forgotten)")
    ax.set_ylabel("KnowMem-r (higher: more utility kept)")
    ax.set_title(f"Forget vs utility over {len(board.runs)} runs (mean ± standard deviation)", fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.12, top=0.92)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return data_uri(buf.getvalue())


def render_board_html(board: Board, out_dir: Path) -> str:
    """The page; report links are relative to ``out_dir``."""
    runs = [
        {
            "label": run.label,
            "name": run.results.name,
            "methods": len(run.results.methods),
            "seed": "" if run.results.provenance.get("seed") is None else str(run.results.provenance["seed"]),
            "report": Path(os.path.relpath(run.report.resolve(), out_dir)).as_posix() if run.report else None,
            "path": str(run.path),
        }
        for run in board.runs
    ]
    return render(
        "leaderboard.html",
        board=board,
        runs=runs,
        scores=SCORES,
        criteria=CRITERIA,
        verdict_cell=_verdict_cell,
        figure=_figure(board),
        incomplete=None,
    )


#: What ``write_leaderboard`` writes: the page, and the same tables in Markdown (for a paper, a PR, the docs).
KIND = "leaderboard"
LEADERBOARD_FILES = ("index.html", "leaderboard.md")


def render_board_markdown(board: Board) -> str:
    """The ranking, the reference models and the runs as Markdown tables (the page's numbers, no figure)."""
    ranking = [
        [i, row.method, row.runs, row.met.text()]
        + [row.scores[k].text(k == "privleak") for k in SCORES]
        + [_verdict_cell(row.verdicts[c], row.runs)[2] for c in CRITERIA]
        + [", ".join(dict.fromkeys(row.selected))]
        for i, row in enumerate(board.rows, start=1)
    ]
    references = [[role] + [stats[k].text(k == "privleak") for k in SCORES] for role, stats in board.references.items()]
    runs = [
        [run.label, run.results.name, run.results.provenance.get("seed", ""), len(run.results.methods)]
        for run in board.runs
    ]
    return render(
        "leaderboard.md",
        board=board,
        header=["#", "method", "runs", "criteria met", *SCORES.values(), *CRITERIA, "selected"],
        ranking=ranking,
        scores=SCORES,
        references=references,
        runs=runs,
        criteria=CRITERIA,
    )


def write_leaderboard(
    run_dirs: list[str | Path], out_dir: str | Path, rules: VerdictRules | None = None, force: bool = False
) -> Path:
    """Read the runs, write ``out_dir/index.html`` and ``leaderboard.md`` (atomically); returns the page's path.

    ``out_dir`` is a leaderboard directory of its own: a report, a run or another command's output is refused,
    as is a directory of files musebench did not write (unless ``force``, which writes beside them)."""
    from musebench.io import atomic_write_text, check_output_dir, output_dir

    check_output_dir(out_dir, kind=KIND, writes=LEADERBOARD_FILES, force=force)  # before reading anything
    board = build_board(load_runs(run_dirs), rules)
    with output_dir(out_dir, kind=KIND, writes=LEADERBOARD_FILES, force=force) as out:
        page = out / "index.html"
        atomic_write_text(page, render_board_html(board, out.resolve()))
        atomic_write_text(out / "leaderboard.md", render_board_markdown(board))  # both under the user's umask
    return page
