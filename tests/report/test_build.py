"""build_report end to end: the files, what the page embeds, determinism, and runs without C5/C6."""

from __future__ import annotations

import base64
import json
import re

import pytest

from musebench.errors import ConfigError
from musebench.report import build_report

EXPECTED_PLOTS = {
    "tradeoff",
    "privleak",
    "curves-ga_gdr",
    "curves-npo_gdr",
    "curves-npo_klr",
    "curves-task_vector",
    "scalability",
    "sustainability",
}


def test_every_expected_file_is_written(built_report):
    report = built_report.parent
    assert report.name == "report" and built_report.name == "index.html"
    assert {p.name for p in report.iterdir() if p.name[0] != "."} == {
        "index.html",
        "results.md",
        "results.csv",
        "results.json",
        "plots",
    }
    assert {p.stem for p in (report / "plots").iterdir()} == EXPECTED_PLOTS
    for png in (report / "plots").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000


def test_html_embeds_every_plot_and_loads_nothing_from_outside(built_report):
    page = built_report.read_text(encoding="utf-8")
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(EXPECTED_PLOTS)
    on_disk = {p.read_bytes() for p in (built_report.parent / "plots").iterdir()}
    assert {base64.b64decode(b) for b in embedded} == on_disk
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in page and "<script" not in page


def test_html_shows_table_verdicts_and_rules(built_report):
    page = built_report.read_text(encoding="utf-8")
    assert '<td class="num">18.2 [14.1, 22.3]</td>' in page
    # summary cells: ga_gdr 2 met / 4 not; npo_gdr 4 / 1 and C3 inconclusive (PrivLeak -3.1, CI [-11.5, +5.3]);
    # npo_klr and task_vector 0 / 4 and 2 not run each; C7 is not run for all four (no robustness block)
    assert page.count('<td class="met"') == 6
    assert page.count('<td class="inconclusive"') == 1
    assert page.count('<td class="not-met"') == 13
    assert page.count('<td class="not-run"') == 8
    assert "|PrivLeak| &lt;= 5 %" in page
    for section in ("summary", "results", "tradeoff", "privacy", "curves", "scalability", "sustainability"):
        assert f'<section id="{section}">' in page


def test_markdown_table_rows(built_report):
    md = (built_report.parent / "results.md").read_text(encoding="utf-8")
    assert (
        "| npo_gdr (epoch-4) | 18.2 [14.1, 22.3] | 32.5 [27.2, 37.8] | -3.1 [-11.5, +5.3] | 53.0 [48.0, 58.0] |" in md
    )
    assert "| npo_gdr (epoch-4) | ✓ | ✓ | ? | ✓ | ✗ | ✓ |" in md
    assert "| npo_klr (epoch-4) | ✗ | ✗ | ✗ | ✗ | not run | not run |" in md
    assert "Not run for: npo_klr, task_vector." in md
    for plot in EXPECTED_PLOTS:
        assert f"(plots/{plot}.png)" in md


def test_results_json_holds_the_table_data(built_report):
    data = json.loads((built_report.parent / "results.json").read_text(encoding="utf-8"))
    assert data["run"] == "demo-news-mini"
    assert data["rules"]["privleak_tolerance"] == 5.0 and data["rules"]["utility_fraction"] == 0.95
    assert [r["model"] for r in data["table"]][:2] == ["target", "retrain"]
    assert data["table"][3]["ci"]["knowmem_f"] == [27.2, 37.8]
    assert data["verdicts"]["npo_gdr"]["C5"]["status"] == "not met"
    assert data["methods"]["npo_klr"]["scalability"] is None
    assert {p["key"] for p in data["plots"]} == EXPECTED_PLOTS


@pytest.fixture(scope="module")
def small_report(tmp_path_factory, sample_doc, write_run):
    """Two methods, no C5/C6 anywhere, and selection-only scores on npo_gdr's other checkpoints."""
    doc = json.loads(json.dumps(sample_doc))
    doc["methods"] = {k: doc["methods"][k] for k in ("npo_gdr", "npo_klr")}
    for method in doc["methods"].values():
        method.pop("scalability", None)
        method.pop("sustainability", None)
    for ckpt in doc["methods"]["npo_gdr"]["checkpoints"]:
        if ckpt["label"] != "epoch-4":
            for key in ("verbmem_f", "privleak", "auc"):
                ckpt["scores"].pop(key)
    return build_report(write_run(tmp_path_factory.mktemp("small"), doc))


def test_missing_c5_c6_are_shown_as_not_run(small_report):
    report = small_report.parent
    assert {p.stem for p in (report / "plots").iterdir()} == {
        "tradeoff",
        "privleak",
        "curves-npo_gdr",
        "curves-npo_klr",
    }
    md = (report / "results.md").read_text(encoding="utf-8")
    assert "## C5 Scalability\n\nNot run: these results hold no scalability runs." in md
    assert "## C6 Sustainability\n\nNot run: these results hold no sustainability runs." in md
    assert "| npo_gdr (epoch-4) | ✓ | ✓ | ? | ✓ | not run | not run | not run |" in md
    page = small_report.read_text(encoding="utf-8")
    assert page.count("Not run: these results hold no") == 3  # C5, C6 and C7
    assert page.count('<img src="data:image/png;base64,') == 4


def test_rebuild_in_place_gives_the_same_bytes(small_report):
    """Default output is RUN_DIR/report; a rebuild replaces it whole, byte for byte the same."""
    report = small_report.parent
    assert report == small_report.parent.parent / "report"
    before = {p.relative_to(report): p.read_bytes() for p in sorted(report.rglob("*")) if p.is_file()}
    (report / "plots" / "stale.png").write_bytes(b"old")
    assert build_report(report.parent) == small_report
    after = {p.relative_to(report): p.read_bytes() for p in sorted(report.rglob("*")) if p.is_file()}
    assert list(after) == list(before)
    for name, data in before.items():
        assert after[name] == data, name


def test_refuses_to_replace_a_directory_that_is_not_a_report(sample_path, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"did not write \(notes.txt\)") as err:
        build_report(sample_path.parent, tmp_path)
    assert err.value.field == "--out"
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_users_own_index_html_is_never_overwritten(sample_path, tmp_path):
    """`report RUN --out site` with the user's own site/index.html: refused, with --force too; other files
    of the user's are kept beside a report written with --force, and a re-run replaces only the report."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("my page", encoding="utf-8")
    for force in (False, True):
        with pytest.raises(ConfigError, match="index.html"):
            build_report(sample_path.parent, site, force=force)
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    (site / "index.html").rename(site / "about.html")
    build_report(sample_path.parent, site, force=True)
    build_report(sample_path.parent, site)  # ours now: re-written without --force, the user's page kept
    assert (site / "about.html").read_text(encoding="utf-8") == "my page" and (site / "results.md").is_file()


def test_a_run_without_methods_still_has_a_page(tmp_path, doc, write_run):
    doc["methods"] = {}
    page = build_report(write_run(tmp_path, doc))
    assert {p.name for p in (page.parent / "plots").iterdir()} == {"tradeoff.png", "privleak.png"}
    assert "No unlearning method in these results." in page.read_text(encoding="utf-8")
    assert (page.parent / "results.csv").read_text(encoding="utf-8").count("\n") == 3  # header, 2 refs


def test_the_demo_methods_get_distinct_colours_apart_from_target_and_retrain():
    from musebench.report.plots import PALETTE, RETRAIN_STYLE, TARGET_STYLE, method_colors

    demo = ["ga", "ga_gdr", "ga_klr", "npo", "npo_gdr", "npo_klr", "task_vector", "whp", "simnpo", "rmu"]
    colors = method_colors(demo)
    assert len(set(colors.values())) == len(demo)
    assert not {TARGET_STYLE["color"], RETRAIN_STYLE["color"]} & set(PALETTE)
    assert method_colors(demo[:3]) == {k: colors[k] for k in demo[:3]}  # order-stable
