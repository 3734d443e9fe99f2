"""Progress in a log file: one line per finished loop / stage, no redrawn bars or escape codes."""

from __future__ import annotations

import io
import re

from musebench.console import LineProgress, format_duration, is_terminal, note_line, progress_bar, trainer_progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_not_a_terminal_short_loop_prints_nothing(capsys):
    assert not is_terminal()  # pytest captures stderr
    bar = progress_bar(total=5, desc="generate verbmem", unit="req")
    assert isinstance(bar, LineProgress)
    for _ in range(5):
        bar.update(1)
    bar.close()
    assert list(progress_bar(range(3), desc="task vector")) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # the stage line says it ran; a short loop adds nothing


def test_a_long_loop_prints_a_line_every_30s_with_elapsed_and_time_left(capsys):
    clock = _Clock()
    note_line(0.0)
    bar = LineProgress(total=10, desc="generate verbmem", unit="req", every=30, clock=clock)
    for t in (10, 20, 31, 40):
        clock.now = t
        bar.update(1)
    bar.close()
    bar.close()  # closing twice prints nothing more
    # at 31 s: 3 of 10 done, 31 / 3 * 7 = 72.3 s left; closing: the loop printed, so its end is printed too
    assert capsys.readouterr().err.splitlines() == [
        "generate verbmem: 3/10 req, 31s elapsed, ~1m12s left",
        "generate verbmem: 4/10 req in 40s",
    ]


def test_the_heartbeat_is_shared_by_every_loop(capsys):
    """A new loop does not restart the 30 s: the log hears from some loop at least every 30 s of work."""
    clock = _Clock()
    note_line(0.0)
    first = LineProgress(total=100, desc="a", every=30, clock=clock)
    clock.now = 31
    first.update(1)  # prints (31 s since the last line)
    first.close()
    clock.now = 35
    second = LineProgress(total=100, desc="b", every=30, clock=clock)
    clock.now = 50
    second.update(1)  # 19 s since a's line: quiet
    clock.now = 62
    second.update(1)  # 31 s: prints, though b itself has run only 27 s
    assert capsys.readouterr().err.splitlines() == [
        "a: 1/100 it, 31s elapsed, ~51m09s left",
        "a: 1/100 it in 31s",
        "b: 2/100 it, 27s elapsed, ~22m03s left",
    ]


def test_format_duration():
    assert [format_duration(s) for s in (0.4, 59.6, 61, 3599, 3661, 7322)] == [
        "0s",
        "1m00s",
        "1m01s",
        "59m59s",
        "1h01m",
        "2h02m",
    ]


def test_trainer_steps_become_log_lines_and_a_resumed_run_counts_what_is_left(capsys, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setenv("MUSEBENCH_PROGRESS_SECONDS", "0")  # every step prints
    callback = trainer_progress("build/target")
    state = SimpleNamespace(is_world_process_zero=True, max_steps=5, global_step=2)  # resumed at step 2
    callback.on_train_begin(None, state, None)
    for step in (3, 4, 5):
        state.global_step = step
        callback.on_step_end(None, state, None)
    callback.on_train_end(None, state, None)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "build/target: 1/3 steps",
        "build/target: 2/3 steps",
        "build/target: 3/3 steps",
    ]
    assert "left" in lines[0] and "left" not in lines[2]  # no closing line: the build prints its own summary


def test_unlearning_epoch_line_says_elapsed_and_time_left():
    from types import SimpleNamespace

    from musebench.unlearn.callbacks import EpochLogCallback

    callback = EpochLogCallback(print)
    callback.on_train_begin(None, SimpleNamespace(epoch=1.0), None)  # resumed after epoch 1
    callback.started -= 20  # 20 s into the run
    assert callback._timing(2, 5) == " (20s elapsed, ~1m00s left)"  # one epoch in 20 s, three to go
    assert callback._timing(5, 5) == " (20s elapsed)"


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

    cfg = parse_experiment({"corpus": "news-mini", "methods": {"ga": {"num_train_epochs": 2}}})
    run_experiment(cfg, tmp_path / "run", fake_backend, reporter=ConsoleReporter("t"))
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err
    lines = err.splitlines()
    assert any(line.strip().startswith("✓ methods/ga/unlearn") for line in lines)
    assert lines[-1].startswith("t: ") and "(done)" in lines[-1]
    stage_line = next(line for line in lines if "methods/ga/unlearn" in line)
    assert re.search(r"0\.0s   \[ *\d+%, \d+s elapsed\]", stage_line)  # where the whole run is, on its line
    assert len(lines) == len(list((tmp_path / "run" / "stages").rglob("*.json"))) + 1
