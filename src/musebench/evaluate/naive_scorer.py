"""A naive MUSE scorer, written from the benchmark's definitions alone: the oracle of the exactness tests and
the baseline of ``benchmarks/eval_speed.py``.

It follows the original scorer's algorithm, one example at a time, and shares no code with the engine (it
imports nothing from ``musebench.evaluate`` but the ``EvalSettings`` it reads; prompts, cut rules, ROUGE,
Min-K% counts and AUCs are its own):

- generation: Hugging Face ``model.generate`` for one prompt at a time (greedy, one beam; stops at the model's
  EOS or the token budget), the new ids decoded with special tokens skipped and tokenization spaces cleaned;
  a wrapper that only has the evaluation contract's forward call (WHP) is decoded by the definition of
  greedy decoding instead: a full forward over prompt + new ids per token, no cache, same stopping rule;
- VerbMem: reference = ``gt`` tokenized with BOS, its first ``verbmem_gt_max_tokens`` ids decoded;
- KnowMem: ``"Question: {q}\\nAnswer: {a}\\n\\n"`` per shot, then ``"Question: {q}\\nAnswer: "``; the output
  cut at the first ``"\\n\\n"``, then ``"\\nQuestion"``, then ``"Question:"``;
- privacy: one forward per text and one for its lower-cased twin; mean NLL = the model's cross-entropy
  loss; every Min-K% (and Min-K%++) from that one forward, reading the log-probs one token at a time;
- AUC: ``roc_curve`` with the second split labelled 1 on the negated score, trapezoid area.

Slow on purpose; use ``musebench.evaluate.evaluate`` for real work.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:  # the scorer only reads the settings' fields
    from musebench.evaluate.settings import EvalSettings

#: The K (%) of the Min-K% attacks the original scorer logs.
ORIGINAL_KS = (5, 10, 20, 30, 40, 50, 60)
#: Where a KnowMem answer is cut, in this order.
ANSWER_CUTS = ("\n\n", "\nQuestion", "Question:")
#: Split pairs whose AUC is reported; in each the second split is labelled 1 (the would-be non-members).
SPLIT_PAIRS = (("forget", "holdout"), ("forget", "retain"), ("retain", "holdout"))


def _decode(tokenizer, ids) -> str:
    # the original's call, clean_up_tokenization_spaces=True; transformers >= 5 ignores that flag for BPE
    # tokenizers (Llama, GPT-2, ...), so the clean-up (" ," -> ",", " 's" -> "'s", ...) is applied here
    text = tokenizer.batch_decode([list(ids)], skip_special_tokens=True, clean_up_tokenization_spaces=False)[0]
    for spaced, joined in (
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ):
        text = text.replace(spaced, joined)
    return text


def _rouge_l_f1(reference: str, output: str) -> float:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return scorer.score(reference, output)["rougeL"].fmeasure


@torch.inference_mode()
def naive_generate(model, tokenizer, prompt: str, max_new_tokens: int) -> list[int]:
    """Greedy continuation of one prompt with HF ``generate``: the new token ids (EOS kept if produced)."""
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=True).input_ids.to(model.device)
    if not hasattr(model, "generate"):  # a logit wrapper (WHP): forward calls only, as the engine sees it
        return _greedy_without_cache(model, ids, max_new_tokens)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=pad,
    )
    return out[0, ids.shape[1] :].tolist()


def _greedy_without_cache(model, ids, max_new_tokens: int) -> list[int]:
    """Greedy decoding as defined: argmax of the last logits of a full forward, one token at a time, until
    one of the generation config's EOS ids (as ``generate`` stops) or the budget."""
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
    new: list[int] = []
    for _ in range(max_new_tokens):
        token = int(model(input_ids=ids).logits[0, -1].argmax())
        new.append(token)
        ids = torch.cat([ids, ids.new_tensor([[token]])], dim=1)
        if token in eos:
            break
    return new


@torch.inference_mode()
def naive_forward(model, tokenizer, text: str, max_length: int | None = None):
    """One forward over the text: (mean NLL from the loss, the n-1 next-token log-probs, their mu / sigma)."""
    ids = torch.tensor(tokenizer.encode(text, add_special_tokens=True)).unsqueeze(0)[:, :max_length]
    ids = ids.to(model.device)
    logits = model(input_ids=ids).logits[0].float()
    loss = torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:]).item()
    log_probs = torch.log_softmax(logits[:-1], dim=-1)
    values = [log_probs[i, token].item() for i, token in enumerate(ids[0, 1:].tolist())]
    # Min-K%++'s moments of each next-token distribution: mu = E_p[log p], sigma^2 = E_p[(log p - mu)^2]
    p = log_probs.exp()
    mus = (p * log_probs).sum(-1, keepdim=True)
    sigmas = (p * (log_probs - mus) ** 2).sum(-1).sqrt()
    return loss, values, mus[:, 0].tolist(), sigmas.tolist()


@torch.inference_mode()
def naive_loss(model, tokenizer, text: str, max_length: int | None = None) -> float:
    """Mean NLL of a text from one forward (the cross-entropy loss): all its lower-cased twin needs."""
    ids = torch.tensor(tokenizer.encode(text, add_special_tokens=True)).unsqueeze(0)[:, :max_length]
    ids = ids.to(model.device)
    logits = model(input_ids=ids).logits[0].float()
    return torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:]).item()


def naive_token_logprobs(model, tokenizer, text: str, max_length: int | None = None) -> list[float]:
    return naive_forward(model, tokenizer, text, max_length)[1]


def _lowest_mean(values: list[float], k: float) -> float:
    """-mean of the int(len * K / 100) smallest values; NaN when that is none (as ``np.mean([])``)."""
    count = int(len(values) * k / 100)
    if count == 0:
        return float("nan")
    return float(-np.mean(np.sort(np.array(values))[:count]))


def naive_attacks(model, tokenizer, text: str, max_length: int | None = None, ks=ORIGINAL_KS) -> dict:
    """Every attack's score for one text (lower = member), keyed as the engine reports them."""
    loss, values, mus, sigmas = naive_forward(model, tokenizer, text, max_length)
    lower_loss = naive_loss(model, tokenizer, text.lower(), max_length)
    scores = {
        "nll": loss,
        "zlib": loss / len(zlib.compress(bytes(text, "utf-8"))),
        "lowercase": loss / lower_loss if lower_loss != 0 else float("nan"),
    }
    tiny = np.finfo(np.float64).tiny
    z = [(v - m) / max(s, tiny) for v, m, s in zip(values, mus, sigmas)]
    for k in ks:
        scores[f"mink_{k:g}"] = _lowest_mean(values, k)
    for k in ks:
        scores[f"minkpp_{k:g}"] = _lowest_mean(z, k)
    return {"n_tokens": len(values) + 1, "scores": scores}


def naive_auc(members: list[float], nonmembers: list[float]) -> float:
    """ROC AUC with the non-members labelled 1, on the negated scores (lower score = member)."""
    from sklearn.metrics import auc, roc_curve

    scores = -np.array(list(members) + list(nonmembers), dtype=np.float64)
    if not len(members) or not len(nonmembers) or not np.all(np.isfinite(scores)):
        return float("nan")
    fpr, tpr, _ = roc_curve(np.array([0] * len(members) + [1] * len(nonmembers)), scores)
    return float(auc(fpr, tpr))


def naive_evaluate(
    model,
    tokenizer,
    corpus,
    settings: EvalSettings | None = None,
    retrain_auc: float | None = None,
    progress: bool = False,
) -> dict:
    """Per-example outputs, per-text attack scores, AUCs and aggregate scores, computed the original way.

    Returns ``outputs`` / ``references`` / ``rouge`` per criterion, ``shots`` per KnowMem criterion,
    ``privacy[split]`` (one ``{"n_tokens", "scores"}`` per text), ``auc[attack]["A_vs_B"]``, ``scores`` and
    ``cpu_s`` per phase.
    """
    from tqdm.auto import tqdm

    if settings is None:
        from musebench.evaluate.settings import EvalSettings

        settings = EvalSettings()
    max_length = getattr(settings, "privleak_max_length", None)
    ks = tuple(sorted(set(ORIGINAL_KS) | {settings.mink_k}))
    out: dict = {
        "outputs": {},
        "references": {},
        "rouge": {},
        "shots": {},
        "scores": {},
        "privacy": {},
        "auc": {},
        "cpu_s": {},
    }
    clock = time.process_time()

    def finish(crit, outputs, references):
        out["outputs"][crit], out["references"][crit] = outputs, references
        out["rouge"][crit] = [_rouge_l_f1(r, o) for r, o in zip(references, outputs)]
        out["scores"][crit] = sum(out["rouge"][crit]) / len(outputs) * 100

    if corpus.verbmem_forget:
        outputs, references = [], []
        for rec in tqdm(corpus.verbmem_forget, desc="naive verbmem", disable=not progress):
            ids = naive_generate(model, tokenizer, rec.prompt, settings.verbmem_max_new_tokens)
            outputs.append(_decode(tokenizer, ids))
            gt_ids = tokenizer(rec.gt, add_special_tokens=True).input_ids[: settings.verbmem_gt_max_tokens]
            references.append(_decode(tokenizer, gt_ids))
        finish("verbmem_f", outputs, references)
        out["cpu_s"]["verbmem_f"], clock = time.process_time() - clock, time.process_time()
    for crit, qa, icl in (
        ("knowmem_f", corpus.knowmem_forget_qa, corpus.knowmem_forget_qa_icl),
        ("knowmem_r", corpus.knowmem_retain_qa, corpus.knowmem_retain_qa_icl),
    ):
        if not qa:
            continue
        shots = list(icl) if settings.knowmem_num_shots is None else list(icl)[: settings.knowmem_num_shots]
        context = "".join(f"Question: {s.question}\nAnswer: {s.answer}\n\n" for s in shots)
        outputs = []
        for pair in tqdm(qa, desc=f"naive {crit}", disable=not progress):
            ending = "Answer:" if getattr(settings, "knowmem_prompt", "faithful") == "no_trailing_space" else "Answer: "
            ids = naive_generate(
                model, tokenizer, context + f"Question: {pair.question}\n{ending}", settings.knowmem_max_new_tokens
            )
            answer = _decode(tokenizer, ids)
            for cut in ANSWER_CUTS:
                answer = answer.split(cut)[0]
            outputs.append(answer)
        out["shots"][crit] = len(shots)
        finish(crit, outputs, [pair.answer for pair in qa])
        out["cpu_s"][crit], clock = time.process_time() - clock, time.process_time()

    splits = {"forget": corpus.privleak_forget, "retain": corpus.privleak_retain, "holdout": corpus.privleak_holdout}
    for split, texts in splits.items():
        out["privacy"][split] = [
            naive_attacks(model, tokenizer, t, max_length, ks)
            for t in tqdm(texts, desc=f"naive privleak {split}", disable=not progress)
        ]
    attacks = list(out["privacy"]["forget"][0]["scores"]) if out["privacy"]["forget"] else []
    for attack in attacks:
        column = {s: [row["scores"][attack] for row in rows] for s, rows in out["privacy"].items() if rows}
        out["auc"][attack] = {
            f"{a}_vs_{b}": naive_auc(column[a], column[b]) for a, b in SPLIT_PAIRS if a in column and b in column
        }
    if corpus.privleak_forget and corpus.privleak_holdout:
        auc_value = out["auc"][f"mink_{settings.mink_k:g}"]["forget_vs_holdout"]
        out["scores"]["auc"] = auc_value
        if retrain_auc is not None:
            out["scores"]["privleak"] = (auc_value - retrain_auc) / retrain_auc * 100
    out["cpu_s"]["privacy"] = time.process_time() - clock
    return out
