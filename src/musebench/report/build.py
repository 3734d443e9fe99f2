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
from musebench.report.html import render_html
from musebench.report.markdown import render_markdown
from musebench.report.plots import render_plots
from musebench.report.tables import build_tables
from musebench.report.verdicts import VerdictRules
from musebench.results import load_results
from musebench.results.completeness import Incomplete, completeness

REPORT_FILES = ("index.html", "results.md", "results.csv", "results.json", "plots")
KIND = "report"  # the kind its directory is marked with (musebench.io.KINDS)


def build_report(run_dir: str | Path, out_dir: str | Path | None = None,
                 rules: VerdictRules | None = None, force: bool = False) -> Path:
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
    with output_dir(out, kind=KIND, writes=REPORT_FILES, force=force), atomic_directory(out, keep=kept_entries(out)) as tmp:
        plots = render_plots(tables, tmp)
        markdown, html, table = render_markdown(tables, plots), render_html(tables, plots, tmp), table_json(tables, plots)
        if incomplete is not None:
            markdown, html, table = _incomplete_banner(incomplete, markdown, html, table)
        atomic_write_text(tmp / "results.md", markdown)
        atomic_write_text(tmp / "results.csv", table_csv(tables))
        atomic_write_json(tmp / "results.json", table)
        atomic_write_text(tmp / "index.html", html)
        _make_readable(tmp)
    return out / "index.html"


def _incomplete_banner(incomplete: Incomplete, markdown: str, html: str, table):
    """The incomplete-run line at the top of the Markdown and HTML pages and in the table data."""
    from html import escape

    title, _, rest = markdown.partition("\n")
    markdown = f"{title}\n\n> **{incomplete.line()}**\n{rest}"
    html = html.replace("<main>\n", f'<main>\n<p class="note incomplete" role="alert"><strong>'
                        f"{escape(incomplete.line())}</strong></p>\n", 1)
    if isinstance(table, dict):
        table = {"incomplete": incomplete.to_dict(), **table}
    return markdown, html, table


def _make_readable(root: Path) -> None:
    """Temporary files are created private; a report is meant to be read (or served) by others."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
