"""Progress that reads well both on a terminal and in a log file.

On a terminal, tqdm redraws its bars in place. Redirected to a file (``make demo > log``) the same bars
become thousands of ``\\r`` fragments and escape codes, so there every loop prints ONE line when it
finishes (what, how many, how long) instead.
"""

from __future__ import annotations

import sys
import time


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stderr, where progress goes) is an interactive terminal."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class LineProgress:
    """The part of tqdm's interface musebench uses, printing one summary line at ``close()``."""

    def __init__(self, iterable=None, total: int | None = None, desc: str = "", unit: str = "it", file=None):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit, self.file = desc, unit, file
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.n += 1
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def refresh(self) -> None: ...

    def write(self, text: str, file=None) -> None:
        print(text, file=file or self.file or sys.stderr, flush=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.n:
            return
        of = f"/{self.total}" if self.total else ""
        extra = f" ({self.postfix})" if self.postfix else ""
        self.write(f"{self.desc}: {self.n}{of} {self.unit} in {time.perf_counter() - self._start:.1f}s{extra}")


def progress_bar(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 disable: bool = False, **tqdm_kwargs):
    """A tqdm bar on a terminal; a ``LineProgress`` (one line when done) when stderr is not one."""
    from tqdm.auto import tqdm

    if disable or is_terminal():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, **tqdm_kwargs)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, file=tqdm_kwargs.get("file"))
