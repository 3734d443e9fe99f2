"""The report page in headless Chromium: it loads, every image renders, nothing is logged to the console.

Skipped when no Chromium/Chrome binary is installed (Debian: ``apt-get install chromium``), except in CI:
``.ci/run`` installs Debian's chromium and sets ``MUSEBENCH_REQUIRE_BROWSER=1``, under which a missing
browser fails the suite instead of skipping the test.
"""

from __future__ import annotations

import os
import shutil

import pytest

from report_browser import (  # scripts/report_browser.py (pytest pythonpath)
    check_page,
    find_chromium,
    screenshot,
)

REQUIRED = os.environ.get("MUSEBENCH_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    find_chromium() is None and not REQUIRED,
    reason="no chromium / google-chrome binary on PATH (nor $MUSEBENCH_CHROMIUM)",
)


def test_browser_is_there_when_ci_requires_it():
    """Under .ci/run the browser test must run: a missing browser is a failure there."""
    if not REQUIRED:
        pytest.skip("MUSEBENCH_REQUIRE_BROWSER is not set (only .ci/run requires the browser)")
    assert find_chromium() is not None, "no chromium on PATH although .ci/run should have installed it"


def test_page_loads_and_every_image_renders(built_report):
    result = check_page(built_report)
    assert result.errors == []
    assert result.title == "MUSE report: demo-news-mini"
    assert len(result.images) == 8
    assert all(i["complete"] and i["natural_width"] >= 800 and i["natural_height"] >= 400 for i in result.images), (
        result.images
    )
    assert result.ok, result.summary()
    assert result.height > 3000


def test_broken_and_external_images_are_caught(built_report, tmp_path):
    """The check can fail: a missing file and an external image are both reported."""
    report = tmp_path / "report"
    shutil.copytree(built_report.parent, report)
    page = report / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</main>", '<img src="plots/missing.png" alt="gone"><img src="https://example.org/x.png" alt="far"></main>'
        ),
        encoding="utf-8",
    )
    result = check_page(page)
    assert not result.ok
    assert [i["file"] for i in result.broken_images] == ["plots/missing.png", "https://example.org/x.png"]
    assert any("example.org" in e for e in result.errors)


def test_screenshot_is_a_full_width_png(built_report, tmp_path):
    shot = screenshot(built_report, tmp_path / "page.png", height=1200)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1200)
