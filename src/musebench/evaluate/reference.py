"""A naive scorer written the way the original MUSE scorer works: the oracle for exactness tests and the
baseline of ``benchmarks/eval_speed.py``.

Batch 1, no padding; ``model.generate`` one prompt at a time; for each membership attack a separate
forward pass over the text (PPL, zlib, original + lower-cased, each Min-K%, Min-K%++), its log-probs
read one token at a time. Same definitions as the fast engine, none of its machinery. Slow on purpose;
use ``musebench.evaluate.evaluate`` for real work.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from musebench.evaluate.metrics import auc, knowmem_cut, mean_x100, mink_count, rouge_l_f1, zlib_ratio
from musebench.evaluate.privacy import k_label
from musebench.evaluate.settings import KNOWMEM_CUTS, MINK_PERCENTS, EvalSettings
from musebench.evaluate.tasks import knowmem_prompt, select_shots, verbmem_reference


def _ids(tokenizer, text: str, device, max_length: int | None = None) -> torch.Tensor:
    ids = tokenizer(text, add_special_tokens=True, return_tensors="pt")["input_ids"]
    if max_length is not None:
        ids = ids[:, :max_length]
    return ids.to(device)


@torch.inference_mode()
def naive_generate(model, tokenizer, prompt: str, max_new_tokens: int) -> list[int]:
    ids = _ids(tokenizer, prompt, model.device)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                         do_sample=False, num_beams=1, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return out[0, ids.shape[1]:].tolist()


@torch.inference_mode()
def naive_token_logprobs(model, tokenizer, text: str, max_length: int) -> list[float]:
    """One forward, then the log-prob of each next token read one at a time (the original's loop)."""
    ids = _ids(tokenizer, text, model.device, max_length)
    logprobs = torch.log_softmax(model(input_ids=ids).logits.float(), dim=-1)
    return [logprobs[0, i, token].item() for i, token in enumerate(ids[0, 1:].tolist())]


@torch.inference_mode()
def naive_minkpp_inputs(model, tokenizer, text: str, max_length: int):
    """Per token: log p, and mu / sigma of the next-token distribution, one position at a time."""
    ids = _ids(tokenizer, text, model.device, max_length)
    logprobs = torch.log_softmax(model(input_ids=ids).logits.float(), dim=-1)
    out = []
    for i, token in enumerate(ids[0, 1:].tolist()):
        row = logprobs[0, i]
        p = row.exp()
        mu = (p * row).sum()
        sigma = (p * (row - mu).square()).sum().sqrt()
        out.append((row[token].item(), mu.item(), sigma.item()))
    return out


def _min_k(values: list[float], k: float) -> float:
    return float(-np.mean(np.sort(np.asarray(values, dtype=np.float64))[: mink_count(len(values), k)]))


def naive_attacks(model, tokenizer, text: str, settings: EvalSettings, ks=MINK_PERCENTS) -> dict[str, float]:
    """Every attack of the privacy suite, each with its own forward pass(es)."""
    n = settings.privleak_max_length
    scores = {"nll": -float(np.mean(naive_token_logprobs(model, tokenizer, text, n)))}
    scores["zlib"] = zlib_ratio(-float(np.mean(naive_token_logprobs(model, tokenizer, text, n))), text)
    nll = -float(np.mean(naive_token_logprobs(model, tokenizer, text, n)))
    nll_lower = -float(np.mean(naive_token_logprobs(model, tokenizer, text.lower(), n)))
    scores["lowercase"] = nll / nll_lower
    for k in ks:
        scores[f"mink_{k_label(k)}"] = _min_k(naive_token_logprobs(model, tokenizer, text, n), k)
    triples = naive_minkpp_inputs(model, tokenizer, text, n)
    z = [(lp - mu) / max(sigma, np.finfo(np.float64).tiny) for lp, mu, sigma in triples]
    for k in ks:
        scores[f"minkpp_{k_label(k)}"] = _min_k(z, k)
    return scores


def naive_evaluate(model, tokenizer, corpus, settings: EvalSettings | None = None, progress: bool = False) -> dict:
    """Scores, generated texts and per-text attack scores, computed the slow, original way."""
    from tqdm.auto import tqdm

    settings = settings or EvalSettings()
    ks = tuple(sorted(set(MINK_PERCENTS) | {float(settings.mink_k)}))
    out: dict = {"outputs": {}, "scores": {}, "privacy": {}, "cpu_s": {}}
    clock = time.process_time()
    if corpus.verbmem_forget:
        texts, f1 = [], []
        for rec in tqdm(corpus.verbmem_forget, desc="naive verbmem", disable=not progress):
            ids = naive_generate(model, tokenizer, rec.prompt, settings.verbmem_max_new_tokens)
            texts.append(tokenizer.decode(ids, skip_special_tokens=True))
            f1.append(rouge_l_f1(verbmem_reference(tokenizer, rec.gt, settings.verbmem_gt_max_tokens), texts[-1]))
        out["outputs"]["verbmem_f"], out["scores"]["verbmem_f"] = texts, mean_x100(f1)
        out["cpu_s"]["verbmem_f"], clock = time.process_time() - clock, time.process_time()
    for crit, qa, icl in (("knowmem_f", corpus.knowmem_forget_qa, corpus.knowmem_forget_qa_icl),
                          ("knowmem_r", corpus.knowmem_retain_qa, corpus.knowmem_retain_qa_icl)):
        if not qa:
            continue
        shots = select_shots(icl, settings.knowmem_num_shots)
        texts, f1 = [], []
        for pair in tqdm(qa, desc=f"naive {crit}", disable=not progress):
            ids = naive_generate(model, tokenizer, knowmem_prompt(pair.question, shots),
                                 settings.knowmem_max_new_tokens)
            texts.append(knowmem_cut(tokenizer.decode(ids, skip_special_tokens=True), KNOWMEM_CUTS))
            f1.append(rouge_l_f1(pair.answer, texts[-1]))
        out["outputs"][crit], out["scores"][crit] = texts, mean_x100(f1)
        out["cpu_s"][crit], clock = time.process_time() - clock, time.process_time()
    splits = {"forget": corpus.privleak_forget, "retain": corpus.privleak_retain, "holdout": corpus.privleak_holdout}
    for split, texts in splits.items():
        out["privacy"][split] = [naive_attacks(model, tokenizer, t, settings, ks)
                                 for t in tqdm(texts, desc=f"naive privleak {split}", disable=not progress)]
    if corpus.privleak_forget and corpus.privleak_holdout:
        headline = f"mink_{k_label(float(settings.mink_k))}"
        out["scores"]["auc"] = auc([s[headline] for s in out["privacy"]["forget"]],
                                   [s[headline] for s in out["privacy"]["holdout"]])
    out["cpu_s"]["privacy"] = time.process_time() - clock
    return out
