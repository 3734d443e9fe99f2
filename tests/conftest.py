"""Session fixtures: a small hand-written corpus, a tokenizer trained on it and a 2-layer 64-dim Llama.

Nothing is downloaded. Torch uses one thread per test process (CI runs two processes on two cores).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest
import torch

from musebench.data import Corpus, QAPair, VerbMemRecord
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.models.tokenizer import train_tokenizer

torch.set_num_threads(1)

PEOPLE = [
    ("Alda Vorn", "Kestrel Bay", "1987", "a lighthouse keeper"),
    ("Brin Osmund", "Tallowmere", "1992", "a glassblower"),
    ("Cora Lutz", "Emberfield", "1979", "a river pilot"),
    ("Dario Fenn", "Quillan Ridge", "2003", "a clockmaker"),
    ("Esme Tarrow", "Harrowgate Vale", "1968", "a cartographer"),
    ("Faro Quist", "Nettlebrook", "1995", "a beekeeper"),
]


#: A forget-side document beyond the forget set (C5 / C6 fold 2 only; not in the tokenizer's texts).
FOLD_DOC = "Gil Marrow was born in Kestrel Bay in 1990. Gil Marrow worked as a glassblower in Tallowmere."


def _doc(name, place, year, job):
    return (f"{name} was born in {place} in {year}. {name} worked as {job} in {place}. "
            f"In {year} the town of {place} celebrated the birth of {name}.")


@pytest.fixture(scope="session")
def tiny_corpus() -> Corpus:
    docs = [_doc(*p) for p in PEOPLE]
    qa = [QAPair(f"Where was {n} born?", pl) for n, pl, _, _ in PEOPLE]
    return Corpus(
        name="tiny",
        forget=docs[:2],
        retain1=docs[2:3],
        retain2=docs[3:5],
        holdout=docs[5:],
        verbmem_forget=[VerbMemRecord(prompt=d[:40], gt=d[40:]) for d in docs[:2]],
        knowmem_forget_qa=qa[:2],
        knowmem_retain_qa=qa[3:5],
        knowmem_forget_qa_icl=qa[2:3],
        knowmem_retain_qa_icl=qa[2:3],
        privleak_forget=docs[:2],
        privleak_retain=docs[3:5],
        privleak_holdout=docs[5:] + docs[2:3],
        # the release layout: fold 1 is the forget set; fold 2 adds a document the target also read
        scal={1: docs[:2], 2: docs[:2] + [FOLD_DOC]},
        sust={1: docs[:2], 2: [FOLD_DOC]},
        source="fixture",
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_corpus):
    texts = tiny_corpus.forget + tiny_corpus.retain1 + tiny_corpus.retain2 + tiny_corpus.holdout
    tok = train_tokenizer(texts * 3, vocab_size=400)
    tok.padding_side = "left"
    return tok


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A random 2-layer, 64-dim Llama saved as a standard HF directory (safetensors + tokenizer)."""
    out = tmp_path_factory.mktemp("tiny_model")
    model = build_tiny_llama(tiny_tokenizer, TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4,
                                                           intermediate_size=128), seed=0)
    model.save_pretrained(out, safe_serialization=True)
    tiny_tokenizer.save_pretrained(out)
    return out
