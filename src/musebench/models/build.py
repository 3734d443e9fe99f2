"""Build the target and retrain models of a corpus: train a tiny Llama from scratch, cache it by content.

MUSE's target saw forget ∪ retain; its retrain saw retain only, with the same recipe and seed (here retain =
retain1 ∪ retain2). As in the News release, the forget side of the target's training set is the forget split
plus every scalability / sustainability fold document (the folds grow beyond the forget set); the retrain
model sees none of them, and none may be a holdout document (PrivLeak's unseen reference). The model directory is named by role; ``build.json`` inside
records the cache key ``stable_hash(corpus fingerprint, tokenizer, recipe, role, seed)``, so a second build
with the same inputs returns at once.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from musebench.errors import ConfigError, DataError
from musebench.io import (
    atomic_directory,
    atomic_write_json,
    check_output_dir,
    file_hash,
    kept_entries,
    output_dir,
    stable_hash,
)
from musebench.models.recipe import BuildRecipe, recipe_for
from musebench.versions import environment_versions

log = logging.getLogger(__name__)

ROLES = ("target", "retrain")
BUILD_RECORD = "build.json"
KIND = "model"  # the kind its output directory is marked with (musebench.io.KINDS)
TOKENIZER_DIR = "tokenizer"


def training_documents(corpus, role: str) -> list[str]:
    """The documents a ``role`` model trains on (target: forget ∪ fold documents ∪ retain1 ∪ retain2;
    retrain: retain only)."""
    if role not in ROLES:
        raise ConfigError(f"expected one of {', '.join(ROLES)}", field="role", value=role)
    retain = corpus.retain1 + corpus.retain2
    return forget_side_documents(corpus) + retain if role == "target" else list(retain)


def forget_side_documents(corpus) -> list[str]:
    """forget, then every scal / sust document not already listed (first-seen order), checked against the
    holdout and retain splits: a fold document there would be read by the retrain model or leak into PrivLeak."""
    check_folds_outside_other_splits(corpus)
    seen = set(corpus.forget)
    out = list(corpus.forget)
    for family in ("scal", "sust"):
        for _, docs in sorted(getattr(corpus, family).items()):
            for d in docs:
                if d not in seen:
                    seen.add(d)
                    out.append(d)
    return out


def check_folds_outside_other_splits(corpus) -> None:
    """No scal / sust document may be a retain or holdout document (the retrain model must not see it)."""
    others = {"holdout": set(corpus.holdout), "retain": set(corpus.retain1) | set(corpus.retain2)}
    for family in ("scal", "sust"):
        for k, docs in sorted(getattr(corpus, family).items()):
            for split, texts in others.items():
                shared = sum(d in texts for d in docs)
                if shared:
                    raise DataError(f"{shared} document(s) are also in the {split} split, so the retrain model or "
                                    "the PrivLeak reference would see them", file=corpus.source or corpus.name,
                                    field=f"{family}/forget_{k}")


def load_build_tokenizer(data_dir: Path, corpus):
    """The corpus's own tokenizer (``DIR/tokenizer``) or, for a corpus without one, one trained on its text."""
    from musebench.models.loading import load_tokenizer
    from musebench.models.tokenizer import train_tokenizer

    if (data_dir / TOKENIZER_DIR).is_dir():
        return load_tokenizer(data_dir / TOKENIZER_DIR), file_hash(data_dir / TOKENIZER_DIR / "tokenizer.json")
    texts = corpus.forget + corpus.retain1 + corpus.retain2 + corpus.holdout
    tok = train_tokenizer(texts, vocab_size=2048, trailing_space=True)
    return tok, stable_hash(texts)


def build_key(fingerprint: str, tokenizer_id: str, recipe: BuildRecipe, role: str, seed: int) -> str:
    return stable_hash({"corpus": fingerprint, "tokenizer": tokenizer_id, "recipe": recipe.to_dict(),
                        "role": role, "seed": seed})


def cached(out: Path, key: str) -> bool:
    record = out / BUILD_RECORD
    if not (record.is_file() and (out / "model.safetensors").is_file()):
        return False
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("key") == key
    except json.JSONDecodeError:
        return False


def build_model(data_dir: str | Path, role: str, out_dir: str | Path, recipe: BuildRecipe | None = None,
                seed: int = 0, device: str = "cpu", progress: bool = True, force: bool = False) -> Path:
    """Train (or reuse) the ``role`` model of the corpus in ``data_dir``; returns ``out_dir/role``.

    ``recipe`` defaults to the one tuned for the mini corpus size recorded in ``data_dir`` (``default``
    for any other corpus).
    """
    from musebench.data import load_corpus
    from musebench.data.synthetic import read_synthetic_meta

    data_dir = Path(data_dir)
    out = Path(out_dir) / role
    check_output_dir(out, kind=KIND, force=force)  # before any work: never replace a user's model
    corpus = load_corpus(data_dir)
    docs = training_documents(corpus, role)
    if recipe is None:
        meta = read_synthetic_meta(data_dir)
        recipe = recipe_for(meta["size"] if meta else None)
    tokenizer, tokenizer_id = load_build_tokenizer(data_dir, corpus)
    key = build_key(corpus.fingerprint(), tokenizer_id, recipe, role, seed)
    if not force and cached(out, key):
        log.info("cache hit: %s (%s)", out, key)
        return out
    # --force keeps a user's other files (carried over); a model of another kind's directory is never replaced
    with output_dir(out, kind=KIND, force=force), atomic_directory(out, keep=kept_entries(out)) as tmp:
        record = train_and_save(tokenizer, docs, recipe, seed, device, tmp, progress, desc=f"build/{role}")
        record.update(role=role, key=key, corpus=corpus.name, corpus_fingerprint=corpus.fingerprint(),
                      documents=len(docs), seed=seed, recipe=recipe.to_dict())
        atomic_write_json(tmp / BUILD_RECORD, record)
    return out


def train_and_save(tokenizer, docs: list[str], recipe: BuildRecipe, seed: int, device: str, out: Path,
                   progress: bool, desc: str = "build") -> dict:
    """Train a fresh tiny Llama on ``docs`` and save it (safetensors + tokenizer) into ``out``."""
    import shutil

    import torch

    from musebench.models.tiny import build_tiny_llama
    from musebench.models.train import train_causal_lm

    model = build_tiny_llama(tokenizer, recipe.spec(), seed=seed).to(device)
    work = out / ".trainer"
    start = time.perf_counter()
    stats = train_causal_lm(model, tokenizer, docs, recipe, seed, device, work, progress, desc=desc)
    seconds = time.perf_counter() - start
    shutil.rmtree(work, ignore_errors=True)
    model.to("cpu").eval()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return {"train_seconds": round(seconds, 1), "steps": stats.steps, "tokens_per_epoch": stats.tokens_per_epoch,
            "final_loss": round(stats.final_loss, 4), "losses": [round(v, 4) for v in stats.losses],
            "parameters": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(),
            "device": device, "versions": environment_versions()}
