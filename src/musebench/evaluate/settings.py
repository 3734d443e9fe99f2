"""Scorer settings (paper defaults) and the published retrain AUCs used by PrivLeak.

Every field is part of the cache key and of the provenance written beside each result, so two numbers
computed under different budgets can never be mixed up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from musebench.errors import ConfigError

#: Retrain-model AUCs (Min-40%, forget vs holdout) of the public MUSE release; PrivLeak's denominators.
RELEASE_RETRAIN_AUC: dict[str, float] = {"news": 0.4772, "books": 0.5393}

#: K values (%) of the Min-K% attack the original scorer logs; K = 40 is the headline.
MINK_PERCENTS: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0)

#: Where KnowMem cuts a generated answer, in this order (MUSE's rule).
KNOWMEM_CUTS: tuple[str, ...] = ("\n\n", "\nQuestion", "Question:")

#: How the KnowMem prompt ends. ``faithful``: ``"Answer: "`` with the trailing space, as MUSE's scorer (and so
#: the published numbers); ``no_trailing_space``: ``"Answer:"``, for tokenizers (SmolLM2, Gemma, Llama-3-style
#: BPE) that encode that space as a lone token a model rarely saw before an answer word, after which it writes
#: something else (a KnowMem of 0 that says nothing about knowledge). Either choice is recorded with the result.
KNOWMEM_PROMPTS: tuple[str, ...] = ("faithful", "no_trailing_space")


@dataclass(frozen=True)
class EvalSettings:
    """Token budgets and run options. Defaults are the paper's; the mini corpora set smaller budgets."""

    verbmem_max_new_tokens: int = field(default=128, metadata={"help": "VerbMem continuation length"})
    verbmem_gt_max_tokens: int = field(
        default=128, metadata={"help": "VerbMem reference = gt tokenized with BOS, cut to this many ids (BOS counts)"}
    )
    knowmem_max_new_tokens: int = field(default=32, metadata={"help": "KnowMem answer budget"})
    knowmem_num_shots: int | None = field(
        default=10, metadata={"help": "in-context examples in the KnowMem prompt (None = every ICL example given)"}
    )
    privleak_max_length: int | None = field(
        default=None,
        metadata={
            "help": "cut PrivLeak texts to this many tokens, BOS counted (None = score whole texts, as MUSE "
            "does; a limit is recorded in the provenance)"
        },
    )
    mink_k: float = field(default=40.0, metadata={"help": "K of the headline Min-K% attack"})
    batch_size: int | None = field(default=None, metadata={"help": "rows per batch (None = from memory budget)"})
    memory_budget_gb: float | None = field(
        default=None,
        metadata={"help": "memory per batch, GB (None = a share of the device's free memory at the start)"},
    )
    bootstrap_samples: int = field(default=1000, metadata={"help": "bootstrap resamples for the 95% CIs"})
    seed: int = field(default=0, metadata={"help": "seed of the bootstrap"})
    knowmem_prompt: str = field(
        default="faithful",
        metadata={
            "help": "end of the KnowMem prompt: 'faithful' = 'Answer: ' as MUSE (default), 'no_trailing_space' = "
            "'Answer:' (for tokenizers that make the trailing space a lone token)"
        },
    )

    def __post_init__(self):
        problems = []
        for name in ("verbmem_max_new_tokens", "verbmem_gt_max_tokens", "knowmem_max_new_tokens"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append((name, getattr(self, name), "must be an integer >= 1"))
        if self.privleak_max_length is not None and (
            not isinstance(self.privleak_max_length, int) or self.privleak_max_length < 2
        ):
            problems.append(
                (
                    "privleak_max_length",
                    self.privleak_max_length,
                    "must be an integer >= 2 (BOS and one scored token) or None",
                )
            )
        if self.knowmem_num_shots is not None and (
            not isinstance(self.knowmem_num_shots, int) or self.knowmem_num_shots < 0
        ):
            problems.append(("knowmem_num_shots", self.knowmem_num_shots, "must be >= 0 or None"))
        if not 0 < float(self.mink_k) <= 100:
            problems.append(("mink_k", self.mink_k, "must be in (0, 100]"))
        if self.batch_size is not None and (not isinstance(self.batch_size, int) or self.batch_size < 1):
            problems.append(("batch_size", self.batch_size, "must be >= 1 or None"))
        if self.memory_budget_gb is not None and not self.memory_budget_gb > 0:
            problems.append(("memory_budget_gb", self.memory_budget_gb, "must be > 0"))
        if not isinstance(self.bootstrap_samples, int) or self.bootstrap_samples < 0:
            problems.append(("bootstrap_samples", self.bootstrap_samples, "must be an integer >= 0"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            problems.append(("seed", self.seed, "must be an integer in [0, 2**32)"))
        if self.knowmem_prompt not in KNOWMEM_PROMPTS:
            problems.append(("knowmem_prompt", self.knowmem_prompt, f"must be one of {', '.join(KNOWMEM_PROMPTS)}"))
        if problems:
            name, value, why = problems[0]
            more = f" (and {len(problems) - 1} more: {', '.join(p[0] for p in problems[1:])})" if problems[1:] else ""
            raise ConfigError(why + more, field=f"EvalSettings.{name}", value=value)

    def to_dict(self) -> dict:
        return asdict(self)

    def scoring_key(self) -> dict:
        """The fields that change per-example outputs (batching and bootstrap do not)."""
        skip = {"batch_size", "memory_budget_gb", "bootstrap_samples", "seed"}
        if self.knowmem_prompt == "faithful":  # the default keeps the keys of evaluations cached before it existed
            skip.add("knowmem_prompt")
        return {k: v for k, v in asdict(self).items() if k not in skip}

    @classmethod
    def from_dict(cls, data: dict) -> EvalSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting; expected one of {sorted(known)}", field="EvalSettings", value=unknown[0]
            )
        return cls(**data)


def resolve_retrain_auc(value: float | str | None) -> tuple[float | None, str]:
    """A number, a release name ('news', 'books') or None -> (AUC or None, where it came from)."""
    if value is None:
        return None, "unavailable"
    if isinstance(value, str):
        key = value.strip().lower()
        if key in RELEASE_RETRAIN_AUC:
            return RELEASE_RETRAIN_AUC[key], f"release constant ({key})"
        try:
            value = float(key)
        except ValueError:
            raise ConfigError(
                f"expected a number in (0, 1] or one of {sorted(RELEASE_RETRAIN_AUC)}", field="retrain_auc", value=value
            ) from None
    value = float(value)
    if not 0 < value <= 1:
        raise ConfigError("a retrain AUC must be in (0, 1]", field="retrain_auc", value=value)
    return value, "given"
