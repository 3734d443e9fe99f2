"""Write a mini corpus to disk: the release layout, a tokenizer trained on its text, and its recipe."""

from __future__ import annotations

import json
from pathlib import Path

from musebench.data.corpus import Corpus
from musebench.data.layout import save_corpus
from musebench.data.synthetic.assemble import generate_corpus
from musebench.data.synthetic.sizes import size_spec
from musebench.errors import DataError
from musebench.io import atomic_directory, atomic_write_json

#: File naming how a directory was generated (kind, size, seed); ``build`` reads it to pick its recipe.
SYNTHETIC_META = "synthetic.json"
TOKENIZER_DIR = "tokenizer"


def tokenizer_texts(corpus: Corpus) -> list[str]:
    """Every text a model will read or be asked about, so names and answers are whole tokens."""
    qa = corpus.knowmem_forget_qa + corpus.knowmem_retain_qa + corpus.knowmem_retain_qa_icl
    return (corpus.forget + corpus.retain1 + corpus.retain2 + corpus.holdout
            + [f"Question: {p.question}\nAnswer: {p.answer}\n\n" for p in qa])


def write_corpus(kind: str, size: str, seed: int, out_dir: str | Path, keep: tuple[str, ...] = ()) -> Path:
    """Generate ``kind`` at ``size`` and write it, with ``tokenizer/`` and ``synthetic.json``, atomically.

    ``keep``: entries of an existing ``out_dir`` carried into the new one (its lock and mark, a user's files).
    """
    from musebench.models.tokenizer import save_tokenizer, train_tokenizer

    corpus = generate_corpus(kind, size, seed)
    tokenizer = train_tokenizer(tokenizer_texts(corpus), vocab_size=size_spec(size).vocab_size,
                                trailing_space=True)
    out = Path(out_dir)
    with atomic_directory(out, keep=keep) as tmp:
        save_corpus(corpus, tmp)
        save_tokenizer(tokenizer, tmp / TOKENIZER_DIR)
        atomic_write_json(tmp / SYNTHETIC_META, {"kind": kind, "size": size, "seed": seed,
                                                 "fingerprint": corpus.fingerprint()})
    return out


def read_synthetic_meta(data_dir: str | Path) -> dict | None:
    """The generation record of a mini corpus directory, or None for any other corpus."""
    path = Path(data_dir) / SYNTHETIC_META
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"invalid JSON: {err.msg}", file=path) from err
