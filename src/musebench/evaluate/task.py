"""A criterion of the evaluation as a task object, in lm-evaluation-harness's shape.

A ``Task`` declares what it needs from the corpus, builds its requests, turns the model's outputs into
per-example rows and the rows into its scores. The engine (``engine.evaluate``) loops over the selected tasks
of ``registry.TASKS``; it knows no criterion by name. ``docs/adding_a_metric.md`` walks through a new one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from musebench.criteria import Score
from musebench.evaluate.settings import EvalSettings


@dataclass
class EvalContext:
    """One evaluation as its tasks see it: the inputs, and the result they fill in."""

    model: Any
    tokenizer: Any
    corpus: Any
    settings: EvalSettings
    runner: Any  # ``runner.Runner``: deduplicates, batches and caches requests
    selected: list[str]
    boot: dict  # bootstrap arguments: ``samples``, ``seed``
    retrain_auc: float | None = None  # PrivLeak's denominator (a ``privacy.MeasuredAUC`` when measured)
    retrain_source: str | None = None
    reference_model: Any = None
    cache_dir: Any = None
    device: Any = None
    scores: dict[str, float | None] = field(default_factory=dict)
    ci: dict[str, list[float] | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)  # the tasks' own provenance entries
    privacy: dict = field(default_factory=dict)


def text_of(item) -> str:
    """The text of a corpus item that must not be empty: the item itself, a VerbMem prompt, a question."""
    if isinstance(item, str):
        return item
    return item.prompt if hasattr(item, "prompt") else item.question


class Task:
    """One selectable criterion. Subclasses set the class attributes and the four steps below."""

    name: str  # what ``--metrics`` selects
    description: str = ""
    needs: tuple[str, ...] = ()  # corpus parts (``Corpus`` attributes) it cannot run without
    checked: tuple[str, ...] | None = None  # parts whose texts must be non-empty (None: ``needs``)
    scores: tuple[Score, ...] = ()  # what it reports: each score's key, direction, unit and range
    aliases: tuple[str, ...] = ()  # other names ``--metrics`` accepts for it
    default: bool = True  # computed when no criteria are named (else only by name or 'all')
    covers: tuple[str, ...] = ()  # tasks whose results this one computes too (run once)
    version: int = 1  # bump when what it computes changes
    kind: str = "generate"  # "generate" or "logprobs": which runner call serves its requests
    group: str | None = None  # the runner's request group (cache files); None: ``kind-name``
    provenance: ClassVar[Mapping[str, Any]] = {}  # its provenance entries as they read when it does not run

    def prepare(self, ctx: EvalContext) -> None:
        """Before any model call: warnings and provenance that need no outputs."""

    def prefetch(self) -> None:
        """Import what ``rows`` / ``score`` need (runs in a thread while the model works)."""

    def requests(self, ctx: EvalContext) -> list:
        raise NotImplementedError

    def outputs(self, ctx: EvalContext, requests: list) -> Any:
        """The runner's outputs for ``requests`` (by ``request.key()``)."""
        run = ctx.runner.generate if self.kind == "generate" else ctx.runner.token_logprobs
        return run(self.group or f"{self.kind}-{self.name}", requests)

    def rows(self, ctx: EvalContext, requests: list, outputs: Any) -> list[dict]:
        """Per-example rows (``per_example.jsonl``): ``criterion``, ``index``, ``input``, ``scores``..."""
        raise NotImplementedError

    def score(self, ctx: EvalContext, rows: list[dict]) -> None:
        """Set ``ctx.scores`` / ``ctx.ci`` (and notes) from the rows."""
        raise NotImplementedError

    def empty_texts(self, corpus) -> Iterator[str]:
        """``part[i]`` of every text it would read that is empty (reported before any model call)."""
        for part in self.needs if self.checked is None else self.checked:
            for i, item in enumerate(getattr(corpus, part)):
                if not text_of(item).strip():
                    yield f"{part}[{i}]"
