"""Check a report page in headless Chromium: it loads, every image renders, nothing is logged to the console.

No browser-automation dependency: a copy of the page gets a small probe script as the first thing in its
``<head>`` (before the page's Content-Security-Policy, which therefore still governs everything the page
itself loads). The probe records script errors, failed resource loads, CSP violations and console calls;
once the page has loaded it writes them, with every ``<img>``'s ``naturalWidth``, into the DOM, which
``chromium --dump-dom`` prints. Chromium's own console log (stderr) is read as well. The original page is
never modified; ``screenshot`` renders it as is.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from musebench.errors import MusebenchError

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Set this to a browser binary to use it instead of searching PATH.
BROWSER_ENV = "MUSEBENCH_CHROMIUM"
WIDTH = 1280
MAX_SCREENSHOT_HEIGHT = 24000
PROBE_ID = "musebench-page-check"
PROBE = """<script>(function () {
  var errors = [];
  function note(kind, text) { errors.push(kind + ": " + String(text).slice(0, 300)); }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) note("resource", t.src || t.href);
    else note("script", e.message);
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("promise", e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) { note("csp", e.blockedURI + " " + e.violatedDirective); });
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () { note("console." + level, Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
  });
  window.addEventListener("load", function () {
    var images = Array.prototype.map.call(document.images, function (img) {
      return {alt: img.alt, file: img.getAttribute("data-file") || img.getAttribute("src").slice(0, 60),
              complete: img.complete, natural_width: img.naturalWidth, natural_height: img.naturalHeight};
    });
    var out = document.createElement("pre");
    out.id = "__PROBE_ID__";
    out.textContent = JSON.stringify({title: document.title, images: images, errors: errors,
                                      height: document.documentElement.scrollHeight});
    document.body.appendChild(out);
  });
})();</script>
""".replace("__PROBE_ID__", PROBE_ID)


class BrowserError(MusebenchError):
    """The headless browser could not be found, started, or did not finish loading the page."""


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw: one entry per ``<img>``, every error, and the rendered page height (px)."""

    title: str
    images: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    height: int = 0

    @property
    def broken_images(self) -> list[dict]:
        return [i for i in self.images if not i["complete"] or i["natural_width"] <= 0]

    @property
    def ok(self) -> bool:
        return bool(self.images) and not self.broken_images and not self.errors

    def summary(self) -> str:
        state = "OK" if self.ok else "FAILED"
        text = (
            f"{state}: '{self.title}', {len(self.images)} images, {len(self.broken_images)} broken, "
            f"{len(self.errors)} console/load errors, page height {self.height}px"
        )
        details = [f"  broken image: {i['file']}" for i in self.broken_images]
        details += [f"  error: {e}" for e in self.errors]
        if not self.images:
            details.append("  the page has no <img> at all")
        return "\n".join([text, *details])


def find_chromium() -> str | None:
    """The browser named by $MUSEBENCH_CHROMIUM, else the first Chromium/Chrome on PATH, else None."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser_args(binary: str, profile: str) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise BrowserError(f"headless browser did not finish within {timeout:g} s", value=args[-1]) from err
    except OSError as err:
        raise BrowserError(f"cannot start the browser: {err}", value=args[0]) from err


def _binary(chromium: str | None) -> str:
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserError(
            f"no Chromium/Chrome found on PATH (looked for {', '.join(BROWSER_NAMES)}; or set ${BROWSER_ENV})"
        )
    return binary


def _with_probe(page: str) -> str:
    """Insert the probe before the page's first <meta http-equiv=...> (after <meta charset>), else atop <head>."""
    match = re.search(r"<meta\s+http-equiv", page, flags=re.IGNORECASE) or re.search(
        r"(?<=<head>)", page, flags=re.IGNORECASE
    )
    at = match.start() if match else 0
    return page[:at] + PROBE + page[at:]


def _console_lines(stderr: str) -> list[str]:
    """Chromium logs the page's console messages as ``...:CONSOLE(line)] "message", source: url``."""
    return [f"console: {line.split('] ', 1)[-1][:300]}" for line in stderr.splitlines() if ":CONSOLE" in line]


def check_page(page: str | Path, chromium: str | None = None, timeout: float = 60.0) -> PageCheck:
    """Load ``page`` (an HTML file) headless and report what rendered; the page itself is not touched."""
    page = Path(page).resolve()
    if not page.is_file():
        raise BrowserError("page not found", file=page)
    binary = _binary(chromium)
    with tempfile.TemporaryDirectory(prefix="musebench-browser-") as tmp:
        copy = Path(tmp) / "page"
        shutil.copytree(page.parent, copy)
        probed = copy / page.name
        probed.write_text(_with_probe(page.read_text(encoding="utf-8")), encoding="utf-8")
        result = _run(
            _browser_args(binary, str(Path(tmp) / "profile"))
            + [f"--window-size={WIDTH},900", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
            timeout,
        )
    found = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', result.stdout, flags=re.DOTALL)
    if not found:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise BrowserError(
            f"the page never finished loading in the browser (exit {result.returncode}; {tail})", file=page
        )
    seen = json.loads(html.unescape(found.group(1)))
    return PageCheck(
        title=seen["title"],
        images=seen["images"],
        errors=seen["errors"] + _console_lines(result.stderr),
        height=int(seen["height"]),
    )


def screenshot(
    page: str | Path, out_png: str | Path, height: int | None = None, chromium: str | None = None, timeout: float = 60.0
) -> Path:
    """A PNG of the whole rendered page, ``WIDTH`` pixels wide (height: measured by ``check_page``)."""
    page, out_png = Path(page).resolve(), Path(out_png).resolve()
    if height is None:
        height = check_page(page, chromium, timeout).height
    height = max(300, min(int(height), MAX_SCREENSHOT_HEIGHT))
    out_png.parent.mkdir(parents=True, exist_ok=True)
    binary = _binary(chromium)
    with tempfile.TemporaryDirectory(prefix="musebench-browser-") as tmp:
        shot = Path(tmp) / "shot.png"
        result = _run(
            _browser_args(binary, str(Path(tmp) / "profile"))
            + [f"--window-size={WIDTH},{height}", f"--screenshot={shot}", page.as_uri()],
            timeout,
        )
        if not shot.is_file() or shot.stat().st_size == 0:
            raise BrowserError(f"the browser wrote no screenshot (exit {result.returncode})", file=page)
        shutil.move(shot, out_png)
    return out_png
