"""The C7 attacks as the audit uses them: the same probes rerun on an attacked copy of the audited model.

Every attack of ``musebench.robustness.registry.ATTACKS`` that makes an attacked copy of a model
(``Attack.attacked``): ``quantize[:SCHEME]`` (int8, nf4, fp4; default nf4) and ``relearn[:STEPS]`` (default
10). An attack that trains (relearning) is fitted on a seeded half of the forget documents' units (people or
sources when the documents name them) and probed on the *other* half, less any document that shares a word
8-gram with a relearned one (Hu et al., ICLR 2025). Relearning similar text teaches any model something, so
such an attack has a control on the never-seen side (``api._run_attack``). The model on disk is never touched.
"""

from __future__ import annotations

import importlib.util
import random

from musebench.audit.api import Attack, AuditModel
from musebench.audit.documents import DocumentSet, shingles
from musebench.errors import ConfigError

RELEARN_FRACTION = 0.5


def parse_attacks(spec: list[str] | None, device: str, seed: int = 0) -> list[Attack]:
    """``["quantize:nf4", "relearn:10"]`` -> attacks of ``robustness.registry.ATTACKS``; unknown names or
    options fail before any model loads."""
    if spec and importlib.util.find_spec("musebench.robustness") is None:
        raise ConfigError(
            "the attacks need the musebench.robustness package (criterion C7), not in this installation",
            field="--attacks",
            value=",".join(spec),
        )
    return [audit_attack(item, device, seed) for item in spec or []]


def audit_attack(item: str, device: str, seed: int) -> Attack:
    """One ``NAME[:OPTION]`` as the audit runs it: the registry's attacked copy, probed like the model."""
    from musebench.robustness.registry import ATTACKS, parse_attack

    attack, value = parse_attack(item)
    if attack.attacked is None:
        usable = ", ".join(a.name for a in ATTACKS.values() if a.attacked is not None)
        raise ConfigError(
            f"{attack.name} changes the probe, not the model: the audit runs {usable}", field="--attacks", value=item
        )
    if attack.check is not None:
        attack.check(value, device)  # e.g. bitsandbytes present and able to run the scheme here

    def make(model: AuditModel, texts: list[str]) -> AuditModel:
        return AuditModel(*attack.attacked(model.model, model.tokenizer, model.source, value, texts, device, seed))

    words = attack.describe(value) if attack.describe else f"{attack.name} {value}"
    if not attack.trains:
        return Attack(f"{attack.name}:{value}", words, make)
    return Attack(
        f"{attack.name}:{value}",
        f"{words} on half of the forget documents' units; probed on the other "
        f"half (no shared word 8-gram); control: the same attack on the never-seen side",
        make,
        trains_on=lambda docs: relearn_split(docs, seed),
    )


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
        raise ConfigError(
            "every document left to probe shares a word 8-gram with a relearned one", field="--attacks", value="relearn"
        )
    return relearned, probed
