"""The leaderboard page in headless Chromium: it loads offline, its figure renders, nothing is logged to the
console, and the links to the runs' reports point at files that exist. Skipped without a browser, except under
.ci/run (``MUSEBENCH_REQUIRE_BROWSER=1``), like the report's browser test."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest

from musebench.report import build_report
from musebench.report.leaderboard import write_leaderboard
from report_browser import check_page, find_chromium, screenshot  # scripts/report_browser.py (pytest pythonpath)

REQUIRED = os.environ.get("MUSEBENCH_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    find_chromium() is None and not REQUIRED,
    reason="no chromium / google-chrome binary on PATH (nor $MUSEBENCH_CHROMIUM)",
)


@pytest.fixture(scope="module")
def board(tmp_path_factory, sample_doc):
    root = tmp_path_factory.mktemp("leaderboard")
    runs = []
    for seed, utility in ((0, 53.0), (1, 51.0)):
        doc = copy.deepcopy(sample_doc)
        doc["provenance"]["seed"] = seed
        m = doc["methods"]["npo_gdr"]
        next(c for c in m["checkpoints"] if c["label"] == m["selected"])["scores"]["knowmem_r"] = utility
        run = root / f"seed-{seed}"
        run.mkdir()
        (run / "results.json").write_text(__import__("json").dumps(doc), encoding="utf-8")
        build_report(run)
        runs.append(run)
    return write_leaderboard(runs, root / "board")


def test_leaderboard_loads_offline_and_its_figure_renders(board):
    result = check_page(board)
    assert result.errors == [] and result.ok, result.summary()
    assert result.title == "musebench leaderboard: 4 methods over 2 runs"
    assert len(result.images) == 1 and result.images[0]["natural_width"] >= 700
    links = re.findall(r'<a href="([^"]+)">report</a>', board.read_text(encoding="utf-8"))
    assert len(links) == 2 and all((board.parent / link).resolve().is_file() for link in links)


def test_leaderboard_screenshot(board, tmp_path):
    shot = screenshot(board, tmp_path / "board.png")
    data = Path(shot).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == 1280
