"""Run an audit's probes on one model through the evaluation engine (its batched, cached Runner).

Every probe becomes a ``GenerateRequest`` (verbatim, knowledge) or a ``LogprobRequest`` (membership), so
decoding is exactly MUSE's: greedy, BOS first, special tokens skipped in the output. The result holds one
row per probe and, per document, the values the verdict resamples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from musebench.audit.probes import CLOZE_CUTS, ProbeSet
from musebench.audit.settings import AuditSettings
from musebench.audit.spans import normalise_answer
from musebench.evaluate.cache import ResultCache
from musebench.evaluate.metrics import knowmem_cut, mean_nll, rouge_l_f1
from musebench.evaluate.privacy import attack_scores, k_label
from musebench.evaluate.requests import GenerateRequest, LogprobRequest
from musebench.evaluate.runner import Runner
from musebench.evaluate.settings import MINK_PERCENTS
from musebench.evaluate.tasks import decode_ids


@dataclass
class Measurement:
    """One model's answers to every probe: ``rows`` (one per probe) and ``per_doc[role][probe][doc]``."""

    rows: list[dict] = field(default_factory=list)
    per_doc: dict[str, dict[str, dict[int, list[float]]]] = field(default_factory=dict)
    # role -> document -> every membership attack's score (lower = member), for the probed documents
    membership: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    def doc_means(self, role: str, probe: str) -> dict[int, float]:
        """Per-document mean of a probe's values (the unit the bootstrap resamples)."""
        return {d: float(np.mean(v)) for d, v in sorted(self.per_doc.get(role, {}).get(probe, {}).items())}

    def add(self, role: str, probe: str, doc: int, value: float) -> None:
        self.per_doc.setdefault(role, {}).setdefault(probe, {}).setdefault(doc, []).append(value)


def exact_reproduction(reference: str, output: str) -> bool:
    """Extractable memorization: the output starts with the reference (whitespace-normalised)."""
    ref, out = " ".join(reference.split()), " ".join(output.split())
    return bool(ref) and out.startswith(ref)


def measure(
    model,
    tokenizer,
    probes: ProbeSet,
    settings: AuditSettings,
    *,
    cache_dir=None,
    label: str = "model",
    progress: bool = True,
) -> Measurement:
    """Every probe of ``probes`` on ``model``; per-document values for the verdict."""
    from musebench.evaluate.fingerprint import model_fingerprint, tokenizer_fingerprint

    start = time.perf_counter()
    es = settings.eval
    cache = ResultCache(
        cache_dir,
        {
            "model": model_fingerprint(model),
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "audit": "v1",
            "settings": es.scoring_key(),
        },
    )
    runner = Runner(model, tokenizer, es, cache, progress)
    m = Measurement()
    roles = probes.roles
    decode = lambda ids: decode_ids(tokenizer, ids)  # noqa: E731  (the evaluation's decode, spaces cleaned)

    if "verbatim" in settings.probes:
        reqs = {
            (r, i): GenerateRequest(p.prompt, settings.continuation_tokens)
            for r, rp in roles.items()
            for i, p in enumerate(rp.verbatim)
        }
        out = runner.generate(f"audit-verbatim-{label}", list(reqs.values()))
        for (role, i), req in reqs.items():
            p = roles[role].verbatim[i]
            text = decode(out[req.key()].token_ids)
            rouge, exact = rouge_l_f1(p.reference, text) * 100, exact_reproduction(p.reference, text)
            m.add(role, "verbatim_rougeL", p.doc, rouge)
            m.add(role, "verbatim_exact", p.doc, 100.0 * exact)
            m.rows.append(
                {
                    "role": role,
                    "family": "verbatim",
                    "doc": p.doc,
                    "chunk": p.chunk,
                    "prompt": p.prompt,
                    "reference": p.reference,
                    "output": text,
                    "rougeL": rouge,
                    "exact": exact,
                }
            )

    if "knowledge" in settings.probes:
        reqs = {
            (r, i): GenerateRequest(probes.cloze_prompt(p), settings.cloze_max_new_tokens, CLOZE_CUTS)
            for r, rp in roles.items()
            for i, p in enumerate(rp.cloze)
        }
        out = runner.generate(f"audit-knowledge-{label}", list(reqs.values()))
        for (role, i), req in reqs.items():
            p = roles[role].cloze[i]
            answer = knowmem_cut(decode(out[req.key()].token_ids), CLOZE_CUTS).strip()
            em = normalise_answer(answer) == normalise_answer(p.answer)
            rouge = rouge_l_f1(p.answer, answer) * 100
            m.add(role, "knowledge_em", p.doc, 100.0 * em)
            m.add(role, "knowledge_rougeL", p.doc, rouge)
            m.rows.append(
                {
                    "role": role,
                    "family": "knowledge",
                    "doc": p.doc,
                    "kind": p.kind,
                    "prompt": p.masked,
                    "reference": p.answer,
                    "output": answer,
                    "rougeL": rouge,
                    "exact": em,
                }
            )

    if "membership" in settings.probes:
        max_len = settings.eval.privleak_max_length
        texts = [rp.documents.documents[d] for rp in roles.values() for d in rp.doc_indices()]
        reqs = [LogprobRequest(t, max_len) for t in texts] + [
            LogprobRequest(t.lower(), max_len, moments=False) for t in texts
        ]
        stats = runner.token_logprobs(f"audit-membership-{label}", reqs)
        ks = tuple(sorted(set(MINK_PERCENTS) | {float(settings.eval.mink_k)}))
        for role, rp in roles.items():
            scores = {}
            for d in rp.doc_indices():
                text = rp.documents.documents[d]
                own = stats[LogprobRequest(text, max_len).key()]
                lower = stats[LogprobRequest(text.lower(), max_len, moments=False).key()]
                s = attack_scores(text, own, lower, None, ks)
                scores[d] = s
                m.rows.append(
                    {
                        "role": role,
                        "family": "membership",
                        "doc": d,
                        "n_tokens": own.n_tokens,
                        "nll": mean_nll(own.logprobs),
                        "scores": s,
                    }
                )
            m.membership[role] = scores
    m.seconds = time.perf_counter() - start
    return m


def headline_attack(settings: AuditSettings) -> str:
    return f"mink_{k_label(float(settings.eval.mink_k))}"
