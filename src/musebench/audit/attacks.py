"""The C7 attacks as the audit uses them: the same probes rerun on an attacked copy of the audited model.

- ``quantize[:SCHEME]`` (int8, nf4, fp4; default nf4): the model loaded through ``BitsAndBytesConfig``
  (``musebench.robustness.quantize``); unlearning that moved weights less than one quantization step
  comes undone (Zhang et al., ICLR 2025).
- ``relearn[:STEPS]`` (default 10): a copy fine-tuned for a few steps on a seeded half of the forget
  documents' units (people or sources when the documents name them; ``musebench.robustness.relearn``); its
  probes are then measured on the *other* half, less any document that shares a word 8-gram with a relearned
  one (Hu et al., ICLR 2025). Relearning similar text teaches any model something, so the attack has a
  control on the never-seen side (``api._run_attack``). The model on disk is never touched.
"""

from __future__ import annotations

import copy
import importlib.util
import random
import tempfile

from musebench.audit.api import Attack, AuditModel
from musebench.audit.documents import DocumentSet, shingles
from musebench.errors import ConfigError

ATTACKS = ("quantize", "relearn")
RELEARN_FRACTION = 0.5


def parse_attacks(spec: list[str] | None, device: str, seed: int = 0) -> list[Attack]:
    """``["quantize:nf4", "relearn:10"]`` -> attacks; unknown names or options fail before any model loads."""
    parsed = []
    for item in spec or []:
        name, _, option = item.partition(":")
        name = name.strip().lower()
        if name not in ATTACKS:
            raise ConfigError(
                f"unknown attack; choose from {', '.join(ATTACKS)} (e.g. quantize:nf4, relearn:10)",
                field="--attacks",
                value=item,
            )
        if name == "relearn":
            try:
                option = int(option or 10)
            except ValueError:
                raise ConfigError(
                    "relearn takes a number of steps, e.g. relearn:10", field="--attacks", value=item
                ) from None
        parsed.append((name, option))
    if parsed and importlib.util.find_spec("musebench.robustness") is None:
        raise ConfigError(
            "the attacks need the musebench.robustness package (criterion C7), not in this installation",
            field="--attacks",
            value=",".join(spec),
        )
    make = {"quantize": lambda opt: quantize_attack(opt or "nf4", device),
            "relearn": lambda opt: relearn_attack(opt, device, seed)}
    return [make[name](option) for name, option in parsed]


def quantize_attack(scheme: str, device: str) -> Attack:
    from musebench.robustness.quantize import check_scheme

    check_scheme(scheme, device)  # bitsandbytes present and able to run it here, before anything loads

    def make(model: AuditModel, _texts: list[str]) -> AuditModel:
        from musebench.robustness.quantize import load_quantized

        loaded = load_quantized(model.source, scheme, device)
        return AuditModel(loaded.model, loaded.tokenizer, f"{model.source} ({scheme})")

    return Attack(f"quantize:{scheme}", f"weights quantized to {scheme} with bitsandbytes", make)


def relearn_split(docs: DocumentSet, seed: int) -> tuple[list[int], list[int]]:
    """(relearned, probed): a seeded ``RELEARN_FRACTION`` of the units relearned; the probed documents are
    the other units' documents that share no word 8-gram with a relearned one (split by content)."""
    labels = list(docs.groups) if docs.groups is not None else [str(i) for i in range(len(docs))]
    units = sorted(set(labels))
    k = max(1, round(len(units) * RELEARN_FRACTION))
    if k >= len(units):
        raise ConfigError(
            "the relearning attack needs at least 2 units of documents (half relearned, half probed)",
            field="--attacks",
            value="relearn",
        )
    chosen = set(random.Random(f"audit-relearn/{seed}/{docs.fingerprint()}").sample(units, k))
    relearned = [i for i, u in enumerate(labels) if u in chosen]
    seen = set().union(*(shingles(docs.documents[i]) for i in relearned))
    probed = [i for i, u in enumerate(labels) if u not in chosen and not shingles(docs.documents[i]) & seen]
    if not probed:
        raise ConfigError("every document left to probe shares a word 8-gram with a relearned one",
                          field="--attacks", value="relearn")
    return relearned, probed


def relearn_attack(steps: int, device: str, seed: int) -> Attack:
    from musebench.robustness.relearn import RelearnBudget

    budget = RelearnBudget(steps=steps, seed=seed)

    def make(model: AuditModel, texts: list[str]) -> AuditModel:
        from musebench.robustness.relearn import relearn_in_memory

        if not hasattr(model.model, "save_pretrained"):
            raise ConfigError(
                "the relearning attack fine-tunes one model's weights; a WHP checkpoint combines "
                "two models' logits",
                file=model.source,
                field="--attacks",
            )
        twin = copy.deepcopy(model.model)
        with tempfile.TemporaryDirectory(prefix="musebench-audit-relearn-") as work:
            relearn_in_memory(twin, model.tokenizer, texts, budget, device, work, desc=f"audit/relearn:{steps}")
        return AuditModel(twin, model.tokenizer, f"{model.source} (relearned {steps} steps)")

    return Attack(
        f"relearn:{steps}",
        f"{steps} steps (lr {budget.lr:g}, batch {budget.batch_size}) of fine-tuning "
        f"on half of the forget documents' units; probed on the other half (no shared word 8-gram); control: "
        f"the same attack on the never-seen side",
        make,
        trains_on=lambda docs: relearn_split(docs, seed),
    )
