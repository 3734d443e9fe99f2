"""The typed model of one MUSE corpus: its splits, and which criteria they allow.

A ``Corpus`` is what every loader returns (release directory, hub dataset, a practitioner's own files,
the generated mini benchmark) and what evaluation and unlearning consume. Missing optional parts are
empty lists / dicts; ``criteria()`` says which of the six criteria can then be computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from musebench.criteria import CORPUS_CRITERIA
from musebench.data.records import QAPair, VerbMemRecord
from musebench.io import stable_hash

#: Parts no model trains on and none of the six criteria reads (C7's probes): left out of the fingerprint, so
#: adding them does not invalidate built models or cached evaluations; the robustness stages hash them.
PROBE_PARTS = ("knowmem_forget_qa_paraphrase",)

#: Parts whose records may carry a unit of independence (``Corpus.units``): what the evaluation's bootstraps
#: and the audit (``musebench audit --units-from``) resample.
UNIT_PARTS = (
    "forget",
    "holdout",
    "verbmem_forget",
    "knowmem_forget_qa",
    "knowmem_retain_qa",
    "privleak_forget",
    "privleak_retain",
    "privleak_holdout",
)


def record_key(record) -> str:
    """What identifies a record of a part for its unit label: the text, the question, or prompt + reference."""
    if isinstance(record, str):
        return record
    if isinstance(record, QAPair):
        return record.question
    return f"{record.prompt}\x00{record.gt}"


#: Human names for the six MUSE criteria (``musebench.criteria``), by what each needs from a corpus.
CRITERION_TITLES: dict[str, str] = {c.key: c.title for c in CORPUS_CRITERIA}


@dataclass
class Corpus:
    """One MUSE corpus in memory.

    ``forget``/``retain1``/``retain2``/``holdout`` are raw documents. ``retain2`` is the split both target
    and retrain saw (``retain`` in newer releases); ``retain1`` is what unlearning may use as a regulariser.
    """

    name: str
    forget: list[str] = field(default_factory=list)
    retain1: list[str] = field(default_factory=list)
    retain2: list[str] = field(default_factory=list)
    holdout: list[str] = field(default_factory=list)
    verbmem_forget: list[VerbMemRecord] = field(default_factory=list)
    knowmem_forget_qa: list[QAPair] = field(default_factory=list)
    knowmem_retain_qa: list[QAPair] = field(default_factory=list)
    knowmem_forget_qa_icl: list[QAPair] = field(default_factory=list)
    knowmem_retain_qa_icl: list[QAPair] = field(default_factory=list)
    # the forget QA asked in other words (C7's rephrased probe); optional, read by no other criterion
    knowmem_forget_qa_paraphrase: list[QAPair] = field(default_factory=list)
    privleak_forget: list[str] = field(default_factory=list)
    privleak_retain: list[str] = field(default_factory=list)
    privleak_holdout: list[str] = field(default_factory=list)
    scal: dict[int, list[str]] = field(default_factory=dict)  # fold k -> documents, forget_k ⊂ forget_{k+1}
    sust: dict[int, list[str]] = field(default_factory=dict)  # fold k -> documents, pairwise disjoint
    # KnowMem questions about each fold's documents (optional; the release has only knowmem/forget_qa, which
    # is fold 1's): knowmem/scal/forget_k_qa.json, knowmem/sust/forget_k_qa.json
    scal_qa: dict[int, list[QAPair]] = field(default_factory=dict)
    sust_qa: dict[int, list[QAPair]] = field(default_factory=dict)
    source: str = ""  # where it was loaded from (directory, hub name, files)
    # The unit of independence (a person, a source) of the records of ``UNIT_PARTS``, when the corpus records it
    # (``tags/units.json``): part -> record key (``record_key``) -> label. Keyed by content, so a subset or a
    # reordering of a part keeps its labels. Not part of the fingerprint: it changes no score, only the CIs.
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    unit_name: str = "person"

    def criteria(self) -> list[str]:
        """The criteria this corpus has the data for, in MUSE order (each by ``Criterion.needs``)."""
        return [c.key for c in CORPUS_CRITERIA if all(getattr(self, p) for p in c.needs)]

    def missing_criteria(self) -> dict[str, list[str]]:
        """Criterion -> the parts it lacks, for every criterion that cannot be computed."""
        out = {}
        for crit in CORPUS_CRITERIA:
            lacking = [p for p in crit.needs if not getattr(self, p)]
            if lacking:
                out[crit.key] = lacking
        return out

    def forget_split(self, spec: str = "forget") -> list[str]:
        """Documents of a forget request: ``forget``, ``scal/forget_k`` or ``sust/forget_k``."""
        from musebench.errors import ConfigError

        if spec in ("forget", "raw/forget"):
            return self.forget
        family, _, fold = spec.partition("/")
        if family in ("scal", "sust") and fold.startswith("forget_") and fold[7:].isdigit():
            folds = getattr(self, family)
            k = int(fold[7:])
            if k not in folds:
                raise ConfigError(f"corpus '{self.name}' has no {family} fold {k}", field="forget_split", value=spec)
            return folds[k]
        raise ConfigError("expected 'forget', 'scal/forget_K' or 'sust/forget_K'", field="forget_split", value=spec)

    def head(self, n: int) -> Corpus:
        """The first ``n`` items of every split and fold, for smoke tests (``musebench eval --limit``).

        The in-context examples of KnowMem stay whole: they are part of every prompt, not items scored.
        """
        keep = ("knowmem_forget_qa_icl", "knowmem_retain_qa_icl")
        lists = {k: v[:n] for k, v in self.__dict__.items() if isinstance(v, list) and k not in keep}
        folds = {
            k: {fold: docs[:n] for fold, docs in getattr(self, k).items()}
            for k in ("scal", "sust", "scal_qa", "sust_qa")
        }
        return replace(self, **lists, **folds)

    def fold_questions(self, spec: str) -> list[QAPair]:
        """The KnowMem questions about a forget request's documents: ``knowmem_forget_qa`` for ``forget``,
        the fold's own ``*_qa`` file for ``scal/forget_k`` / ``sust/forget_k`` (empty when the corpus has none)."""
        self.forget_split(spec)  # an unknown split is the same error as there
        if spec in ("forget", "raw/forget"):
            return self.knowmem_forget_qa
        family, _, fold = spec.partition("/")
        return getattr(self, f"{family}_qa").get(int(fold[7:]), [])

    def unit_labels(self, part: str, records=None) -> list[str] | None:
        """The unit of every record of ``part`` (``records``: a subset or a derived list; default the part
        itself), or None when the corpus does not record it for every one of them (the records are then their
        own units)."""
        known = self.units.get(part)
        records = getattr(self, part) if records is None else records
        if not known or not records:
            return None
        labels = [known.get(record_key(r)) for r in records]
        return None if any(lab is None for lab in labels) else labels

    def text_units(self) -> dict[str, str]:
        """Document or privacy text -> its unit, over every labelled part of whole texts."""
        parts = ("forget", "holdout", "privleak_forget", "privleak_retain", "privleak_holdout")
        return {text: unit for part in parts for text, unit in self.units.get(part, {}).items()}

    def fingerprint(self) -> str:
        """A content hash: the cache key of everything computed from this corpus."""
        payload = {k: v for k, v in self.to_dict().items() if k not in ("source", "name", *PROBE_PARTS)}
        return stable_hash(payload)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable form (dataclasses as dicts, int fold keys as strings)."""
        d = {
            "name": self.name,
            "source": self.source,
            "forget": self.forget,
            "retain1": self.retain1,
            "retain2": self.retain2,
            "holdout": self.holdout,
            "verbmem_forget": [r.__dict__ for r in self.verbmem_forget],
            "knowmem_forget_qa": [r.__dict__ for r in self.knowmem_forget_qa],
            "knowmem_retain_qa": [r.__dict__ for r in self.knowmem_retain_qa],
            "knowmem_forget_qa_icl": [r.__dict__ for r in self.knowmem_forget_qa_icl],
            "knowmem_retain_qa_icl": [r.__dict__ for r in self.knowmem_retain_qa_icl],
            "knowmem_forget_qa_paraphrase": [r.__dict__ for r in self.knowmem_forget_qa_paraphrase],
            "privleak_forget": self.privleak_forget,
            "privleak_retain": self.privleak_retain,
            "privleak_holdout": self.privleak_holdout,
            "scal": {str(k): v for k, v in sorted(self.scal.items())},
            "sust": {str(k): v for k, v in sorted(self.sust.items())},
        }
        for family in ("scal_qa", "sust_qa"):  # only when present: older corpora keep their fingerprint
            folds = getattr(self, family)
            if folds:
                d[family] = {str(k): [r.__dict__ for r in v] for k, v in sorted(folds.items())}
        return d
