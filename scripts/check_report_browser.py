"""Render a musebench report in headless Chromium, check it, and save a screenshot of the whole page.

    python scripts/check_report_browser.py                       # the sample results in tests/report/data
    python scripts/check_report_browser.py runs/demo-news-mini   # a run directory (its report is rebuilt)
    python scripts/check_report_browser.py --page some/report/index.html --screenshot /tmp/page.png

Checks: the page loads, every <img> has naturalWidth > 0, and nothing is logged to the console or fails to
load. Exit 0 when all hold, 1 when not, 2 when no browser is installed or the results are bad.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from musebench.errors import MusebenchError
from musebench.report import build_report
from report_browser import check_page, screenshot  # scripts/report_browser.py, beside this script

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RUN = REPO / "tests" / "report" / "data"
DEFAULT_SCREENSHOT = REPO / "benchmarks" / "report_screenshot.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "run_dir",
        nargs="?",
        default=str(SAMPLE_RUN),
        help="run directory with results.json (default: the sample results)",
    )
    parser.add_argument("--page", default=None, help="check this HTML page instead of building a report")
    parser.add_argument("--screenshot", default=str(DEFAULT_SCREENSHOT), help="where to save the PNG")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per browser run")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="musebench-report-") as tmp:
            page = Path(args.page) if args.page else build_report(args.run_dir, Path(tmp) / "report")
            result = check_page(page, timeout=args.timeout)
            print(result.summary())
            shot = screenshot(page, args.screenshot, height=result.height, timeout=args.timeout)
            print(f"screenshot: {shot}")
    except MusebenchError as err:
        print(f"check_report_browser: error: {err}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
