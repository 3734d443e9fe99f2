"""Build the target and retrain models of a corpus as MUSE does: fine-tunes of one base model, cached by content.

MUSE's target and retrain are both fine-tunes of one pretrained Llama-2-7B, with the same recipe and seed; the
target read forget ∪ retain, the retrain retain only. Here:

- the base is either a real pretrained causal LM (``base=`` a directory or hub name: ``musebench build
  --base``) or, for a mini corpus, a tiny Llama pretrained on the corpus's background text, which no split
  uses (``models.base``; built once into ``OUT/base`` and reused);
- the target fine-tunes on the forget side (the forget split plus every scalability / sustainability fold
  document, as in the News release) and retain1 ∪ retain2;
- the retrain fine-tunes on retain1 ∪ retain2 plus as many background filler documents as the forget side has
  (when the corpus has them), for exactly as many optimizer steps as the target on the same schedule, so only
  the identity of the forgotten people differs.

A corpus with neither a background nor ``base=`` keeps the former behaviour: both models are trained from
scratch (target on forget side ∪ retain, retrain on retain). The model directory is named by role;
``build.json`` inside records the cache key (corpus fingerprint, tokenizer, recipe, role, seed, base, filler), so
a second build with the same inputs returns at once. A build killed part-way resumes from its last checkpoint
(``OUT/.ROLE.resume``, keyed like the model).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from musebench.errors import ConfigError, DataError
from musebench.io import (
    atomic_directory,
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    file_hash,
    kept_entries,
    output_dir,
    stable_hash,
)
from musebench.models.recipe import PRETRAINED_RECIPE, BuildRecipe, recipe_for
from musebench.versions import environment_versions

log = logging.getLogger(__name__)

ROLES = ("target", "retrain")
BUILD_RECORD = "build.json"
KIND = "model"  # the kind its output directory is marked with (musebench.io.KINDS)
TOKENIZER_DIR = "tokenizer"


def training_documents(corpus, role: str, filler: list[str] | None = None) -> list[str]:
    """The documents a ``role`` model trains on (target: forget ∪ fold documents ∪ retain1 ∪ retain2;
    retrain: retain, plus the first filler documents, one per forget-side document, when ``filler`` is given)."""
    if role not in ROLES:
        raise ConfigError(f"expected one of {', '.join(ROLES)}", field="role", value=role)
    retain = corpus.retain1 + corpus.retain2
    forget_side = forget_side_documents(corpus)
    if role == "target":
        return forget_side + retain
    if filler:
        if len(filler) < len(forget_side):
            raise DataError(
                f"{len(filler)} filler documents for {len(forget_side)} forget-side documents",
                file=corpus.source or corpus.name,
                field="background/filler",
            )
        return list(retain) + list(filler[: len(forget_side)])
    return list(retain)


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
                    raise DataError(
                        f"{shared} document(s) are also in the {split} split, so the retrain model or "
                        "the PrivLeak reference would see them",
                        file=corpus.source or corpus.name,
                        field=f"{family}/forget_{k}",
                    )


def load_build_tokenizer(data_dir: Path, corpus):
    """The corpus's own tokenizer (``DIR/tokenizer``) or, for a corpus without one, one trained on its text."""
    from musebench.models.loading import load_tokenizer
    from musebench.models.tokenizer import train_tokenizer

    if (data_dir / TOKENIZER_DIR).is_dir():
        return load_tokenizer(data_dir / TOKENIZER_DIR), file_hash(data_dir / TOKENIZER_DIR / "tokenizer.json")
    texts = corpus.forget + corpus.retain1 + corpus.retain2 + corpus.holdout
    tok = train_tokenizer(texts, vocab_size=2048, trailing_space=True)
    return tok, stable_hash(texts)


def build_key(
    fingerprint: str, tokenizer_id: str, recipe: BuildRecipe, role: str, seed: int, start: dict | None = None
) -> str:
    payload = {"corpus": fingerprint, "tokenizer": tokenizer_id, "recipe": recipe.to_dict(), "role": role, "seed": seed}
    if start is not None:  # a fine-tune: the base it starts from and the retrain's filler
        payload["start"] = start
    return stable_hash(payload)


def cached(out: Path, key: str) -> bool:
    record = out / BUILD_RECORD
    if not (record.is_file() and (out / "model.safetensors").is_file()):
        return False
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("key") == key
    except json.JSONDecodeError:
        return False


@dataclass
class Start:
    """What a fine-tune starts from: a model directory (or hub name) and its tokenizer, or nothing (scratch)."""

    kind: str  # "scratch", "mini-base" or "pretrained"
    path: str | None
    identity: dict | None  # enters the cache key
    tokenizer: object
    tokenizer_id: str


def pretrained_identity(base: str) -> dict:
    """A real base's identity for the cache key: its name, and for a directory its config and weights' sizes
    and modification times (hashing gigabytes of weights on every build would cost more than it saves)."""
    path = Path(base)
    if not path.is_dir():
        return {"name": base}
    files = sorted(
        (f.name, f.stat().st_size, int(f.stat().st_mtime))
        for f in path.iterdir()
        if f.is_file() and f.suffix in (".safetensors", ".json")
    )
    return {"name": path.name, "files": files}


def build_model(
    data_dir: str | Path,
    role: str,
    out_dir: str | Path,
    recipe: BuildRecipe | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    force: bool = False,
    base: str | None = None,
) -> Path:
    """Train (or reuse) the ``role`` model of the corpus in ``data_dir``; returns ``out_dir/role``.

    ``role`` may also be ``"base"`` (a mini corpus's base alone). ``base``: a pretrained causal LM (directory or
    hub name) to fine-tune instead of the mini base. ``recipe`` defaults to ``PRETRAINED_RECIPE`` with a real
    base, else to the one tuned for the mini corpus size recorded in ``data_dir`` (``default`` otherwise).
    """
    from musebench.data import load_corpus
    from musebench.data.synthetic import read_background, read_synthetic_meta
    from musebench.models.base import BASE_ROLE, build_base

    data_dir = Path(data_dir)
    if recipe is None:
        meta = read_synthetic_meta(data_dir)
        recipe = PRETRAINED_RECIPE if base else recipe_for(meta["size"] if meta else None)
    if role == BASE_ROLE:
        if base:
            raise ConfigError(
                "a pretrained base is not built; build target or retrain from it", field="role", value=role
            )
        return build_base(data_dir, out_dir, recipe, seed, device, progress, force)
    if role not in ROLES:
        raise ConfigError(f"expected one of {', '.join(ROLES + (BASE_ROLE,))}", field="role", value=role)
    out = Path(out_dir) / role
    check_output_dir(out, kind=KIND, force=force)  # before any work: never replace a user's model
    corpus = load_corpus(data_dir)
    background = read_background(data_dir)
    start = _start(data_dir, corpus, background, base, out_dir, recipe, seed, device, progress)
    filler = background.filler if background is not None and start.kind != "scratch" else None
    docs = training_documents(corpus, role, filler)
    identity = None
    if start.kind != "scratch":
        identity = {"base": start.identity, "filler": stable_hash(filler) if filler and role == "retrain" else None}
    key = build_key(corpus.fingerprint(), start.tokenizer_id, recipe, role, seed, identity)
    if not force and cached(out, key):
        log.info("cache hit: %s (%s)", out, key)
        return out
    n_blocks = None
    if start.kind != "scratch" and role == "retrain":  # the target's number of steps, on the same schedule
        from musebench.models.train import count_blocks, tokenize_documents

        target_ids = tokenize_documents(start.tokenizer, training_documents(corpus, "target"))
        n_blocks = count_blocks(target_ids, recipe.block_size, recipe.epochs)
    # --force keeps a user's other files (carried over); a model of another kind's directory is never replaced
    with output_dir(out, kind=KIND, force=force):
        with atomic_directory(out, keep=kept_entries(out)) as tmp:
            record = train_and_save(
                start,
                docs,
                recipe,
                seed,
                device,
                tmp,
                progress,
                work=resume_dir(Path(out_dir), role, key),
                n_blocks=n_blocks,
                desc=f"build/{role}",
            )
            record.update(
                role=role,
                key=key,
                corpus=corpus.name,
                corpus_fingerprint=corpus.fingerprint(),
                documents=len(docs),
                seed=seed,
                recipe=recipe.to_dict(),
                start={"kind": start.kind, "path": start.path, "identity": start.identity},
                filler_documents=len(docs) - len(corpus.retain1) - len(corpus.retain2)
                if filler and role == "retrain"
                else 0,
            )
            atomic_write_json(tmp / BUILD_RECORD, record)
    shutil.rmtree(resume_dir(Path(out_dir), role, key), ignore_errors=True)
    return out


def _start(data_dir, corpus, background, base, out_dir, recipe, seed, device, progress) -> Start:
    from musebench.models.base import build_base

    if base:
        from musebench.models.loading import load_tokenizer

        return Start(
            "pretrained",
            str(base),
            pretrained_identity(str(base)),
            load_tokenizer(base),
            f"pretrained:{stable_hash(pretrained_identity(str(base)))}",
        )
    tokenizer, tokenizer_id = load_build_tokenizer(data_dir, corpus)
    if background is None:
        return Start("scratch", None, None, tokenizer, tokenizer_id)
    path = build_base(data_dir, out_dir, recipe, seed, device, progress)
    record = json.loads((path / BUILD_RECORD).read_text(encoding="utf-8"))
    return Start("mini-base", str(path), {"mini_base": record["key"]}, tokenizer, tokenizer_id)


def resume_dir(out_dir: Path, role: str, key: str) -> Path:
    """Where a build of ``role`` checkpoints (kept when killed; removed once the model is saved). A directory
    left by a build with another key is wiped, so a resumed run always continues the same run."""
    work = out_dir / f".{role}.resume"
    stamp = work / "key"
    if work.is_dir() and (not stamp.is_file() or stamp.read_text(encoding="utf-8") != key):
        shutil.rmtree(work, ignore_errors=True)
    if not work.is_dir():
        work.mkdir(parents=True, exist_ok=True)
        atomic_write_text(stamp, key)
    return work


def train_and_save(
    start: Start,
    docs: list[str],
    recipe: BuildRecipe,
    seed: int,
    device: str,
    out: Path,
    progress: bool,
    work: Path,
    n_blocks: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    desc: str = "build",
) -> dict:
    """Fine-tune ``start`` (or train a fresh tiny Llama) on ``docs`` and save it (safetensors + tokenizer)."""
    import torch

    from musebench.models.train import train_causal_lm

    model = initial_model(start, recipe, seed).to(device)
    begun = time.perf_counter()
    stats = train_causal_lm(
        model,
        start.tokenizer,
        docs,
        recipe,
        seed,
        device,
        work,
        progress,
        desc,
        epochs=epochs,
        lr=lr,
        n_blocks=n_blocks,
        resume=True,
    )
    seconds = time.perf_counter() - begun
    model.to("cpu").eval()
    model.save_pretrained(out, safe_serialization=True)
    start.tokenizer.save_pretrained(out)
    return {
        "train_seconds": round(seconds, 1),
        "steps": stats.steps,
        "resumed_from": stats.resumed_from,
        "tokens_per_epoch": stats.tokens_per_epoch,
        "final_loss": round(stats.final_loss, 4),
        "losses": [round(v, 4) for v in stats.losses],
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
        "device": device,
        "versions": environment_versions(),
    }


def initial_model(start: Start, recipe: BuildRecipe, seed: int):
    """The weights a build starts from: the base's (fp32, trainable) or a fresh tiny Llama."""
    if start.path is None:
        from musebench.models.tiny import build_tiny_llama

        return build_tiny_llama(start.tokenizer, recipe.spec(), seed=seed)
    import torch

    from musebench.models.loading import load_model

    model = load_model(start.path, "cpu", torch.float32).model
    model.train()
    return model
