"""Sizes of the mini corpora and the evaluation budgets that suit them."""

from __future__ import annotations

from dataclasses import dataclass

from musebench.errors import ConfigError


@dataclass(frozen=True)
class SizeSpec:
    people: dict[str, int]  # group -> number of people (forget, retain1, retain2, holdout)
    docs_per_person: int  # paraphrased documents about each person
    colour_sentences: int  # random detail sentences per document (verbatim content)
    qa_repeats: int  # how many shuffled drills of the retain1 people's QA the retain1 split holds
    drill_pairs: int  # Question/Answer pairs per drill document
    vocab_size: int
    max_records: int = 100  # cap of QA / verbmem / privleak records per split, as in the release
    #: people per extra C5 / C6 fold (folds 2-4): half the forget group (a quarter for ``tiny``), so the
    #: forget side of the target's training set grows 1.5x (1.75x), not 4x as in the release (build time).
    #: Measured on tiny news-mini, seed 0, target VerbMem / KnowMem-f / KnowMem-r: 4 people per fold gave
    #: 89.4 / 6.2 / 6.2 (utility below the retrain model's 21.9), 2 people 81.4 / 18.8 / 18.8 (before folds
    #: grew beyond forget: 78.5 / 15.6 / 22.9).
    fold_people: int = 0
    #: The base model's pretraining population (no split uses it): ``background`` people are read in articles
    #: and drilled in Question/Answer form; ``probe`` people are read in articles only and asked held-out
    #: questions, the base's extraction gate.
    background_people: int = 0
    probe_people: int = 0

    def forget_side_people(self) -> int:
        return self.people["forget"] + 3 * self.fold_people

    def people_per_group(self) -> dict[str, int]:
        """``people`` plus the background groups and the fold groups ``fold2``..``fold4``. The filler group
        (the retrain model's stand-in for the forget side) has as many people as the forget side."""
        filler = self.forget_side_people() if self.background_people else 0
        return {
            **self.people,
            "background": self.background_people,
            "probe": self.probe_people,
            "filler": filler,
            **{f"fold{k}": self.fold_people for k in range(2, 5)},
        }


SIZES: dict[str, SizeSpec] = {
    #: tiny: 64 background people drilled once each (not 32 drilled twice): the base's held-out extraction
    #: on seeds 0 / 1 / 2 went from 31 / 22 / 12 to 78 / 75 / 62 (benchmarks/mini_validity.md).
    "tiny": SizeSpec(
        people={"forget": 8, "retain1": 12, "retain2": 8, "holdout": 8},
        docs_per_person=3,
        colour_sentences=1,
        qa_repeats=1,
        drill_pairs=8,
        vocab_size=1024,
        fold_people=2,
        background_people=64,
        probe_people=8,
    ),
    "small": SizeSpec(
        people={"forget": 16, "retain1": 24, "retain2": 16, "holdout": 16},
        docs_per_person=3,
        colour_sentences=2,
        qa_repeats=2,
        drill_pairs=8,
        vocab_size=2048,
        fold_people=8,
        background_people=48,
        probe_people=16,
    ),
    "default": SizeSpec(
        people={"forget": 20, "retain1": 30, "retain2": 20, "holdout": 20},
        docs_per_person=3,
        colour_sentences=2,
        qa_repeats=2,
        drill_pairs=8,
        vocab_size=2048,
        fold_people=10,
        background_people=60,
        probe_people=20,
    ),
}

#: EvalSettings field overrides for the mini corpora: documents are ~100 tokens, answers one word.
MINI_EVAL_SETTINGS: dict[str, dict] = {
    "tiny": {
        "verbmem_max_new_tokens": 32,
        "verbmem_gt_max_tokens": 32,
        "knowmem_max_new_tokens": 8,
        "knowmem_num_shots": 4,
        "bootstrap_samples": 100,
    },
    "small": {
        "verbmem_max_new_tokens": 48,
        "verbmem_gt_max_tokens": 48,
        "knowmem_max_new_tokens": 16,
        "knowmem_num_shots": 10,
        "bootstrap_samples": 200,
    },
    "default": {
        "verbmem_max_new_tokens": 64,
        "verbmem_gt_max_tokens": 64,
        "knowmem_max_new_tokens": 16,
        "knowmem_num_shots": 10,
        "bootstrap_samples": 1000,
    },
}

KINDS = ("news-mini", "books-mini")


def size_spec(size: str) -> SizeSpec:
    if size not in SIZES:
        raise ConfigError(f"unknown mini corpus size; expected one of {', '.join(SIZES)}", field="size", value=size)
    return SIZES[size]
