"""Evaluate a model under each attack: quantized, briefly relearned, or asked rephrased questions.

Every function returns plain JSON (``{"scores": {...}, "ci": {...}}``), what the CLI prints and the
experiment's stage markers store. Evaluation is the ordinary ``musebench.evaluate`` engine, unchanged.
"""

from __future__ import annotations

import gc
import logging
import tempfile
from dataclasses import replace
from pathlib import Path

from musebench.errors import DataError
from musebench.robustness.relearn import RelearnBudget, relearn_in_memory
from musebench.robustness.split import RelearnSplit


def scores_of(result) -> dict:
    """An evaluation as an attack result: scores, CIs and per-question items (C7's paired bootstrap)."""
    return {
        "scores": {k: float(v) for k, v in result.scores.items() if v is not None},
        "ci": {k: [float(v[0]), float(v[1])] for k, v in (result.ci or {}).items() if v is not None},
        "items": item_scores(result.per_example),
    }


#: The criteria whose per-question (per-record) scores C7's paired bootstrap resamples.
ITEM_CRITERIA = ("verbmem_f", "knowmem_f", "knowmem_r")


def item_scores(rows) -> dict[str, list[float]]:
    """Per criterion, every question's (record's) ROUGE-L in the score's units (0-100), by corpus order."""
    out: dict[str, dict[int, float]] = {}
    for r in rows or ():
        if r.get("criterion") in ITEM_CRITERIA and "rougeL_f1" in r.get("scores", {}):
            out.setdefault(r["criterion"], {})[int(r["index"])] = round(100 * float(r["scores"]["rougeL_f1"]), 4)
    return {k: [v[i] for i in sorted(v)] for k, v in out.items()}


def _evaluate(loaded, corpus, settings, metrics, retrain_auc, progress: bool) -> dict:
    from musebench.evaluate import EvalSettings, evaluate

    if isinstance(settings, dict):
        settings = EvalSettings(**settings)
    return scores_of(
        evaluate(
            loaded.model,
            loaded.tokenizer,
            corpus,
            settings,
            metrics=list(metrics) if metrics else None,
            retrain_auc=retrain_auc,
            progress=progress,
        )
    )


def load_plain(model_path: str | Path, device: str = "cpu", dtype=None):
    """Any model directory or unlearning checkpoint (WHP included) at full precision."""
    from musebench.unlearn import load_unlearned

    return load_unlearned(model_path, device, dtype)


def _release(loaded) -> None:
    import torch

    del loaded
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def quantized_scores(
    model_path,
    scheme: str,
    corpus,
    settings,
    metrics=None,
    retrain_auc=None,
    device: str = "cpu",
    progress: bool = False,
) -> dict:
    """C1-C4 of ``model_path`` loaded with ``scheme`` (int8 / nf4 / fp4) through ``BitsAndBytesConfig``."""
    from musebench.robustness.quantize import load_quantized

    bnb_log = logging.getLogger("bitsandbytes")
    level = bnb_log.level
    bnb_log.setLevel(logging.ERROR)  # LLM.int8() warns on every matmul that float32 inputs become float16
    try:
        loaded = load_quantized(model_path, scheme, device)
        loaded.model.musebench_fingerprint = f"{scheme}:{Path(model_path).resolve()}"
        try:
            return _evaluate(loaded, corpus, settings, metrics, retrain_auc, progress)
        finally:
            _release(loaded)
    finally:
        bnb_log.setLevel(level)


def plain_scores(
    model_path,
    corpus,
    settings,
    metrics=None,
    retrain_auc=None,
    device: str = "cpu",
    dtype=None,
    progress: bool = False,
) -> dict:
    loaded = load_plain(model_path, device, dtype)
    try:
        return _evaluate(loaded, corpus, settings, metrics, retrain_auc, progress)
    finally:
        _release(loaded)


def paraphrase_corpus(corpus):
    """``corpus`` whose forget QA are the rephrased questions (KnowMem-f on it is the rephrased probe)."""
    if not corpus.knowmem_forget_qa_paraphrase:
        raise DataError(
            "the corpus has no rephrased questions (knowmem/forget_qa_paraphrase.json)",
            field="knowmem_forget_qa_paraphrase",
        )
    return replace(corpus, knowmem_forget_qa=list(corpus.knowmem_forget_qa_paraphrase))


def relearned_scores(
    model_path,
    split: RelearnSplit,
    budget: RelearnBudget,
    settings,
    device: str = "cpu",
    dtype=None,
    progress: bool = False,
) -> dict:
    """The rest of the forget set scored before and after ``budget`` steps of fine-tuning on the slice."""
    from musebench.errors import ConfigError

    loaded = load_plain(model_path, device, dtype)
    try:
        if not hasattr(loaded.model, "save_pretrained"):  # WHP: logits of two models, no weights of its own
            raise ConfigError(
                "the relearning attack fine-tunes one model's weights; a WHP checkpoint combines two models' logits",
                file=model_path,
            )
        before = _evaluate(loaded, split.held_out, settings, split.metrics, None, progress)
        with tempfile.TemporaryDirectory(prefix="musebench-relearn-") as work:
            losses = relearn_in_memory(
                loaded.model, loaded.tokenizer, split.train_texts, budget, device, work, progress=progress
            )
        after = _evaluate(loaded, split.held_out, settings, split.metrics, None, progress)
    finally:
        _release(loaded)
    return {"before": before, "after": after, "losses": [round(x, 4) for x in losses]}
