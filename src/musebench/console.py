"""Progress that reads well both on a terminal and in a log file.

On a terminal, tqdm redraws its bars in place. Redirected to a file (``make demo > log``) the same bars
become thousands of ``\\r`` fragments and escape codes, so there every loop is a ``LineProgress`` instead: it
stays silent while the work is short and, once ``PROGRESS_EVERY`` seconds have passed since the last progress
line of ANY loop, prints one line (what, how far, elapsed, estimated time left), so a log never goes quiet for
longer than that while work goes on; a loop that printed along the way prints a last line when it ends.
Training loops (model builds, unlearning) feed the same lines through ``trainer_progress``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

#: Seconds of work between two progress lines in a log ($MUSEBENCH_PROGRESS_SECONDS overrides).
PROGRESS_EVERY = 30.0


def progress_every() -> float:
    try:
        return max(0.0, float(os.environ.get("MUSEBENCH_PROGRESS_SECONDS", PROGRESS_EVERY)))
    except ValueError:
        return PROGRESS_EVERY


class _LastLine:
    """When any progress line was last printed: the heartbeat is shared by every loop of the process."""

    at: float | None = None


def note_line(now: float | None = None) -> None:
    """Record that a progress line (a loop's or a stage's) was just printed."""
    _LastLine.at = time.monotonic() if now is None else now


def stage_line(text: str, file=None) -> None:
    """One line for a finished stage of long work, in a log only (a terminal shows the loops' own bars)."""
    if not is_terminal(file):
        print(text, file=file or sys.stderr, flush=True)
        note_line()


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stderr, where progress goes) is an interactive terminal."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: short enough for a progress line."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress_text(desc: str, n: int, total: int | None, unit: str, elapsed: float) -> str:
    """``build/target: 200/1260 steps, 2m10s elapsed, ~11m29s left``."""
    of = f"/{total}" if total else ""
    text = f"{desc}: {n}{of} {unit}, {format_duration(elapsed)} elapsed"
    if total and 0 < n < total:
        text += f", ~{format_duration(elapsed / n * (total - n))} left"
    return text


class LineProgress:
    """The part of tqdm's interface musebench uses, writing whole lines (see the module docstring).

    ``summary=True``: always print a closing line (the run's overall progress), even for short work;
    ``closing_line=False``: never (the caller prints its own summary when the loop ends).
    """

    def __init__(
        self,
        iterable=None,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        file=None,
        summary: bool = False,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        closing_line: bool = True,
    ):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit, self.file = desc, unit, file
        self.summary = summary
        self.closing_line = closing_line
        self.every = progress_every() if every is None else every
        self.clock = clock
        self.n = 0
        self.postfix = ""
        self._start = clock()
        if _LastLine.at is None or _LastLine.at > self._start:
            _LastLine.at = self._start
        self._printed = False
        self._closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        return self.clock() - self._start

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - (_LastLine.at if _LastLine.at is not None else self._start) >= self.every:
            self.write(
                progress_text(self.desc, self.n, self.total, self.unit, now - self._start)
                + (f" ({self.postfix})" if self.postfix else "")
            )
            self._printed = True

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def refresh(self) -> None: ...

    def write(self, text: str, file=None) -> None:
        print(text, file=file or self.file or sys.stderr, flush=True)
        note_line(self.clock())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.n or not self.closing_line or not (self._printed or self.summary):
            return
        of = f"/{self.total}" if self.total else ""
        extra = f" ({self.postfix})" if self.postfix else ""
        self.write(f"{self.desc}: {self.n}{of} {self.unit} in {format_duration(self.elapsed)}{extra}")


def progress_bar(
    iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it", disable: bool = False, **tqdm_kwargs
):
    """A tqdm bar on a terminal; a ``LineProgress`` (a line every ~30 s of work) when stderr is not one."""
    from tqdm.auto import tqdm

    if disable or is_terminal():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, **tqdm_kwargs)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, file=tqdm_kwargs.get("file"))


def trainer_progress(desc: str, unit: str = "steps"):
    """A ``transformers.TrainerCallback`` feeding the Trainer's steps to a ``LineProgress`` (for a log file,
    where the Trainer's own bar is switched off): a line every ~30 s with steps, elapsed and time left."""
    from transformers import TrainerCallback

    class LineProgressCallback(TrainerCallback):
        def __init__(self):
            self.bar: LineProgress | None = None
            self.first = 0

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:  # a resumed run counts (and times) only the steps left
                self.first = state.global_step
                left = state.max_steps - state.global_step if state.max_steps else None
                # no closing line: the build prints "trained N steps ...", unlearning its epoch line
                self.bar = LineProgress(total=left, desc=desc, unit=unit, closing_line=False)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.first - self.bar.n)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    return LineProgressCallback()
