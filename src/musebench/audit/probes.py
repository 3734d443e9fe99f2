"""Probes generated from the documents themselves: no hand-written questions, no extra model, no network.

- **verbatim**: each document is cut into chunks of ``prefix_tokens + continuation_tokens`` tokens; the
  prefix is the prompt and the model's greedy continuation is compared with the true next
  ``continuation_tokens`` tokens (ROUGE-L F1, as MUSE's VerbMem, and exact reproduction, as Carlini et al.'s
  extractable memorization with 50 tokens). A document shorter than one chunk gets one probe whose prefix is
  everything before its last ``continuation_tokens`` tokens, if that is at least ``min_prefix_tokens``.
- **knowledge**: cloze prompts from the documents' own sentences with one salient span blanked (a date, a
  number or a capitalised name, see ``spans``), answered few-shot; exact match and ROUGE-L F1.
- **membership**: the documents themselves, scored by the membership-inference suite (Min-K% and others).

Every random choice (which chunks, which sentences and spans, which shots) uses a generator seeded by the
audit seed and the document's content hash, so a probe does not depend on the order of the documents.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

from musebench.audit.documents import DocumentSet, doc_hash
from musebench.audit.settings import AuditSettings
from musebench.audit.spans import blank, salient_spans, split_sentences, usable
from musebench.errors import DataError
from musebench.evaluate.tasks import decode_ids
from musebench.io import stable_hash

#: the cloze prompt uses MUSE's KnowMem frame ("Question: ...\nAnswer: ..."), so a model that answers KnowMem
#: questions is asked in the form it knows; the blank is written "____"
CLOZE_INSTRUCTION = "Question: "
#: where a cloze answer is cut, in this order (MUSE's KnowMem cuts)
CLOZE_CUTS = ("\n\n", "\nQuestion", "Question:")


@dataclass(frozen=True)
class VerbatimProbe:
    doc: int
    chunk: int
    start_token: int  # where the continuation starts in the document's tokens
    prompt: str
    reference: str


@dataclass(frozen=True)
class ClozeProbe:
    doc: int
    sentence: int
    kind: str  # date, number, name
    masked: str
    answer: str

    def shot_text(self) -> str:
        return f"{CLOZE_INSTRUCTION}{self.masked}\nAnswer: {self.answer}\n\n"


@dataclass
class RoleProbes:
    """The probes of one document set ("forget" or "holdout")."""

    role: str
    documents: DocumentSet
    verbatim: list[VerbatimProbe] = field(default_factory=list)
    cloze: list[ClozeProbe] = field(default_factory=list)
    only: tuple[int, ...] | None = None  # the documents probed, when not all of them

    def doc_indices(self) -> list[int]:
        return list(self.only) if self.only is not None else list(range(len(self.documents)))

    def without(self, docs) -> RoleProbes:
        drop = set(docs)
        return RoleProbes(
            self.role,
            self.documents,
            [p for p in self.verbatim if p.doc not in drop],
            [p for p in self.cloze if p.doc not in drop],
            tuple(d for d in self.doc_indices() if d not in drop),
        )

    def summary(self) -> dict:
        kinds: dict[str, int] = {}
        for p in self.cloze:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        with_verbatim = {p.doc for p in self.verbatim}
        with_cloze = {p.doc for p in self.cloze}
        return {
            "source": self.documents.source,
            "documents": len(self.documents),
            "fingerprint": self.documents.fingerprint(),
            "verbatim_probes": len(self.verbatim),
            "documents_with_verbatim": len(with_verbatim),
            "cloze_probes": len(self.cloze),
            "documents_with_cloze": len(with_cloze),
            "cloze_kinds": dict(sorted(kinds.items())),
        }


@dataclass
class ProbeSet:
    roles: dict[str, RoleProbes]
    shots: list[ClozeProbe]
    shots_from: str | None

    def without(self, role: str, docs) -> ProbeSet:
        """The same probes with ``docs`` of ``role`` left out (what an attack trained on)."""
        if not docs:
            return self
        return ProbeSet(
            {r: rp.without(docs) if r == role else rp for r, rp in self.roles.items()},
            self.shots,
            self.shots_from,
        )

    def cloze_prompt(self, probe: ClozeProbe) -> str:
        return "".join(s.shot_text() for s in self.shots) + f"{CLOZE_INSTRUCTION}{probe.masked}\nAnswer: "

    def choices(self, settings: AuditSettings) -> dict:
        """What was generated and why: goes into ``audit.json`` and the report."""
        return {
            "verbatim": {
                "prefix_tokens": settings.prefix_tokens,
                "continuation_tokens": settings.continuation_tokens,
                "min_prefix_tokens": settings.min_prefix_tokens,
                "chunks_per_doc": settings.chunks_per_doc,
                "exact": "the greedy continuation reproduces the reference text (whitespace-normalised)",
            },
            "knowledge": {
                "spans": "dates, numbers, capitalised names (not a lone sentence-initial word); a span "
                "still visible in its blanked sentence is skipped",
                "cloze_per_doc": settings.cloze_per_doc,
                "max_new_tokens": settings.cloze_max_new_tokens,
                "shots_from": self.shots_from,
                "shots": [{"doc": s.doc, "masked": s.masked, "answer": s.answer} for s in self.shots],
                "prompt_format": CLOZE_INSTRUCTION + "{sentence with ____}\\nAnswer: {span}",
                "cuts": list(CLOZE_CUTS),
            },
            "membership": {
                "text": "each whole document",
                "max_length": settings.eval.privleak_max_length,
                "headline": f"Min-{settings.eval.mink_k:g}%",
            },
            "roles": {role: rp.summary() for role, rp in self.roles.items()},
        }


def _rng(settings: AuditSettings, family: str, text: str) -> random.Random:
    return random.Random(int(stable_hash([settings.eval.seed, family, doc_hash(text)]), 16))


def verbatim_probes(tokenizer, docs: DocumentSet, settings: AuditSettings) -> list[VerbatimProbe]:
    """Prefix / continuation chunks of every document long enough for one."""
    out = []
    prefix, cont = settings.prefix_tokens, settings.continuation_tokens
    for d, text in enumerate(docs.documents):
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        starts = list(range(prefix, len(ids) - cont + 1, prefix + cont))
        if not starts and len(ids) - cont >= settings.min_prefix_tokens:
            starts = [len(ids) - cont]
        if len(starts) > settings.chunks_per_doc:
            starts = sorted(_rng(settings, "verbatim", text).sample(starts, settings.chunks_per_doc))
        for c, s in enumerate(starts):
            out.append(
                VerbatimProbe(
                    d,
                    c,
                    s,
                    tokenizer.decode(ids[max(0, s - prefix) : s]),
                    decode_ids(tokenizer, ids[s : s + cont]),
                )
            )
    return out


def cloze_candidates(docs: DocumentSet, settings: AuditSettings) -> list[ClozeProbe]:
    """Up to ``cloze_per_doc`` sentences per document, one usable salient span blanked in each."""
    out = []
    for d, text in enumerate(docs.documents):
        options = []
        for s, sentence in enumerate(split_sentences(text)):
            spans = [sp for sp in salient_spans(sentence) if usable(sentence, sp)]
            if spans:
                options.append((s, sentence, spans))
        rng = _rng(settings, "cloze", text)
        chosen = sorted(rng.sample(options, min(settings.cloze_per_doc, len(options))), key=lambda o: o[0])
        for s, sentence, spans in chosen:
            span = rng.choice(spans)
            out.append(ClozeProbe(d, s, span.kind, blank(sentence, span), span.text))
    return out


def pick_shots(pool: list[ClozeProbe], docs: DocumentSet, settings: AuditSettings) -> list[ClozeProbe]:
    """``cloze_shots`` solved examples from distinct documents of ``pool``, chosen by content (seeded)."""
    by_doc: dict[int, list[ClozeProbe]] = {}
    for p in pool:
        by_doc.setdefault(p.doc, []).append(p)
    hashes = {d: doc_hash(docs.documents[d]) for d in by_doc}
    ordered = sorted(by_doc, key=lambda d: (hashes[d], d))  # the same shots whatever the document order
    rng = random.Random(int(stable_hash([settings.eval.seed, "shots", [hashes[d] for d in ordered]]), 16))
    chosen = rng.sample(ordered, min(settings.cloze_shots, len(ordered)))
    return [rng.choice(by_doc[d]) for d in chosen]


def build_probes(tokenizer, forget: DocumentSet, holdout: DocumentSet | None, settings: AuditSettings) -> ProbeSet:
    """Every probe of the audit; a family that yields no probe for a document set is a ``DataError``."""
    sets = {"forget": forget} | ({"holdout": holdout} if holdout is not None else {})
    roles = {role: RoleProbes(role, docs) for role, docs in sets.items()}
    need = settings.min_prefix_tokens + settings.continuation_tokens
    shots: list[ClozeProbe] = []
    shots_from = None
    if "verbatim" in settings.probes:
        for role, rp in roles.items():
            rp.verbatim = verbatim_probes(tokenizer, rp.documents, settings)
            if not rp.verbatim:
                longest = max(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in rp.documents.documents)
                raise DataError(
                    f"no {role} document is long enough for a verbatim probe (need {need} tokens = "
                    f"min_prefix_tokens + continuation_tokens; the longest has {longest}); lower "
                    "--continuation-tokens or leave out the verbatim probe with --probes",
                    file=rp.documents.source,
                )
    if "knowledge" in settings.probes:
        for role, rp in roles.items():
            rp.cloze = cloze_candidates(rp.documents, settings)
            if not rp.cloze:
                raise DataError(
                    f"no {role} sentence has a salient span (a date, number or capitalised name) to "
                    "blank for a cloze probe; leave out the knowledge probe with --probes",
                    file=rp.documents.source,
                )
        # shots come from the never-seen documents when there are some, so no prompt gives a forget fact away
        shots_from = "holdout" if "holdout" in roles else "forget"
        donor = roles[shots_from]
        shots = pick_shots(donor.cloze, donor.documents, settings)
        used = {s.doc for s in shots}
        donor.cloze = [p for p in donor.cloze if p.doc not in used]
        if not donor.cloze:
            raise DataError(
                f"every {shots_from} document with a cloze probe was needed as a few-shot example; "
                "add documents or lower --cloze-shots",
                file=donor.documents.source,
            )
    return ProbeSet(roles, shots, shots_from)


def probe_rows(probes: ProbeSet) -> list[dict]:
    """Every generated probe as a JSON row (``probes.jsonl``)."""
    rows = []
    for role, rp in probes.roles.items():
        rows += [{"role": role, "family": "verbatim", **asdict(p)} for p in rp.verbatim]
        rows += [{"role": role, "family": "knowledge", **asdict(p)} for p in rp.cloze]
    rows += [{"role": probes.shots_from, "family": "knowledge-shot", **asdict(p)} for p in probes.shots]
    return rows
