"""The page templates: HTML escapes every value, Markdown escapes table pipes, and the pages share one
stylesheet and one Content-Security-Policy."""

from __future__ import annotations

from importlib import resources

from musebench.pages import CONTENT_SECURITY_POLICY, Line, render
from musebench.report import build_report


def test_a_hostile_method_name_is_text_on_both_pages(doc, write_run, tmp_path):
    name = '<img src=x onerror="alert(1)">|x'
    doc["methods"] = {name: doc["methods"]["npo_gdr"]}
    page = build_report(write_run(tmp_path / "run", doc))
    html = page.read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;|x" in html
    md = (page.parent / "results.md").read_text(encoding="utf-8")
    assert '| <img src=x onerror="alert(1)">\\|x (epoch-4) |' in md  # Markdown keeps it, but not as a column
    assert f'content="{CONTENT_SECURITY_POLICY}"' in html  # written as is, not entity-escaped


def test_every_html_page_has_the_one_stylesheet_and_policy():
    css = resources.files("musebench").joinpath("templates/style.css").read_text(encoding="utf-8")
    table = {"header": ["probe"], "lines": [Line(("a<b",))]}
    audit = render(
        "audit.html",
        incomplete=None,
        page={
            "title": "t",
            "verdict": "leak",
            "verdict_text": "LEAK",
            "rule": "r",
            "never_seen_level": "n",
            "how_to_read": "h",
            "probes": table,
            "change": None,
            "attacks": table,
            "suite": None,
            "figure": None,
            "documents": [],
            "choices": ["c"],
            "reproduce": "musebench audit",
            "wall_s": 1.0,
        },
    )
    assert css.strip() in audit and f'content="{CONTENT_SECURITY_POLICY}"' in audit
    assert "<td>a&lt;b</td>" in audit and audit.count("<table>") == 2
    md = render(
        "audit.md",
        page={
            "title": "t",
            "verdict_text": "LEAK",
            "rule": "r",
            "never_seen_level": "n",
            "how_to_read": "h",
            "probes": table,
            "change": None,
            "attacks": None,
            "suite": None,
            "documents": [],
            "choices": ["c"],
            "reproduce": "x",
            "wall_s": 1.0,
        },
    )
    assert "| probe |\n|---|\n| a<b |\n" in md and md.endswith("settings and fingerprints are in audit.json.\n")
