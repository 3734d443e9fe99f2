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
from musebench.data.synthetic.assemble import generate_corpus
from musebench.data.synthetic.probes import with_paraphrases, write_tags
from musebench.data.synthetic.sizes import size_spec
from musebench.errors import DataError
from musebench.io import atomic_directory, atomic_write_json

#: File naming how a directory was generated (kind, size, seed); ``build`` reads it to pick its recipe.
SYNTHETIC_META = "synthetic.json"
TOKENIZER_DIR = "tokenizer"


def tokenizer_texts(corpus: Corpus) -> list[str]:
    """Every text a model will read or be asked about, so names and answers are whole tokens."""
    qa = corpus.knowmem_forget_qa + corpus.knowmem_retain_qa + corpus.knowmem_retain_qa_icl
    qa += [p for k in sorted(corpus.sust_qa) if k > 1 for p in corpus.sust_qa[k]]
    fold_docs = [d for k in sorted(corpus.sust) if k > 1 for d in corpus.sust[k]]
    return (corpus.forget + fold_docs + corpus.retain1 + corpus.retain2 + corpus.holdout
            + [f"Question: {p.question}\nAnswer: {p.answer}\n\n" for p in qa])


#: ``write_tokenizer(corpus, vocab_size, directory)`` trains a tokenizer on the corpus and saves it there.
TokenizerWriter = Callable[[Corpus, int, Path], None]


def write_corpus(kind: str, size: str, seed: int, out_dir: str | Path, *,
                 write_tokenizer: TokenizerWriter, keep: tuple[str, ...] = ()) -> Path:
    """Generate ``kind`` at ``size`` and write it, with ``tokenizer/`` and ``synthetic.json``, atomically.

    ``keep``: entries of an existing ``out_dir`` carried into the new one (its lock and mark, a user's files).
    """
    corpus = with_paraphrases(kind, generate_corpus(kind, size, seed))  # + C7's rephrased probe
    out = Path(out_dir)
    with atomic_directory(out, keep=keep) as tmp:
        save_corpus(corpus, tmp)
        write_tags(kind, corpus, tmp)  # who each forget record is about (C7's relearning split)
        write_tokenizer(corpus, size_spec(size).vocab_size, tmp / TOKENIZER_DIR)
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
