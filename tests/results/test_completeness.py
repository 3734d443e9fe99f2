"""A run in progress or interrupted says so: on the first line of ``report`` / ``compare`` and atop the page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from musebench.cli import main
from musebench.results import load_results
from musebench.results.completeness import completeness

SAMPLE = Path(__file__).parents[1] / "report" / "data" / "results.json"


def _run(tmp_path: Path, *, total: bool = True, methods=None, drop=(), **experiment) -> Path:
    doc = json.loads(SAMPLE.read_text(encoding="utf-8"))
    if not total:
        doc["timing_s"].pop("total")
    if methods is not None:
        doc["provenance"]["experiment"] = {"methods": {m: {} for m in methods}, **experiment}
    for name in drop:
        doc["methods"].pop(name)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return run


def test_a_finished_run_is_complete(tmp_path):
    assert completeness(load_results(_run(tmp_path))) is None
    sample_methods = ["ga_gdr", "npo_gdr", "npo_klr", "task_vector"]
    assert completeness(load_results(_run(tmp_path, methods=sample_methods))) is None


def test_missing_methods_and_follow_ups_are_named(tmp_path):
    run = _run(
        tmp_path,
        total=False,
        methods=["ga_gdr", "npo_gdr", "npo_klr", "task_vector", "rmu"],
        drop=("npo_klr",),
        scalability={"enabled": True, "methods": ["ga_gdr"]},
        robustness={"enabled": True},
    )
    gap = completeness(load_results(run))
    assert gap.state == "interrupted"
    assert gap.missing[:2] == ("method npo_klr", "method rmu")
    assert "C7 (robustness)" in gap.missing
    assert gap.line().startswith("INCOMPLETE run (interrupted); missing: method npo_klr, method rmu")


def test_a_run_without_its_total_time_is_incomplete_even_without_a_plan(tmp_path):
    gap = completeness(load_results(_run(tmp_path, total=False)))
    assert gap is not None and gap.missing == () and "have not been recorded" in gap.line()


def test_report_of_a_run_in_progress_says_so_first_and_on_the_page(tmp_path, capsys):
    run = _run(tmp_path, total=False, methods=["ga_gdr", "npo_gdr", "npo_klr", "task_vector", "simnpo"])
    code = (
        "import sys, time; from pathlib import Path; from musebench.experiment.lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(run)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["report", str(run), "--out", str(tmp_path / "site")]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith("INCOMPLETE run (in progress); missing: method simnpo")
        assert main(["report", str(run), "--out", str(tmp_path / "site2"), "--fail-on-incomplete"]) == 1
        assert capsys.readouterr().out.startswith("INCOMPLETE run (in progress)")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    md = (tmp_path / "site" / "results.md").read_text(encoding="utf-8")
    assert "INCOMPLETE run (in progress); missing: method simnpo" in html
    assert md.splitlines()[2].startswith("> **INCOMPLETE run (in progress)")
    table = json.loads((tmp_path / "site" / "results.json").read_text(encoding="utf-8"))
    assert table["incomplete"] == {"state": "in progress", "missing": ["method simnpo"]}
    # the holder is gone: the same run is now "interrupted"
    assert main(["report", str(run), "--out", str(tmp_path / "site")]) == 0
    assert capsys.readouterr().out.startswith("INCOMPLETE run (interrupted)")


def test_a_finished_runs_report_has_no_banner_and_exits_0(tmp_path, capsys):
    run = _run(tmp_path)
    assert main(["report", str(run), "--out", str(tmp_path / "site"), "--fail-on-incomplete"]) == 0
    assert "INCOMPLETE" not in capsys.readouterr().out
    assert "INCOMPLETE" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("flag, rc", [([], 0), (["--fail-on-incomplete"], 1)])
def test_compare_names_the_incomplete_run_first(tmp_path, capsys, flag, rc):
    run = _run(tmp_path, total=False, methods=["ga_gdr", "rmu"])
    assert main(["compare", str(run), str(SAMPLE), *flag]) == rc
    first = capsys.readouterr().out.splitlines()[0]
    assert (
        first == f"{run}: INCOMPLETE run (interrupted); missing: method rmu; the numbers below cover only "
        "what has finished"
    )
