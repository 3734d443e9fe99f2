"""The audit's knobs, one typed dataclass: every field is recorded in ``audit.json`` so a verdict can be
reproduced exactly, and every default is the one the documentation (docs/audit.md) explains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from musebench.errors import ConfigError
from musebench.evaluate.settings import EvalSettings

#: The probe families an audit can run; ``--probes`` picks a subset.
PROBES = ("verbatim", "knowledge", "membership")


def audit_evaluation() -> EvalSettings:
    """The evaluation knobs an audit runs with: the engine's, with documents scored up to 2,048 tokens (BOS
    counts; longer ones are cut) and 2 GB of activations a batch."""
    return EvalSettings(privleak_max_length=2048, memory_budget_gb=2.0)


@dataclass(frozen=True)
class AuditSettings:
    """How probes are generated from the documents and how the verdict is reached. ``eval``: the
    evaluation settings the probes are scored with (batching, the membership length and Min-K%'s K, the
    bootstrap's resamples and the seed of sampling, shots and bootstrap)."""

    probes: tuple[str, ...] = field(default=PROBES, metadata={"help": "probe families to run"})
    continuation_tokens: int = field(
        default=50,
        metadata={"help": "verbatim: tokens the model must continue (50: Carlini et al.'s extractable memorization)"},
    )
    prefix_tokens: int = field(
        default=32, metadata={"help": "verbatim: tokens of document text given before each continuation"}
    )
    min_prefix_tokens: int = field(
        default=8,
        metadata={
            "help": "verbatim: a shorter document gets one probe with all its text before the continuation, "
            "if at least this many tokens"
        },
    )
    chunks_per_doc: int = field(default=4, metadata={"help": "verbatim: most probes drawn per document"})
    cloze_per_doc: int = field(default=3, metadata={"help": "knowledge: most cloze sentences per document"})
    cloze_shots: int = field(default=3, metadata={"help": "knowledge: solved cloze examples in each prompt"})
    cloze_max_new_tokens: int = field(default=16, metadata={"help": "knowledge: answer budget in tokens"})
    min_documents: int = field(
        default=3,
        metadata={
            "help": "a probe with fewer units (people, sources or documents) a side than this is reported but "
            "not judged"
        },
    )
    alpha: float = field(
        default=0.05,
        metadata={"help": "family-wise false-alarm rate of 'leak' over every probe and attack (Holm)"},
    )
    equivalence_margin: float = field(
        default=0.5,
        metadata={
            "help": "equivalence margin in standard deviations of the per-document values (membership: the "
            "AUC distance from 0.5 of two samples this far apart, 0.14 at 0.5); see docs/audit.md"
        },
    )
    min_units_equivalence: int = field(
        default=10,
        metadata={"help": "units (people, sources or documents) a side needs before equivalence is claimed"},
    )
    eval: EvalSettings = field(default_factory=audit_evaluation)

    def __post_init__(self):
        object.__setattr__(self, "probes", tuple(self.probes))
        unknown = [p for p in self.probes if p not in PROBES]
        if unknown or not self.probes:
            raise ConfigError(
                f"choose one or more of {', '.join(PROBES)}",
                field="probes",
                value=unknown[0] if unknown else "",
            )
        for name in (
            "continuation_tokens",
            "prefix_tokens",
            "min_prefix_tokens",
            "chunks_per_doc",
            "cloze_per_doc",
            "cloze_max_new_tokens",
            "min_documents",
            "min_units_equivalence",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError("must be an integer >= 1", field=f"AuditSettings.{name}", value=value)
        if self.min_prefix_tokens > self.prefix_tokens:
            raise ConfigError(
                "must not exceed prefix_tokens",
                field="AuditSettings.min_prefix_tokens",
                value=self.min_prefix_tokens,
            )
        if not isinstance(self.cloze_shots, int) or self.cloze_shots < 0:
            raise ConfigError("must be an integer >= 0", field="AuditSettings.cloze_shots", value=self.cloze_shots)
        if self.eval.bootstrap_samples < 1:  # the verdict needs intervals
            raise ConfigError(
                "must be an integer >= 1", field="EvalSettings.bootstrap_samples", value=self.eval.bootstrap_samples
            )
        if self.eval.privleak_max_length is None:  # a document is scored in one forward
            raise ConfigError("the audit cuts documents: give a length", field="EvalSettings.privleak_max_length")
        if not 0 < self.alpha < 1:
            raise ConfigError("must be in (0, 1)", field="AuditSettings.alpha", value=self.alpha)
        if not self.equivalence_margin > 0:
            raise ConfigError("must be > 0", field="AuditSettings.equivalence_margin", value=self.equivalence_margin)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["probes"] = list(self.probes)
        return d
