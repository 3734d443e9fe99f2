"""MUSE criteria as requests (phase 1) and per-example rows from their outputs (phase 2).

VerbMem (C1): continue each forget-text prompt; reference = ``gt`` tokenized with BOS, cut to the first
``verbmem_gt_max_tokens`` ids (BOS counts), decoded without special tokens.
KnowMem (C2 on forget, C4 on retain): a few-shot prompt, the answer cut by MUSE's rule.
"""

from __future__ import annotations

from musebench.data import QAPair, VerbMemRecord
from musebench.evaluate.metrics import knowmem_cut, rouge_l_f1
from musebench.evaluate.requests import GenerateRequest, Generation
from musebench.evaluate.settings import KNOWMEM_CUTS, EvalSettings


def knowmem_prompt(question: str, shots: list[QAPair]) -> str:
    """``"Question: {q}\\nAnswer: {a}\\n\\n"`` per shot, then ``"Question: {question}\\nAnswer: "``."""
    context = "".join(f"Question: {s.question}\nAnswer: {s.answer}\n\n" for s in shots)
    return context + f"Question: {question}\nAnswer: "


def select_shots(icl: list[QAPair], num_shots: int | None) -> list[QAPair]:
    return list(icl) if num_shots is None else list(icl[:num_shots])


def verbmem_reference(tokenizer, gt: str, max_tokens: int) -> str:
    ids = tokenizer(gt, add_special_tokens=True)["input_ids"][:max_tokens]
    return tokenizer.decode(ids, skip_special_tokens=True)


def verbmem_requests(records: list[VerbMemRecord], settings: EvalSettings) -> list[GenerateRequest]:
    return [GenerateRequest(r.prompt, settings.verbmem_max_new_tokens) for r in records]


def knowmem_requests(qa: list[QAPair], icl: list[QAPair], settings: EvalSettings) -> list[GenerateRequest]:
    shots = select_shots(icl, settings.knowmem_num_shots)
    return [GenerateRequest(knowmem_prompt(p.question, shots), settings.knowmem_max_new_tokens, KNOWMEM_CUTS)
            for p in qa]


def decode_generation(tokenizer, generation: Generation) -> str:
    return tokenizer.decode(generation.token_ids, skip_special_tokens=True)


def verbmem_rows(tokenizer, records, requests, outputs: dict[str, Generation], settings) -> list[dict]:
    rows = []
    for i, (rec, req) in enumerate(zip(records, requests)):
        output = decode_generation(tokenizer, outputs[req.key()])
        reference = verbmem_reference(tokenizer, rec.gt, settings.verbmem_gt_max_tokens)
        generation = outputs[req.key()]
        rows.append({"criterion": "verbmem_f", "index": i, "input": rec.prompt, "reference": reference,
                     "output": output, "output_tokens": len(generation.token_ids), "finish": generation.finish,
                     "scores": {"rougeL_f1": rouge_l_f1(reference, output)}})
    return rows


def knowmem_rows(criterion: str, tokenizer, qa, requests, outputs: dict[str, Generation]) -> list[dict]:
    rows = []
    for i, (pair, req) in enumerate(zip(qa, requests)):
        raw = decode_generation(tokenizer, outputs[req.key()])
        answer = knowmem_cut(raw)
        rows.append({"criterion": criterion, "index": i, "input": pair.question, "reference": pair.answer,
                     "output": answer, "raw_output": raw, "output_tokens": len(outputs[req.key()].token_ids),
                     "finish": outputs[req.key()].finish,
                     "scores": {"rougeL_f1": rouge_l_f1(pair.answer, answer)}})
    return rows
