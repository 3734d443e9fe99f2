"""The C7 attacks as the audit runs them: parsed up front; the relearned copy leaves the model alone."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from musebench.audit.attacks import parse_attacks, relearn_split
from musebench.errors import ConfigError

pytest.importorskip("musebench.robustness", reason="the C7 package (musebench.robustness) is not installed")


def test_attack_names_and_options_fail_before_any_model_loads():
    with pytest.raises(ConfigError, match="unknown attack"):
        parse_attacks(["prune"], "cpu")
    with pytest.raises(ConfigError, match="number of steps"):
        parse_attacks(["relearn:many"], "cpu")
    with pytest.raises(ConfigError, match="quantization scheme"):
        parse_attacks(["quantize:int3"], "cpu")
    assert [a.name for a in parse_attacks(["relearn"], "cpu")] == ["relearn:10"]


def test_relearn_split_is_seeded_half_of_the_units_and_probes_no_shared_content():
    from musebench.audit.documents import DocumentSet, shingles

    docs = DocumentSet(
        "d", tuple(f"Document {i} tells about person {i // 2} in words all its own {i * 7}" for i in range(8))
    )
    relearned, probed = relearn_split(docs, 0)
    assert relearn_split(docs, 0) == (relearned, probed) and len(relearned) == 4
    assert not set(relearned) & set(probed)
    # grouped by person (two documents each): a person is relearned or probed, never both
    grouped = DocumentSet("d", docs.documents, tuple(str(i // 2) for i in range(8)))
    relearned, probed = relearn_split(grouped, 0)
    assert {i // 2 for i in relearned}.isdisjoint({i // 2 for i in probed}) and len(relearned) == 4
    # a probed document sharing an 8-gram with a relearned one is dropped
    shared = DocumentSet("d", tuple(d + " the same closing sentence of eight words here" for d in docs.documents))
    with pytest.raises(ConfigError, match="shares a word 8-gram"):
        relearn_split(shared, 0)
    assert all(not shingles(docs.documents[p]) & shingles(docs.documents[r]) for p in probed for r in relearned)
    with pytest.raises(ConfigError, match="at least 2"):
        relearn_split(DocumentSet("d", ("one document only",)), 0)


def test_relearning_trains_a_copy_and_leaves_the_audited_model_alone(random_model, audit_docs):
    (attack,) = parse_attacks(["relearn:2"], "cpu")
    before = {k: v.clone() for k, v in random_model.model.state_dict().items()}
    twin = attack.make(random_model, audit_docs["forget"][:4])
    assert twin.model is not random_model.model
    after = random_model.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(before[k], v) for k, v in twin.model.state_dict().items())


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes not installed")
def test_quantize_loads_the_model_through_bitsandbytes(random_model):
    (attack,) = parse_attacks(["quantize:nf4"], "cpu")
    attacked = attack.make(random_model, [])
    assert attacked.source.endswith("(nf4)")
    assert any("4bit" in type(m).__name__ for m in attacked.model.modules())
