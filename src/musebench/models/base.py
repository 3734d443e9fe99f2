"""The mini world's base model: a tiny Llama pretrained on background text no split uses.

MUSE fine-tunes its target and retrain from one pretrained model that already reads and answers questions, so
KnowMem measures what the fine-tune added. The mini base plays that part: it reads the background people's
articles and Question/Answer drills about most of them, long enough to pass the "extraction" transition (it
answers held-out questions about the probe people, read only in articles: ``probe_corpus`` + the base gate in
``models.gates``). Built once into ``OUT/base``, keyed by the background text, tokenizer, the recipe's
architecture and pretraining fields and the seed; the fine-tune's own fields (``epochs``, ``lr``) are not in
its key, so changing them reuses the base.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from musebench.errors import DataError
from musebench.io import atomic_directory, atomic_write_json, kept_entries, output_dir, stable_hash
from musebench.models.recipe import BuildRecipe

BASE_ROLE = "base"
#: Recipe fields that only the fine-tune reads (not part of the base's key).
FINETUNE_FIELDS = ("epochs", "lr")


def base_recipe_key(recipe: BuildRecipe) -> dict:
    return {k: v for k, v in recipe.to_dict().items() if k not in FINETUNE_FIELDS}


def pretraining_documents(background) -> list[str]:
    """Background and probe articles plus the background drills (never a probe person's question)."""
    return list(background.articles) + list(background.drills)


def base_key(data_dir: str | Path, recipe: BuildRecipe, seed: int = 0) -> tuple[str, list[str], object, str]:
    """The build key of the corpus's mini base, with its pretraining documents and tokenizer (and its id)."""
    from musebench.data import load_corpus
    from musebench.data.synthetic import read_background
    from musebench.models.build import load_build_tokenizer

    data_dir = Path(data_dir)
    background = read_background(data_dir)
    if background is None:
        raise DataError(
            "no background text (background/): only a generated mini corpus has a mini base; "
            "give a pretrained base instead",
            file=data_dir,
        )
    tokenizer, tokenizer_id = load_build_tokenizer(data_dir, load_corpus(data_dir))
    docs = pretraining_documents(background)
    key = stable_hash(
        {
            "role": BASE_ROLE,
            "text": stable_hash(docs),
            "tokenizer": tokenizer_id,
            "recipe": base_recipe_key(recipe),
            "seed": seed,
        }
    )
    return key, docs, tokenizer, tokenizer_id


def build_base(
    data_dir: str | Path,
    out_dir: str | Path,
    recipe: BuildRecipe,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Pretrain (or reuse) the mini base of the corpus in ``data_dir`` into ``out_dir/base``.

    A base the package ships with the same key (``models.shipped``) is copied instead of pretrained, unless
    ``force``. Two builds that need the same base (target and retrain side by side) wait for each other: the
    second finds the first's model and returns it.
    """
    from filelock import FileLock

    from musebench.data import load_corpus
    from musebench.data.synthetic import read_background
    from musebench.models.build import BUILD_RECORD, KIND, Start, cached, resume_dir, train_and_save
    from musebench.models.shipped import copy_shipped_base, find_shipped_base

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    key, docs, tokenizer, tokenizer_id = base_key(data_dir, recipe, seed)
    out = out_dir / BASE_ROLE
    out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir / f".{BASE_ROLE}.build.lock")):
        if not force and cached(out, key):
            return out
        shipped = None if force else find_shipped_base(key)
        with output_dir(out, kind=KIND, force=force):
            with atomic_directory(out, keep=kept_entries(out)) as tmp:
                if shipped is not None:
                    copy_shipped_base(shipped, tmp)
                    if progress:
                        print(
                            f"build/base: the pretrained base shipped with musebench ({shipped.name}); "
                            "--force pretrains it here",
                            file=sys.stderr,
                            flush=True,
                        )
                else:
                    start = Start("scratch", None, None, tokenizer, tokenizer_id)
                    pretrain = replace(recipe, epochs=recipe.base_epochs, lr=recipe.base_lr)
                    record = train_and_save(
                        start,
                        docs,
                        pretrain,
                        seed,
                        device,
                        tmp,
                        progress,
                        work=resume_dir(out_dir, BASE_ROLE, key),
                        desc="build/base",
                    )
                    record.update(
                        role=BASE_ROLE,
                        key=key,
                        corpus=load_corpus(data_dir).name,
                        documents=len(docs),
                        seed=seed,
                        recipe=recipe.to_dict(),
                        probe_questions=len(read_background(data_dir).probe_qa),
                    )
                    atomic_write_json(tmp / BUILD_RECORD, record)
        shutil.rmtree(resume_dir(out_dir, BASE_ROLE, key), ignore_errors=True)
    return out


def probe_corpus(data_dir: str | Path):
    """A corpus whose KnowMem-forget questions are the base's held-out probe questions (few-shot examples from
    the background drills): ``evaluate(..., metrics=["knowmem_f"])`` on it scores the base gate."""
    from musebench.data import Corpus
    from musebench.data.synthetic import read_background

    background = read_background(data_dir)
    if background is None:
        raise DataError("no background text (background/)", file=data_dir)
    return Corpus(
        name="background-probe",
        forget=[],
        retain1=[],
        retain2=[],
        holdout=[],
        verbmem_forget=[],
        knowmem_forget_qa=background.probe_qa,
        knowmem_retain_qa=[],
        knowmem_forget_qa_icl=background.probe_icl,
        knowmem_retain_qa_icl=[],
        privleak_forget=[],
        privleak_retain=[],
        privleak_holdout=[],
        source=f"{data_dir} background probe",
    )


def read_base_record(out_dir: str | Path) -> dict | None:
    path = Path(out_dir) / BASE_ROLE / "build.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
