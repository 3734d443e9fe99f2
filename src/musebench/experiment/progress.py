"""Progress of a run on the terminal: one overall bar (stages done / planned, with ETA) and a line per stage.

The inner work (training steps, evaluation batches) shows its own bars; this bar says where the run is.
"""

from __future__ import annotations

import sys

from musebench.experiment.stages import StageOutcome


class NullReporter:
    def plan(self, total: int) -> None: ...

    def add(self, n: int) -> None: ...

    def start(self, name: str) -> None: ...

    def finish(self, outcome: StageOutcome) -> None: ...

    def close(self) -> None: ...


class ConsoleReporter(NullReporter):
    def __init__(self, title: str):
        self.title = title
        self.bar = None

    def plan(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=self.title, unit="stage", file=sys.stderr, position=0,
                        dynamic_ncols=True, bar_format="{desc}: {n_fmt}/{total_fmt} stages "
                                                       "[{elapsed}<{remaining}] {postfix}")

    def add(self, n: int) -> None:
        if self.bar is not None and n:
            self.bar.total += n
            self.bar.refresh()

    def start(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def finish(self, outcome: StageOutcome) -> None:
        if self.bar is None:
            return
        state = "cached" if outcome.cached else f"{outcome.wall_s:6.1f}s"
        self.bar.write(f"  {'·' if outcome.cached else '✓'} {outcome.name:<48} {state}", file=sys.stderr)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
