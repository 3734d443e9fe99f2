"""``build_report``: saved ``results.json`` in, ``report/`` out (HTML, Markdown, CSV, JSON and PNG figures).

The whole directory is written to a temporary sibling and renamed into place, so a report is never seen
half-written. Only a report's directory is replaced; a user's files in it are kept, never overwritten.
"""

from __future__ import annotations

from pathlib import Path

from musebench.io import (
    atomic_directory,
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    kept_entries,
    output_dir,
)
from musebench.report.export import table_csv, table_json
from musebench.report.page import render_html, render_markdown, report_page
from musebench.report.plots import render_plots
from musebench.report.tables import build_tables
from musebench.report.verdicts import VerdictRules
from musebench.results import load_results
from musebench.results.completeness import completeness

REPORT_FILES = ("index.html", "results.md", "results.csv", "results.json", "plots")
KIND = "report"  # the kind its directory is marked with (musebench.io.KINDS)


def build_report(
    run_dir: str | Path, out_dir: str | Path | None = None, rules: VerdictRules | None = None, force: bool = False
) -> Path:
    """Read ``run_dir/results.json`` and write the report to ``out_dir`` (default ``run_dir/report``).

    Returns the path of ``index.html``. Raises ``DataError`` for a missing or malformed results file and
    ``ConfigError`` when ``out_dir`` is another command's directory or holds files musebench did not write.
    """
    run_dir = Path(run_dir)
    results = load_results(run_dir)
    out = Path(out_dir) if out_dir is not None else results.source.parent / "report"
    check_output_dir(out, kind=KIND, writes=REPORT_FILES, force=force)  # before any work
    tables = build_tables(results, rules or VerdictRules())
    incomplete = completeness(results)  # a run in progress or interrupted says so at the top of every page
    with (
        output_dir(out, kind=KIND, writes=REPORT_FILES, force=force),
        atomic_directory(out, keep=kept_entries(out)) as tmp,
    ):
        plots = render_plots(tables, tmp)
        page = report_page(tables, plots, tmp, incomplete.line() if incomplete is not None else None)
        table = table_json(tables, plots)
        if incomplete is not None:
            table = {"incomplete": incomplete.to_dict(), **table}
        atomic_write_text(tmp / "results.md", render_markdown(page))
        atomic_write_text(tmp / "results.csv", table_csv(tables))
        atomic_write_json(tmp / "results.json", table)
        atomic_write_text(tmp / "index.html", render_html(page))
        _make_readable(tmp)
    return out / "index.html"


def _make_readable(root: Path) -> None:
    """Temporary files are created private; a report is meant to be read (or served) by others."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
