"""The on-disk release layout of one MUSE corpus, and a writer for it.

```
raw/{forget,retain1,retain2,holdout}.json
verbmem/forget.json
knowmem/{forget_qa,retain_qa,forget_qa_icl,retain_qa_icl}.json   (+ optional forget_qa_paraphrase.json)
privleak/{forget,retain,holdout}.json
scal/forget_{1..4}.json
sust/forget_{1..4}.json
knowmem/scal/forget_{1..4}_qa.json   (optional, musebench: KnowMem questions about each fold's documents)
knowmem/sust/forget_{1..4}_qa.json
```
As in the News release, ``scal/forget_1`` = ``sust/forget_1`` = ``raw/forget``: the scalability folds grow
beyond the forget set (forget_k ⊂ forget_{k+1}) and sustainability folds 2-4 are further, disjoint documents;
every fold document is one the target trained on and the retrain model did not.
Older releases name ``retain`` as ``retain2`` (raw/retain2.json, knowmem/retain2_qa*.json, privleak/retain2.json).
"""

from __future__ import annotations

from pathlib import Path

from musebench.data.corpus import Corpus
from musebench.io import atomic_write_json

#: Corpus attribute -> relative file path (newest names) in the release layout.
LAYOUT: dict[str, str] = {
    "forget": "raw/forget.json",
    "retain1": "raw/retain1.json",
    "retain2": "raw/retain2.json",
    "holdout": "raw/holdout.json",
    "verbmem_forget": "verbmem/forget.json",
    "knowmem_forget_qa": "knowmem/forget_qa.json",
    "knowmem_retain_qa": "knowmem/retain_qa.json",
    "knowmem_forget_qa_icl": "knowmem/forget_qa_icl.json",
    "knowmem_retain_qa_icl": "knowmem/retain_qa_icl.json",
    "knowmem_forget_qa_paraphrase": "knowmem/forget_qa_paraphrase.json",
    "privleak_forget": "privleak/forget.json",
    "privleak_retain": "privleak/retain.json",
    "privleak_holdout": "privleak/holdout.json",
}

#: Older release names accepted as fallbacks when the newer file is absent.
LEGACY_NAMES: dict[str, list[str]] = {
    "retain2": ["raw/retain.json"],
    "knowmem_retain_qa": ["knowmem/retain2_qa.json"],
    "knowmem_retain_qa_icl": ["knowmem/retain2_qa_icl.json"],
    "privleak_retain": ["privleak/retain2.json"],
}

REQUIRED_PARTS = ("forget", "retain2")


def fold_qa_path(family: str, k: int) -> str:
    """Release-relative file of the KnowMem questions about fold ``k`` of ``scal`` / ``sust``."""
    return f"knowmem/{family}/forget_{k}_qa.json"


def save_corpus(corpus: Corpus, out_dir: str | Path) -> Path:
    """Write ``corpus`` in the release layout (every file atomically) plus ``corpus.json`` metadata."""
    out = Path(out_dir)
    data = corpus.to_dict()
    for attr, rel in LAYOUT.items():
        if data[attr]:
            atomic_write_json(out / rel, data[attr])
    for family in ("scal", "sust"):
        for k, docs in sorted(getattr(corpus, family).items()):
            atomic_write_json(out / family / f"forget_{k}.json", docs)
        for k, pairs in sorted(getattr(corpus, f"{family}_qa").items()):
            atomic_write_json(out / fold_qa_path(family, k), [p.__dict__ for p in pairs])
    from musebench.data.units import write_units

    write_units(corpus, out)
    atomic_write_json(
        out / "corpus.json", {"name": corpus.name, "fingerprint": corpus.fingerprint(), "criteria": corpus.criteria()}
    )
    return out
