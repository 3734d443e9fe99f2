"""Write a mini corpus to disk: the release layout (with C7's probes), its tokenizer and its recipe.

The tokenizer is trained by the caller (``musebench.models.mini_corpus``): ``data/`` is the ground floor and
imports nothing above it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from musebench.data.corpus import Corpus
from musebench.data.layout import save_corpus
from musebench.data.records import QAPair
from musebench.data.synthetic.assemble import Background, generate_world
from musebench.data.synthetic.probes import with_paraphrases, write_tags
from musebench.data.synthetic.sizes import size_spec
from musebench.errors import DataError
from musebench.io import atomic_directory, atomic_write_json

#: File naming how a directory was generated (kind, size, seed); ``build`` reads it to pick its recipe.
SYNTHETIC_META = "synthetic.json"
TOKENIZER_DIR = "tokenizer"
#: The background text (``Background``): files under ``background/`` of a mini corpus directory.
BACKGROUND_DIR = "background"
BACKGROUND_FILES = {
    "articles": "articles.json",
    "drills": "drills.json",
    "probe_qa": "probe_qa.json",
    "probe_icl": "probe_icl.json",
    "filler": "filler.json",
    "names": "names.json",
}


def tokenizer_texts(corpus: Corpus, background: Background | None = None) -> list[str]:
    """The texts the tokenizer learns from: the forget, retain and holdout documents, the base's pretraining
    text (its Question/Answer drills teach the prompt format's tokens) and the name list (``Background.names``:
    a tiny model extracts facts far better when a name is a few tokens; measured on tiny seed 0, base held-out
    KnowMem 15.6 without the list, 46.9 with the question lists that named forget and probe people).

    Never a C5 / C6 fold or the filler (whose size follows the folds'): adding or resizing folds leaves the
    tokenizer, and so the base, unchanged. Never the KnowMem questions either: they name the forget and retain
    people but not the holdout people, so their names would get more merges (fewer, likelier tokens) than
    holdout names, and even a model that never read a forget document would tell the two apart (a retrain
    Min-40% AUC of 0.09 on tiny seed 1, measured, where 0.5 is fair).
    """
    texts = corpus.forget + corpus.retain1 + corpus.retain2 + corpus.holdout
    if background is not None:
        texts = texts + background.articles + background.drills + background.names
    return texts


#: ``write_tokenizer(texts, vocab_size, directory)`` trains a tokenizer on the texts and saves it there.
TokenizerWriter = Callable[[list[str], int, Path], None]


def write_corpus(
    kind: str,
    size: str,
    seed: int,
    out_dir: str | Path,
    *,
    write_tokenizer: TokenizerWriter,
    keep: tuple[str, ...] = (),
) -> Path:
    """Generate ``kind`` at ``size`` and write it, with ``tokenizer/`` and ``synthetic.json``, atomically.

    ``keep``: entries of an existing ``out_dir`` carried into the new one (its lock and mark, a user's files).
    """
    world = generate_world(kind, size, seed)
    corpus = with_paraphrases(kind, world.corpus)  # + C7's rephrased probe
    out = Path(out_dir)
    with atomic_directory(out, keep=keep) as tmp:
        save_corpus(corpus, tmp)
        write_tags(kind, corpus, tmp)  # who each forget record is about (C7's relearning split)
        write_background(world.background, tmp)
        write_tokenizer(tokenizer_texts(corpus, world.background), size_spec(size).vocab_size, tmp / TOKENIZER_DIR)
        atomic_write_json(
            tmp / SYNTHETIC_META,
            {
                "kind": kind,
                "size": size,
                "seed": seed,
                "fingerprint": corpus.fingerprint(),
                "constant_answer": world.constant_answer,
            },
        )
    return out


def write_background(background: Background, out_dir: Path) -> None:
    for attr, name in BACKGROUND_FILES.items():
        items = getattr(background, attr)
        rows = [p.__dict__ for p in items] if attr.startswith("probe") else items
        atomic_write_json(out_dir / BACKGROUND_DIR / name, rows)


def read_background(data_dir: str | Path) -> Background | None:
    """The background text of a mini corpus directory, or None for a corpus without one."""
    folder = Path(data_dir) / BACKGROUND_DIR
    if not folder.is_dir():
        return None
    parts = {}
    for attr, name in BACKGROUND_FILES.items():
        path = folder / name
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"cannot read the background text: {err}", file=path) from err
        parts[attr] = [QAPair(r["question"], r["answer"]) for r in rows] if attr.startswith("probe") else rows
    return Background(**parts)


def read_synthetic_meta(data_dir: str | Path) -> dict | None:
    """The generation record of a mini corpus directory, or None for any other corpus."""
    path = Path(data_dir) / SYNTHETIC_META
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"invalid JSON: {err.msg}", file=path) from err
