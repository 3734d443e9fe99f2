"""Progress of a run on the terminal: one overall bar (work done / planned, with ETA) and a line per stage.

The inner work (training steps, evaluation batches) shows its own bars with their own ETA; this bar says
where the whole run is. Stages are weighted by their usual cost, so the overall ETA is not dominated by the
many short evaluations.
"""

from __future__ import annotations

import sys

from musebench.experiment.stages import StageOutcome


def stage_weight(name: str) -> int:
    """Rough relative cost of a stage on the mini benchmark (an evaluation of selection's metrics = 1)."""
    if name.startswith("build/"):
        return 20
    if name.startswith("finetuned/"):  # only registers a directory; the fine-tune is in the first unlearn stage
        return 0
    if name.endswith("/unlearn"):
        return 4
    if name.startswith("eval/") or name.endswith("/all"):
        return 3
    return 1


class NullReporter:
    def plan(self, total: int) -> None: ...

    def add(self, n: int) -> None: ...

    def start(self, name: str) -> None: ...

    def finish(self, outcome: StageOutcome) -> None: ...

    def complete(self) -> None: ...

    def close(self) -> None: ...


class ConsoleReporter(NullReporter):
    def __init__(self, title: str):
        self.title = title
        self.bar = None

    def plan(self, total: int) -> None:
        from tqdm.auto import tqdm

        from musebench.console import LineProgress, is_terminal

        if not is_terminal():  # a log file: one line per finished stage, no redrawn bar
            self.bar = LineProgress(
                total=total, desc=self.title, unit="units of work", file=sys.stderr, summary=True, every=float("inf")
            )  # its lines are the stage lines
            return
        self.bar = tqdm(
            total=total,
            desc=self.title,
            unit="unit",
            file=sys.stderr,
            position=0,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}% |{bar:20}| [{elapsed}<{remaining}] {postfix}",
        )

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
        from musebench.console import LineProgress

        state = (
            f"same as {outcome.same_as}"
            if outcome.same_as
            else "cached"
            if outcome.cached
            else f"{outcome.wall_s:6.1f}s"
        )
        self.bar.update(min(stage_weight(outcome.name), self.bar.total - self.bar.n))
        where = ""
        if isinstance(self.bar, LineProgress):  # a log: where the whole run is, on the stage's own line
            where = f"   [{self.bar.n * 100 // max(1, self.bar.total):3d}%, {self._eta()}]"
        self.bar.write(f"  {'·' if outcome.cached else '✓'} {outcome.name:<48} {state}{where}", file=sys.stderr)

    def _eta(self) -> str:
        from musebench.console import format_duration

        # no run-wide estimate of the time left: stage weights are rough (a model build is worth 20
        # evaluations here and 200 on another machine); the loops inside a stage print their own
        return f"{format_duration(self.bar.elapsed)} elapsed"

    def complete(self) -> None:
        """The run finished: fewer stages than planned may have run (selection stopped early)."""
        if self.bar is not None:
            self.bar.n = self.bar.total
            self.bar.set_postfix_str("done")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
