"""The offline pages (report, audit, leaderboard): jinja2 templates shipped in ``musebench/templates``.

Every page is built once as data and rendered by a ``.html`` template (autoescaped) and, where it has one, a
``.md`` template (not escaped; table cells escape ``|``). The HTML pages share one stylesheet, inlined, and one
Content-Security-Policy that forbids every fetch and every script, so a page that renders here renders the same
with no network; figures are embedded as base64 ``data:`` URIs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache

import jinja2
import markupsafe

#: No fetches, no scripts: only inline styles and embedded images.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Line:
    """A table line of plain-text cells; ``reference`` marks a reference model's row (target, retrain)."""

    cells: tuple[str, ...]
    reference: bool = False


def md_cell(text: object) -> str:
    """A Markdown table cell: a ``|`` in the text would end the cell."""
    return str(text).replace("|", "\\|")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("musebench", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.globals["CONTENT_SECURITY_POLICY"] = markupsafe.Markup(CONTENT_SECURITY_POLICY)  # written as is
    return env


def render(template: str, **context) -> str:
    """``template`` (e.g. ``"report.html"``) with ``context``; HTML templates escape every value."""
    return environment().get_template(template).render(**context)
