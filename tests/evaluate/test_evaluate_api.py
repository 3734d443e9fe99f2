"""evaluate(): result contract, PrivLeak reference handling, resumable cache, errors, files."""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys

import pytest
import torch

from musebench.errors import ConfigError, DataError
from musebench.evaluate import EvalResult, EvalSettings, evaluate, measure_retrain_auc
from musebench.models.loading import load_model


def test_result_contract_and_memorised_forget_auc(memorised_lm, tiny_corpus, small_settings):
    result = evaluate(
        memorised_lm.model,
        memorised_lm.tokenizer,
        tiny_corpus,
        small_settings,
        metrics="all",
        retrain_auc="news",
        progress=False,
    )
    assert set(result.scores) == {"verbmem_f", "knowmem_f", "knowmem_r", "auc", "privleak"}
    assert result.scores["auc"] == 0.0  # forget texts were trained on: every one scores below every holdout
    assert result.scores["privleak"] == pytest.approx(-100.0)
    assert result.privacy["retrain_auc"] == 0.4772
    for key in ("verbmem_f", "knowmem_f", "knowmem_r", "auc"):
        lo, hi = result.ci[key]
        assert lo <= result.scores[key] <= hi
    attacks = result.privacy["attacks"]
    assert {"nll", "zlib", "lowercase", "mink_40", "minkpp_40"} <= set(attacks)
    assert attacks["mink_40"]["auc"]["forget_vs_holdout"] == 0.0
    assert attacks["mink_40"]["auc"]["holdout_vs_forget"] == 1.0
    assert attacks["nll"]["tpr_at_1%_fpr"] == 1.0
    prov = result.provenance
    assert prov["settings"] == small_settings.to_dict() and prov["corpus"]["fingerprint"] == tiny_corpus.fingerprint()
    assert prov["packages"]["torch"] and prov["metric_versions"]["privleak"] == 1


def test_privleak_is_unavailable_without_a_retrain_auc(tiny_lm, tiny_corpus, small_settings):
    result = evaluate(
        tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, metrics=["privleak"], progress=False
    )
    assert result.scores["privleak"] is None and result.ci["privleak"] is None
    assert any("PrivLeak unavailable" in n for n in result.notes)
    assert 0.0 <= result.scores["auc"] <= 1.0
    measured = measure_retrain_auc(tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, progress=False)
    with_measured = evaluate(
        tiny_lm.model,
        tiny_lm.tokenizer,
        tiny_corpus,
        small_settings,
        metrics=["privleak"],
        retrain_auc=measured,
        progress=False,
    )
    assert with_measured.scores["privleak"] == pytest.approx(0.0)  # a model against itself leaks nothing
    # the measured retrain AUC's own noise is in the CI: wider than the CI that holds the AUC fixed
    fixed = evaluate(
        tiny_lm.model,
        tiny_lm.tokenizer,
        tiny_corpus,
        small_settings,
        metrics=["privleak"],
        retrain_auc=float(measured),
        progress=False,
    )
    wide, narrow = with_measured.ci["privleak"], fixed.ci["privleak"]
    assert narrow[1] - narrow[0] > 0
    assert wide == pytest.approx([0.0, 0.0])  # the same texts drawn for both, a model against itself: always 0


def test_privleak_ci_includes_the_retrain_aucs_own_uncertainty():
    """60 + 60 texts, two models that cannot tell the splits apart (AUC ~0.5 each): holding the retrain AUC
    fixed leaves out a large part of PrivLeak's uncertainty."""
    import numpy as np

    from musebench.evaluate.bootstrap import bootstrap_ci
    from musebench.evaluate.metrics import auc_by_ranks, privleak
    from musebench.evaluate.privacy import MeasuredAUC, c3_resolution_note, privleak_ci

    rng = np.random.default_rng(0)
    fm, hm, fr, hr = (rng.normal(0, 1, 60) for _ in range(4))
    retrain = MeasuredAUC(fr, hr)
    joint = privleak_ci(fm, hm, retrain, samples=1000, seed=0)
    auc_ci = bootstrap_ci(auc_by_ranks, [(fm,), (hm,)], samples=1000, seed=0, name="auc")
    fixed = [privleak(v, float(retrain)) for v in auc_ci]
    assert joint[1] - joint[0] > 1.25 * (fixed[1] - fixed[0])
    assert joint[1] - joint[0] > 40  # about +-20 PrivLeak points or more, against C3's +-5
    assert c3_resolution_note(joint).startswith("C3 not resolvable at this sample size")
    assert c3_resolution_note([-3.0, 4.0]) is None and c3_resolution_note([-100.0, -80.0]) is None


def test_cache_hit_needs_no_model_and_resume_continues(tiny_model_dir, tiny_corpus, small_settings, tmp_path):
    settings = dataclasses.replace(small_settings, batch_size=2)
    lm = load_model(tiny_model_dir)
    first = evaluate(lm.model, lm.tokenizer, tiny_corpus, settings, cache_dir=tmp_path, progress=False)
    assert first.provenance["requests_computed"] > 0
    assert first.provenance["torch_threads"] == torch.get_num_threads()  # the bits of a CPU run depend on it

    broken = load_model(tiny_model_dir)  # same weights, but it must not be called
    broken.model.forward = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("model was called"))
    again = evaluate(broken.model, broken.tokenizer, tiny_corpus, settings, cache_dir=tmp_path, progress=False)
    assert again.provenance["requests_computed"] == 0
    assert again.scores == first.scores and again.ci == first.ci and again.privacy == first.privacy
    with pytest.raises(RuntimeError, match="model was called"):
        evaluate(broken.model, broken.tokenizer, tiny_corpus, settings, cache_dir=tmp_path, force=True, progress=False)

    # interrupted run: the model dies after 3 batches; a re-run computes only what is missing
    resumed_dir = tmp_path / "resume"
    flaky = load_model(tiny_model_dir)
    real_forward, calls = flaky.model.forward, {"n": 0}

    @functools.wraps(real_forward)  # keeps the signature: the engine passes ``cache=``
    def dies_later(*args, **kwargs):
        if kwargs.get("cache") is None:  # one prefill / scoring call per batch
            calls["n"] += 1
            if calls["n"] > 3:
                raise KeyboardInterrupt
        return real_forward(*args, **kwargs)

    flaky.model.forward = dies_later
    with pytest.raises(KeyboardInterrupt):
        evaluate(flaky.model, flaky.tokenizer, tiny_corpus, settings, cache_dir=resumed_dir, progress=False)
    flaky.model.forward = real_forward
    resumed = evaluate(flaky.model, flaky.tokenizer, tiny_corpus, settings, cache_dir=resumed_dir, progress=False)
    assert 0 < resumed.provenance["requests_computed"] < first.provenance["requests_computed"]
    assert resumed.scores == first.scores


def test_save_and_load_round_trip(tiny_lm, tiny_corpus, small_settings, tmp_path):
    result = evaluate(tiny_lm.model, tiny_lm.tokenizer, tiny_corpus, small_settings, retrain_auc=0.5, progress=False)
    lo, hi = result.ci["privleak"]
    assert lo <= result.scores["privleak"] <= hi
    assert [lo, hi] == pytest.approx([(v - 0.5) / 0.5 * 100 for v in result.ci["auc"]])
    result.save(tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scores"]["privleak"] == pytest.approx(result.scores["privleak"])
    assert summary["metrics"]["knowmem_r"]["higher_is_better"] is True
    rows = (tmp_path / "out" / "per_example.jsonl").read_text().splitlines()
    # verbmem, knowmem f / r, privleak forget + holdout (the retain split is scored only by the 'privacy' suite)
    assert len(rows) == len(result.per_example) == 2 + 2 + 2 + 2 + 2
    first = json.loads(rows[0])
    assert {"input", "reference", "output", "scores"} <= set(first)
    loaded = EvalResult.load(tmp_path / "out")
    assert loaded.scores == pytest.approx(result.scores)
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_bad_input_fails_before_any_forward(tiny_lm, tiny_corpus, small_settings):
    model, tok = tiny_lm.model, tiny_lm.tokenizer
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate(model, tok, tiny_corpus, small_settings, metrics=["verbmem_f", "rouge"], progress=False)
    no_qa = dataclasses.replace(tiny_corpus, knowmem_retain_qa=[])
    with pytest.raises(DataError, match="knowmem_r needs knowmem_retain_qa"):
        evaluate(model, tok, no_qa, small_settings, metrics=["knowmem_r"], progress=False)
    assert "knowmem_r" not in evaluate(model, tok, no_qa, small_settings, metrics=None, progress=False).scores
    empty = dataclasses.replace(tiny_corpus, privleak_holdout=["  "])
    with pytest.raises(DataError, match=r"privleak_holdout\[0\]"):
        evaluate(model, tok, empty, small_settings, metrics=["privleak"], progress=False)
    with pytest.raises(ConfigError, match="retrain_auc"):
        evaluate(model, tok, tiny_corpus, small_settings, retrain_auc="wiki", progress=False)
    with pytest.raises(ConfigError, match="mink_k"):
        EvalSettings(mink_k=0)


def test_pad_equal_to_eos_masks_no_real_token(tiny_model_dir, tiny_corpus, small_settings):
    """Pads are placed by length under the mask, never found by id: pad = EOS scores exactly as a distinct pad."""
    lm = load_model(tiny_model_dir)
    distinct = evaluate(lm.model, lm.tokenizer, tiny_corpus, small_settings, progress=False)
    lm.tokenizer.pad_token = lm.tokenizer.eos_token
    as_eos = evaluate(lm.model, lm.tokenizer, tiny_corpus, small_settings, progress=False)
    assert as_eos.scores == distinct.scores
    assert as_eos.per_example == distinct.per_example


def test_evaluate_never_imports_unlearn():
    code = (
        "import sys, musebench.evaluate, musebench.commands.eval; "
        "assert not [m for m in sys.modules if m.startswith('musebench.unlearn')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reference_model_ratio_attack(tiny_lm, memorised_lm, tiny_corpus, small_settings):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    against_itself = evaluate(
        model, tok, tiny_corpus, small_settings, metrics=["privleak"], progress=False, reference_model=model
    )
    rows = [r for r in against_itself.per_example if r["criterion"] == "privleak"]
    assert rows and all(r["scores"]["reference"] == pytest.approx(1.0) for r in rows)
    # calibrated by the untrained model, the memorised forget texts get the lowest ratios
    calibrated = evaluate(
        model, tok, tiny_corpus, small_settings, metrics=["privleak"], progress=False, reference_model=tiny_lm.model
    )
    assert calibrated.privacy["attacks"]["reference"]["auc"]["forget_vs_holdout"] == 0.0


def test_fingerprint_sees_weights_and_wrapper_settings(tiny_lm, memorised_lm):
    from musebench.evaluate.fingerprint import model_fingerprint

    class Scaled(torch.nn.Module):
        def __init__(self, inner, alpha):
            super().__init__()
            self.inner, self.alpha = inner, alpha

    assert model_fingerprint(tiny_lm.model) == model_fingerprint(load_model(tiny_lm.name).model)
    assert model_fingerprint(tiny_lm.model) != model_fingerprint(memorised_lm.model)
    assert model_fingerprint(Scaled(tiny_lm.model, 1.0)) != model_fingerprint(Scaled(tiny_lm.model, 2.0))
