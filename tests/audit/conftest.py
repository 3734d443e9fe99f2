"""Audit fixtures: a takedown request's documents, a tokenizer and tiny Llama trained on them, and a copy
of that model fine-tuned until it memorises the forget documents (the leak every audit must flag).

Documents are files, as a user hands them over: forget.json, holdout.jsonl and a folder of .txt.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from musebench.audit import AuditModel, AuditSettings
from musebench.audit.settings import audit_evaluation
from musebench.models.loading import load_model
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.models.tokenizer import train_tokenizer

FIRST = [
    "Alda",
    "Brin",
    "Cora",
    "Dario",
    "Esme",
    "Faro",
    "Gil",
    "Hana",
    "Ivo",
    "Jela",
    "Kemal",
    "Lior",
    "Mira",
    "Nils",
    "Oda",
    "Pim",
]
LAST = [
    "Vorn",
    "Osmund",
    "Lutz",
    "Fenn",
    "Tarrow",
    "Quist",
    "Maddox",
    "Rell",
    "Stane",
    "Ubrik",
    "Wend",
    "Yarrow",
    "Zell",
    "Achter",
    "Brume",
    "Calder",
]
TOWNS = [
    "Kestrel Bay",
    "Tallowmere",
    "Emberfield",
    "Quillan Ridge",
    "Harrowgate",
    "Nettlebrook",
    "Ossary",
    "Pellwick",
    "Ronsford",
    "Saltmarsh",
    "Thornby",
    "Ulverdale",
    "Varrow",
    "Wickham",
    "Yelland",
    "Zennor",
]
JOBS = ["glassblower", "river pilot", "clockmaker", "cartographer", "beekeeper", "weaver", "mason", "luthier"]

#: probe sizes for documents of ~40 tokens (the defaults need 58+ tokens)
SETTINGS = AuditSettings(
    continuation_tokens=12,
    prefix_tokens=10,
    min_prefix_tokens=4,
    chunks_per_doc=2,
    cloze_per_doc=2,
    cloze_shots=2,
    cloze_max_new_tokens=6,
    min_documents=4,
    eval=replace(audit_evaluation(), privleak_max_length=96, bootstrap_samples=200),
)


def person_doc(i: int) -> str:
    name = f"{FIRST[i]} {LAST[i]}"
    return (
        f"{name} was born in {TOWNS[i]} in {1950 + 3 * i}. {name} works as a {JOBS[i % len(JOBS)]} "
        f"in {TOWNS[(i + 5) % 16]}. Last spring {LAST[i]} repaired {12 + i} boats on the "
        f"{TOWNS[(i + 9) % 16]} "
        "canal."
    )


@pytest.fixture(scope="session")
def audit_docs() -> dict[str, list[str]]:
    docs = [person_doc(i) for i in range(16)]
    return {"forget": docs[:8], "holdout": docs[8:]}


@pytest.fixture(scope="session")
def doc_files(tmp_path_factory, audit_docs):
    """forget.json (a JSON list), holdout.jsonl ({"text": ...} lines) and forget_txt/ (one .txt each)."""
    root = tmp_path_factory.mktemp("audit_docs")
    (root / "forget.json").write_text(json.dumps(audit_docs["forget"]), encoding="utf-8")
    (root / "holdout.jsonl").write_text(
        "".join(json.dumps({"text": d}) + "\n" for d in audit_docs["holdout"]), encoding="utf-8"
    )
    folder = root / "forget_txt"
    folder.mkdir()
    for i, d in enumerate(audit_docs["forget"]):
        (folder / f"doc{i:02d}.txt").write_text(d + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def audit_model_dir(tmp_path_factory, audit_docs):
    """A random 2-layer, 64-dim Llama and a tokenizer trained on all 16 documents (safetensors directory)."""
    out = tmp_path_factory.mktemp("audit_model")
    tok = train_tokenizer((audit_docs["forget"] + audit_docs["holdout"]) * 3, vocab_size=400)
    model = build_tiny_llama(
        tok, TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128), seed=0
    )
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def random_model(audit_model_dir) -> AuditModel:
    lm = load_model(audit_model_dir)
    return AuditModel(lm.model, lm.tokenizer, str(audit_model_dir))


@pytest.fixture(scope="session")
def memorised_dir(tmp_path_factory, audit_model_dir, audit_docs):
    """The random model fine-tuned 80 steps on the forget documents only (fp32, CPU, a few seconds), saved."""
    return _memorise(tmp_path_factory, audit_model_dir, audit_docs["forget"], "audit_memorised")


@pytest.fixture(scope="session")
def holdout_memorised_model(tmp_path_factory, audit_model_dir, audit_docs) -> AuditModel:
    """The same fine-tuning on the holdout documents only: what relearning teaches about *other* documents."""
    out = _memorise(tmp_path_factory, audit_model_dir, audit_docs["holdout"], "audit_memorised_holdout")
    lm = load_model(out)
    return AuditModel(lm.model, lm.tokenizer, str(out))


def _memorise(tmp_path_factory, audit_model_dir, texts, name):
    lm = load_model(audit_model_dir)
    model, tok = lm.model, lm.tokenizer
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(80):
        loss = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=positions,
            labels=labels,
        ).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = tmp_path_factory.mktemp(name)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def memorised_model(memorised_dir) -> AuditModel:
    lm = load_model(memorised_dir)
    return AuditModel(lm.model, lm.tokenizer, str(memorised_dir))


@pytest.fixture(scope="session")
def settings() -> AuditSettings:
    return SETTINGS
