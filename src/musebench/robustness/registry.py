"""``ATTACKS``: C7's attacks by name, one entry each, read by the experiment, ``musebench attack`` and the audit.

An ``Attack`` says what it needs, how a model is scored under it (``evaluate``: the experiment and the CLI),
how an attacked copy of a loaded model is made (``attacked``: the audit, which probes it itself) and what its
control is. ``docs/adding_a_metric.md`` (section "Adding an attack") walks through a new one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from musebench.errors import ConfigError
from musebench.robustness.quantize import SCHEMES, QuantizeAttack
from musebench.robustness.relearn import RelearnBudget


@dataclass(frozen=True)
class Attack:
    """One C7 attack. ``evaluate(model_path, corpus, settings, value, *, metrics, retrain_auc, device, dtype,
    progress)`` returns the attacked model's scores (``{"scores", "ci", "items"}``, relearning ``{"before",
    "after", "losses"}``); ``attacked(model, tokenizer, source, value, texts, device, seed)`` returns an attacked copy
    ``(model, tokenizer, label)`` of a loaded model, or is None where the attack changes the probe, not the
    model."""

    name: str
    summary: str
    control: str  # the control it is compared with, in words
    evaluate: Callable[..., dict]
    attacked: Callable[..., tuple] | None = None
    option: str | None = None  # what ``NAME:OPTION`` sets (``--attacks quantize:nf4``); None: takes none
    default: str | None = None
    parse: Callable[[str], Any] = str  # the option's text -> its value (ValueError: not one)
    check: Callable[[Any, str], None] | None = None  # (value, device): can it run here, before anything loads
    needs: tuple[str, ...] = ()  # corpus parts it reads beyond the criteria it scores
    trains: bool = False  # fine-tunes the weights: a WHP / ULD checkpoint (two models' logits) cannot take it
    library: str | None = None  # an optional package it needs (the ``extra`` that installs it)
    extra: str | None = None
    measured_as: str = "quantize"  # C7's recovery measure (``robustness.recovery.STATS``): quantize = the
    # attacked model on the same probes, relearn = before / after beside the retrain control, paraphrase = new probes
    describe: Callable[[Any], str] | None = None  # value -> what was done, in words (the audit's page)
    titles: Mapping[str, str] = field(default_factory=dict, hash=False)  # variant -> its name on the report ("" = none)

    def stage(self, variant: str = "") -> str:
        """Its name in stage names and ``results.json``: ``quantize-nf4``, ``relearn-retain``, ``paraphrase``."""
        return f"{self.name}-{variant}" if variant else self.name

    def title(self, variant: str = "") -> str:
        """Its name on the report (``NF4 (4-bit)``); the stage name where it gives none."""
        return self.titles.get(variant, self.stage(variant))

    def library_missing(self) -> bool:
        """Whether its optional package is absent (a broken or blocked install counts as missing)."""
        if self.library is None:
            return False
        try:
            return importlib.util.find_spec(self.library) is None
        except (ImportError, ValueError):
            return True

    def value(self, option: str | None, where: str = "--attacks") -> Any:
        """The value of ``NAME:OPTION`` (the default without one); a bad option is one error naming it."""
        text = option or self.default
        if self.option is None:
            if option:
                raise ConfigError(f"{self.name} takes no option", field=where, value=f"{self.name}:{option}")
            return None
        try:
            return self.parse(text)
        except ValueError:
            raise ConfigError(
                f"{self.name} takes {self.option}, e.g. {self.name}:{self.default}",
                field=where,
                value=f"{self.name}:{option}",
            ) from None


# ----- the built-in attacks ---------------------------------------------------------------------------------
def _quantized(
    model_path,
    corpus,
    settings,
    scheme,
    *,
    metrics=None,
    retrain_auc=None,
    device="cpu",
    dtype=None,
    progress=False,
) -> dict:
    from musebench.robustness.attacks import quantized_scores

    return quantized_scores(model_path, scheme, corpus, settings, metrics, retrain_auc, device, progress)


def _quantized_copy(model, tokenizer, source, scheme, texts, device, seed):
    from musebench.robustness.quantize import load_quantized

    loaded = load_quantized(source, scheme, device)
    return loaded.model, loaded.tokenizer, f"{source} ({scheme})"


def _check_scheme(scheme: str, device: str) -> None:
    from musebench.robustness.quantize import check_scheme

    check_scheme(scheme, device)


def _relearned(
    model_path,
    corpus,
    settings,
    run,
    *,
    metrics=None,
    retrain_auc=None,
    device="cpu",
    dtype=None,
    progress=False,
) -> dict:
    """``run`` = (the ``RelearnSplit``, the ``RelearnBudget`` or its ``to_dict()``); the split holds the texts."""
    from musebench.robustness.attacks import relearned_scores

    split, budget = run
    budget = RelearnBudget(**budget) if isinstance(budget, Mapping) else budget
    return relearned_scores(model_path, split, budget, settings, device, dtype, progress)


#: The audit's relearning rate (docs/audit.md): gentler than C7's default (``RelearnBudget.learning_rate``), since the
#: audit probes one model's own documents
AUDIT_RELEARN_LR = 1e-4


def _relearned_copy(model, tokenizer, source, steps, texts, device, seed):
    import copy
    import tempfile

    from musebench.robustness.relearn import relearn_in_memory

    if not hasattr(model, "save_pretrained"):
        raise ConfigError(
            "the relearning attack fine-tunes one model's weights; a WHP checkpoint combines two models' logits",
            file=source,
            field="--attacks",
        )
    twin = copy.deepcopy(model)
    with tempfile.TemporaryDirectory(prefix="musebench-relearn-") as work:
        budget = RelearnBudget(steps=steps, learning_rate=AUDIT_RELEARN_LR, seed=seed)
        relearn_in_memory(twin, tokenizer, texts, budget, device, work, desc=f"audit/relearn:{steps}")
    return twin, tokenizer, f"{source} (relearned {steps} steps)"


def _rephrased(
    model_path,
    corpus,
    settings,
    _value,
    *,
    metrics=None,
    retrain_auc=None,
    device="cpu",
    dtype=None,
    progress=False,
) -> dict:
    from musebench.robustness.attacks import paraphrase_corpus, plain_scores

    return plain_scores(model_path, paraphrase_corpus(corpus), settings, ["knowmem_f"], None, device, dtype, progress)


def _relearn_words(steps: int) -> str:
    budget = RelearnBudget(steps=steps, learning_rate=AUDIT_RELEARN_LR)
    return f"{steps} steps (lr {budget.learning_rate:g}, batch {budget.batch_size}) of fine-tuning"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


QUANTIZE = Attack(
    "quantize",
    "load the model with bitsandbytes int8 / NF4 / FP4 (BitsAndBytesConfig) and score it",
    "the target and retrain models quantized the same way (what quantization alone does)",
    _quantized,
    _quantized_copy,
    option=f"a scheme ({', '.join(SCHEMES)})",
    default=QuantizeAttack().scheme,
    check=_check_scheme,
    library="bitsandbytes",
    extra="quant",
    describe=lambda scheme: f"weights quantized to {scheme} with bitsandbytes",
    titles={"int8": "int8", "nf4": "NF4 (4-bit)", "fp4": "FP4 (4-bit)"},
)
RELEARN = Attack(
    "relearn",
    "fine-tune briefly on a slice of the forget set (or on retain text) and score the rest",
    "the retrain model relearned the same way (what the slice teaches a model that never saw the forget set)",
    _relearned,
    _relearned_copy,
    option="a number of steps",
    default=str(RelearnBudget().steps),
    parse=_positive_int,
    needs=("forget",),
    trains=True,
    describe=_relearn_words,
    measured_as="relearn",
    titles={"forget-slice": "relearn on forget slice", "retain": "relearn on retain"},
)
PARAPHRASE = Attack(
    "paraphrase",
    "KnowMem on the rephrased forget questions (knowmem/forget_qa_paraphrase.json)",
    "the target model's KnowMem on the same rephrased questions",
    _rephrased,
    needs=("knowmem_forget_qa_paraphrase",),
    measured_as="paraphrase",
    titles={"": "rephrased questions"},
)

ATTACKS: dict[str, Attack] = {a.name: a for a in (QUANTIZE, RELEARN, PARAPHRASE)}


def register_attack(attack: Attack) -> Attack:
    """Make ``attack`` known by its name to the experiment, ``musebench attack`` and the audit."""
    if attack.name in ATTACKS:
        raise ConfigError("an attack of that name is already registered", field="name", value=attack.name)
    ATTACKS[attack.name] = attack
    return attack


def parse_attack(spec: str, where: str = "--attacks") -> tuple[Attack, Any]:
    """``"quantize:nf4"`` -> (the attack, its value); an unknown name or bad option is one error."""
    name, _, option = spec.partition(":")
    attack = ATTACKS.get(name.strip().lower())
    if attack is None:
        examples = ", ".join(f"{a.name}:{a.default}" if a.option else a.name for a in ATTACKS.values())
        raise ConfigError(
            f"unknown attack; choose from {', '.join(ATTACKS)} (e.g. {examples})", field=where, value=spec
        )
    return attack, attack.value(option.strip() or None, where)


def stage_title(stage: str) -> str:
    """A stage's name on the report (``quantize-nf4`` -> ``NF4 (4-bit)``), written into ``results.json``."""
    found = attack_of(stage)
    return found[0].title(found[1]) if found is not None else stage


def attack_of(stage: str) -> tuple[Attack, str] | None:
    """The attack and variant a stage / results name stands for (``relearn-retain`` -> relearn, retain)."""
    for attack in ATTACKS.values():
        if stage == attack.name or stage.startswith(f"{attack.name}-"):
            return attack, stage[len(attack.name) + 1 :]
    return None
