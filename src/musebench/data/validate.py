"""Check a corpus directory and report every problem at once (not just the first).

Beyond what the loader refuses (missing/empty required split, malformed JSON, wrong types, records lacking
question/answer/prompt/gt, invalid UTF-8), it checks what makes MUSE numbers meaningless: documents shared by
forget and holdout (PrivLeak compares the two, so a shared document biases the AUC), scal folds that are not
nested (forget_k ⊂ forget_{k+1}), sust folds that overlap (each request must remove new data), fold documents
that are holdout documents, and (a warning) a fold 1 that is not ``raw/forget`` as in the MUSE release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from musebench.data.corpus import Corpus
from musebench.data.files import DOCUMENT_SUFFIXES, Problem, ProblemSink
from musebench.data.layout import LAYOUT, LEGACY_NAMES
from musebench.data.loaders import (
    FOLD_FAMILIES,
    FOLD_FILE,
    FOLD_QA_FILE,
    normalise_text,
    read_directory,
    report_missing_criteria,
)
from musebench.data.summary import SplitSummary, describe
from musebench.errors import DataError

FAMILY_DIRS = ("raw", "verbmem", "knowmem", "privleak", *FOLD_FAMILIES)
LEAKAGE_PAIRS = (("forget", "holdout"), ("privleak_forget", "privleak_holdout"))
#: Forget documents must not be retain documents either: retrain would have seen them (retain2), unlearning
#: would be told to keep them (retain1), PrivLeak's retain texts would be forget texts.
RETAIN_LEAKAGE_PAIRS = (("forget", "retain1"), ("forget", "retain2"), ("privleak_forget", "privleak_retain"))


@dataclass
class ValidationReport:
    """Every problem found in one corpus directory, plus its split summary and supported criteria."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    rows: list[SplitSummary] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the corpus can be used (warnings allowed)."""
        return not self.errors

    def __iter__(self):
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)


def validate_directory(path: str | Path, tokenizer=None) -> ValidationReport:
    """Validate the release-layout directory ``path``; ``tokenizer`` adds token counts to the summary."""
    root = Path(path)
    sink = ProblemSink(strict=False)
    corpus, paths = read_directory(root, sink)
    if root.is_dir():
        _check_unknown_files(root, sink)
        sink.problems.extend(corpus_problems(corpus, paths))
        if not any(p.severity == "error" for p in sink.problems):
            _check_fingerprint(root, corpus, sink)
        report_missing_criteria(corpus, sink, root)
    problems = [_relative(p, root) for p in sink.problems]
    return ValidationReport(str(root), problems, describe(corpus, tokenizer), corpus.criteria())


#: Criterion -> the corpus parts it scores and the text of one record; an empty text cannot be scored.
SCORED_TEXTS = {
    "verbmem_f": [("verbmem_forget", lambda r: r.prompt)],
    "knowmem_f": [("knowmem_forget_qa", lambda r: r.question)],
    "knowmem_r": [("knowmem_retain_qa", lambda r: r.question)],
    "privleak": [("privleak_forget", str), ("privleak_holdout", str)],
    "privacy": [("privleak_forget", str), ("privleak_holdout", str), ("privleak_retain", str)],
}


def corpus_problems(
    corpus: Corpus, paths: dict[str, Path] | None = None, criteria: list[str] | None = None
) -> list[Problem]:
    """The checks ``data validate`` and ``eval`` share: one list, so the two can never disagree.

    Errors: forget text also in holdout (PrivLeak would compare a document with itself), scal folds not
    nested, sust folds overlapping, empty texts a criterion must score. Warning: a question asked twice
    (it would count twice in KnowMem). ``criteria`` limits the text checks to what will be scored.
    """
    paths = dict(paths or {})
    root = Path(corpus.source) if corpus.source and Path(corpus.source).is_dir() else None
    for attr, rel in LAYOUT.items():
        paths.setdefault(attr, root / rel if root else Path(rel))
    for family in FOLD_FAMILIES:
        for k in getattr(corpus, family):
            paths.setdefault(
                f"{family}/forget_{k}",
                root / family / f"forget_{k}.json" if root else Path(family) / f"forget_{k}.json",
            )
        for k in getattr(corpus, f"{family}_qa"):
            rel = Path("knowmem") / family / f"forget_{k}_qa.json"
            paths.setdefault(f"knowmem/{family}/forget_{k}_qa", root / rel if root else rel)
    sink = ProblemSink(strict=False)
    _check_leakage(corpus, paths, sink)
    _check_scal_nested(corpus, paths, sink)
    _check_sust_disjoint(corpus, paths, sink)
    _check_fold_layout(corpus, paths, sink)
    _check_empty_texts(corpus, paths, sink, criteria)
    _check_duplicate_questions(corpus, paths, sink)
    return sink.problems


def check_corpus(corpus: Corpus, criteria: list[str] | None = None) -> None:
    """Raise one ``DataError`` listing every error ``corpus_problems`` finds (eval's gate before any model)."""
    import warnings

    from musebench.data.files import MissingDataWarning

    problems = corpus_problems(corpus, criteria=criteria)
    for p in problems:
        if p.severity == "warning":
            warnings.warn(f"{p.file}: {p.message}", MissingDataWarning, stacklevel=2)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s); see 'musebench data validate')" if len(errors) > 1 else ""
        raise DataError(first.message + more, file=first.file, field=first.field)


def _check_empty_texts(corpus: Corpus, paths: dict, sink: ProblemSink, criteria: list[str] | None) -> None:
    checked = set()
    for crit, parts in SCORED_TEXTS.items():
        if criteria is not None and crit not in criteria:
            continue
        for attr, text_of in parts:
            if attr in checked:
                continue
            checked.add(attr)
            empty = [i for i, r in enumerate(getattr(corpus, attr)) if not text_of(r).strip()]
            if empty:
                sink.error(
                    DataError(
                        f"{len(empty)} empty text(s), e.g. record {empty[0]}: they cannot be scored", file=paths[attr]
                    )
                )


def _check_duplicate_questions(corpus: Corpus, paths: dict, sink: ProblemSink) -> None:
    for attr in ("knowmem_forget_qa", "knowmem_retain_qa"):
        seen: dict[str, int] = {}
        repeats = []
        for i, qa in enumerate(getattr(corpus, attr)):
            key = normalise_text(qa.question)
            if key in seen:
                repeats.append((i, seen[key]))
            seen.setdefault(key, i)
        if repeats:
            i, first = repeats[0]
            sink.warning(
                f"{len(repeats)} question(s) asked more than once (e.g. record {i} repeats record {first}); "
                "each copy counts in KnowMem",
                paths[attr],
                "question",
            )


def _relative(problem: Problem, root: Path) -> Problem:
    try:
        shown = str(Path(problem.file).relative_to(root)) if problem.file else problem.file
    except ValueError:
        shown = problem.file
    if shown == ".":
        shown = str(root)
    return Problem(problem.severity, shown, problem.field, problem.message)


def _known_files(root: Path) -> set[Path]:
    known = set()
    for attr, rel in LAYOUT.items():
        for name in [rel, *LEGACY_NAMES.get(attr, [])]:
            stem = root / name.removesuffix(".json")
            known.update(stem.with_name(stem.name + s) for s in DOCUMENT_SUFFIXES)
    return known


def _check_unknown_files(root: Path, sink: ProblemSink) -> None:
    """Warn about files in the release folders that no split name matches (a typo silently drops data)."""
    known = _known_files(root)
    for family in FAMILY_DIRS:
        folder = root / family
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path in known or (family in FOLD_FAMILIES and FOLD_FILE.match(path.name)):
                continue
            if family == "knowmem" and path.is_dir() and path.name in FOLD_FAMILIES:
                for qa in sorted(path.iterdir()):  # knowmem/scal/forget_k_qa.json, knowmem/sust/...
                    if not FOLD_QA_FILE.match(qa.name):
                        sink.warning("unrecognised file, ignored (expected forget_K_qa.json)", qa)
                continue
            sink.warning("unrecognised file, ignored (see the release layout)", path)


def _normalised(docs: list[str]) -> dict[str, int]:
    """Normalised text -> index of its first occurrence."""
    out: dict[str, int] = {}
    for i, doc in enumerate(docs):
        out.setdefault(normalise_text(doc), i)
    return out


def _check_leakage(corpus: Corpus, paths: dict[str, Path], sink: ProblemSink) -> None:
    for forget_attr, holdout_attr in LEAKAGE_PAIRS:
        forget, holdout = (
            _normalised(getattr(corpus, forget_attr)),
            _normalised(getattr(corpus, holdout_attr)),
        )
        shared = [holdout[t] for t in holdout if t in forget]
        if shared:
            sink.error(
                DataError(
                    f"{len(shared)} document(s) also in {LAYOUT[forget_attr]} (compared after normalising "
                    f"case and whitespace), e.g. record {sorted(shared)[0]}; PrivLeak needs holdout data "
                    "the model never saw",
                    file=paths[holdout_attr],
                )
            )
    for forget_attr, retain_attr in RETAIN_LEAKAGE_PAIRS:
        forget = _normalised(getattr(corpus, forget_attr))
        retain = _normalised(getattr(corpus, retain_attr))
        shared = sorted(retain[t] for t in retain if t in forget)
        if shared:
            sink.error(
                DataError(
                    f"{len(shared)} document(s) also in {LAYOUT[forget_attr]} (compared after normalising case and "
                    f"whitespace), e.g. record {shared[0]}; retain text must not be forget text (the retrain model "
                    "would have seen it)",
                    file=paths[retain_attr],
                )
            )
    forget_q = {normalise_text(qa.question): i for i, qa in reversed(list(enumerate(corpus.knowmem_forget_qa)))}
    same = [
        (i, forget_q[normalise_text(qa.question)])
        for i, qa in enumerate(corpus.knowmem_retain_qa)
        if normalise_text(qa.question) in forget_q
    ]
    if same:
        i, j = same[0]
        sink.error(
            DataError(
                f"{len(same)} question(s) also asked in {LAYOUT['knowmem_forget_qa']} (compared after normalising case "
                f"and whitespace), e.g. record {i} = forget record {j}; KnowMem-r and KnowMem-f would score the same "
                "question",
                file=paths["knowmem_retain_qa"],
            )
        )


def _check_scal_nested(corpus: Corpus, paths: dict[str, Path], sink: ProblemSink) -> None:
    folds = sorted(corpus.scal)
    for a, b in zip(folds, folds[1:], strict=False):
        smaller, larger = _normalised(corpus.scal[a]), _normalised(corpus.scal[b])
        outside = [i for t, i in smaller.items() if t not in larger]
        if outside:
            sink.error(
                DataError(
                    f"scal folds must be nested (forget_{a} ⊂ forget_{b}): {len(outside)} of {len(smaller)} "
                    f"document(s) of forget_{a} are missing here, e.g. its record {outside[0]}",
                    file=paths[f"scal/forget_{b}"],
                )
            )
    if folds and folds != list(range(1, len(folds) + 1)):
        sink.warning(f"fold numbers {folds} are not 1..{len(folds)}", paths[f"scal/forget_{folds[0]}"].parent)


def _check_sust_disjoint(corpus: Corpus, paths: dict[str, Path], sink: ProblemSink) -> None:
    folds = sorted(corpus.sust)
    normalised = {k: _normalised(corpus.sust[k]) for k in folds}
    for a, b in combinations(folds, 2):
        shared = [i for t, i in normalised[b].items() if t in normalised[a]]
        if shared:
            sink.error(
                DataError(
                    f"sust folds must be disjoint: {len(shared)} document(s) also in forget_{a}, "
                    f"e.g. record {shared[0]}",
                    file=paths[f"sust/forget_{b}"],
                )
            )
    if folds and folds != list(range(1, len(folds) + 1)):
        sink.warning(f"fold numbers {folds} are not 1..{len(folds)}", paths[f"sust/forget_{folds[0]}"].parent)


def _check_fold_layout(corpus: Corpus, paths: dict[str, Path], sink: ProblemSink) -> None:
    """Fold documents never in holdout (error); fold 1 = raw/forget and questions only for existing folds
    (warnings: a corpus can differ from the release and still be used)."""
    holdout = _normalised(corpus.holdout)
    forget = set(_normalised(corpus.forget))
    for family in FOLD_FAMILIES:
        folds = getattr(corpus, family)
        for k, docs in sorted(folds.items()):
            # forget documents in holdout are reported by the leakage check already
            shared = [i for t, i in _normalised(docs).items() if t in holdout and t not in forget]
            if shared:
                sink.error(
                    DataError(
                        f"{len(shared)} fold document(s) are also in raw/holdout, e.g. record "
                        f"{shared[0]}; the target trains on fold documents, holdout must be unseen",
                        file=paths[f"{family}/forget_{k}"],
                    )
                )
        if 1 in folds and forget and set(_normalised(folds[1])) != forget:
            sink.warning(
                f"{family}/forget_1 differs from raw/forget; in the MUSE release fold 1 is the forget "
                "set (the main request) and later folds add to it",
                paths[f"{family}/forget_1"],
            )
        for k in sorted(getattr(corpus, f"{family}_qa")):
            if k not in folds:
                sink.warning(
                    f"questions for {family} fold {k}, which has no documents", paths[f"knowmem/{family}/forget_{k}_qa"]
                )


def _check_fingerprint(root: Path, corpus: Corpus, sink: ProblemSink) -> None:
    """``corpus.json`` (written by ``save_corpus``) records a fingerprint; a mismatch means hand edits."""
    meta = root / "corpus.json"
    if not meta.is_file():
        return
    try:
        recorded = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
    except (ValueError, AttributeError):
        sink.warning("unreadable corpus metadata", meta)
        return
    if recorded and recorded != corpus.fingerprint():
        sink.warning(
            f"fingerprint {recorded} differs from the files' content ({corpus.fingerprint()}): "
            "files were changed after the corpus was written",
            meta,
            "fingerprint",
        )
