"""Progress in a log file: one line per finished loop / stage, no redrawn bars or escape codes."""

from __future__ import annotations

import io

from musebench.console import LineProgress, is_terminal, progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gets_one_line_per_loop(capsys):
    assert not is_terminal()  # pytest captures stderr
    bar = progress_bar(total=5, desc="generate verbmem", unit="req")
    assert isinstance(bar, LineProgress)
    for _ in range(5):
        bar.update(1)
    bar.close()
    bar.close()  # closing twice prints nothing more
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("generate verbmem: 5/5 req in ") and "\r" not in err


def test_iterating_prints_once_at_the_end(capsys):
    assert list(progress_bar(range(3), desc="task vector")) == [0, 1, 2]
    assert capsys.readouterr().err.splitlines()[0].startswith("task vector: 3/3 it in ")


def test_disabled_or_empty_loop_prints_nothing(capsys):
    progress_bar(total=4, desc="x", disable=True).close()
    LineProgress(total=0, desc="y").close()
    assert capsys.readouterr().err == ""


def test_terminal_keeps_tqdm(monkeypatch):
    import sys

    from tqdm.auto import tqdm

    monkeypatch.setattr(sys, "stderr", _Tty())
    assert is_terminal()
    bar = progress_bar(total=2, desc="z")
    assert isinstance(bar, tqdm)
    bar.close()


def test_run_reporter_in_a_log_is_one_line_per_stage(tmp_path, fake_backend, capsys):
    from musebench.experiment.config import parse_experiment
    from musebench.experiment.progress import ConsoleReporter
    from musebench.experiment.runner import run_experiment

    cfg = parse_experiment({"corpus": "news-mini", "methods": {"ga": {"epochs": 2}}})
    run_experiment(cfg, tmp_path / "run", fake_backend, reporter=ConsoleReporter("t"))
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err
    lines = err.splitlines()
    assert any(line.strip().startswith("✓ methods/ga/unlearn") for line in lines)
    assert lines[-1].startswith("t: ") and "(done)" in lines[-1]
    assert len(lines) == len(list((tmp_path / "run" / "stages").rglob("*.json"))) + 1
