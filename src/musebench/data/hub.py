"""Load a corpus published as a hub dataset (``muse-bench/MUSE-News``) through ``datasets.load_dataset``.

The release has one config per family (``raw``, ``verbmem``, ``knowmem``, ``privleak``, ``scal``, ``sust``)
and one split per file (``knowmem`` -> ``forget_qa``, ``retain_qa``, ...). Raw, privleak and fold rows have
a ``text`` column; verbmem rows ``prompt``/``gt``; knowmem rows ``question``/``answer``.

The loader is a function ``(name, config, split) -> rows`` so tests and offline users can read the same
structure from local parquet files or saved datasets (``local_dataset_loader``); nothing here touches the
network unless the default hub loader is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from musebench.data.corpus import Corpus
from musebench.data.files import MissingDataWarning, ProblemSink
from musebench.data.parts import RECORD_FIELDS, part_from_items, report_missing_criteria
from musebench.errors import DataError

#: Corpus attribute -> (config, split names to try: newest first, then older release names).
HUB_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "forget": ("raw", ("forget",)),
    "retain1": ("raw", ("retain1",)),
    "retain2": ("raw", ("retain2", "retain")),
    "holdout": ("raw", ("holdout",)),
    "verbmem_forget": ("verbmem", ("forget",)),
    "knowmem_forget_qa": ("knowmem", ("forget_qa",)),
    "knowmem_retain_qa": ("knowmem", ("retain_qa", "retain2_qa")),
    "knowmem_forget_qa_icl": ("knowmem", ("forget_qa_icl",)),
    "knowmem_retain_qa_icl": ("knowmem", ("retain_qa_icl", "retain2_qa_icl")),
    "privleak_forget": ("privleak", ("forget",)),
    "privleak_retain": ("privleak", ("retain", "retain2")),
    "privleak_holdout": ("privleak", ("holdout",)),
}
FOLD_CONFIGS = ("scal", "sust")
MAX_FOLDS = 64

DatasetLoader = Callable[[str, str, str], Iterable[Mapping[str, Any]]]


class MissingSplit(LookupError):
    """Raised by a dataset loader when a config (``config=True``) or one split does not exist."""

    def __init__(self, message: str, config: bool = False):
        super().__init__(message)
        self.config = config


def hub_dataset_loader(revision: str | None = None, cache_dir: str | None = None) -> DatasetLoader:
    """The real ``datasets.load_dataset(name, config, split=...)``, with 'no such config/split' told apart."""

    def load(name: str, config: str, split: str):
        import datasets

        try:
            return datasets.load_dataset(name, config, split=split, revision=revision, cache_dir=cache_dir)
        except ValueError as exc:
            text = str(exc)
            if "BuilderConfig" in text and "not found" in text:
                raise MissingSplit(text, config=True) from exc
            if "Unknown split" in text or "Bad split" in text:
                raise MissingSplit(text) from exc
            raise

    return load


def local_dataset_loader(root: str | Path, cache_dir: str | None = None) -> DatasetLoader:
    """Read the hub structure from disk: ``ROOT/CONFIG/SPLIT.parquet``, a saved ``DatasetDict`` in
    ``ROOT/CONFIG/`` or a saved ``Dataset`` in ``ROOT/CONFIG/SPLIT/``; the name argument is ignored."""
    root = Path(root)
    saved: dict[str, Any] = {}

    def load(name: str, config: str, split: str):
        import datasets

        folder = root / config
        if not folder.is_dir():
            raise MissingSplit(f"no folder {folder}", config=True)
        if (folder / "dataset_dict.json").is_file():
            if config not in saved:
                saved[config] = datasets.load_from_disk(str(folder))
            if split not in saved[config]:
                raise MissingSplit(f"saved dataset {folder} has no split '{split}'")
            return saved[config][split]
        if (folder / split / "state.json").is_file():
            return datasets.load_from_disk(str(folder / split))
        parquet = folder / f"{split}.parquet"
        if not parquet.is_file():
            raise MissingSplit(f"no file {parquet}")
        return datasets.load_dataset("parquet", data_files=str(parquet), split="train", cache_dir=cache_dir)

    return load


def _label(name: str, config: str, split: str) -> str:
    return f"{name} [config '{config}', split '{split}']"


def _rows(name: str, config: str, split: str, loader: DatasetLoader, fields: tuple[str, ...]) -> list | None:
    """Rows of one split as a list of dicts, None when the split is absent; other failures -> DataError."""
    label = _label(name, config, split)
    try:
        dataset = loader(name, config, split)
        columns = getattr(dataset, "column_names", None)
        if columns is not None:
            for f in fields:
                if f not in columns:
                    raise DataError(f"column missing (columns: {', '.join(columns)})", file=label, field=f)
        return dataset.to_list() if hasattr(dataset, "to_list") else list(dataset)
    except (MissingSplit, DataError):
        raise
    except Exception as exc:
        raise DataError(f"could not load: {type(exc).__name__}: {exc}", file=label) from exc


def load_hub_corpus(
    name: str,
    *,
    loader: DatasetLoader | None = None,
    config_map: dict[str, str] | None = None,
    corpus_name: str | None = None,
) -> Corpus:
    """Load every known config/split of hub dataset ``name``; absent configs leave their parts empty."""
    loader = loader or hub_dataset_loader()
    config_map = config_map or {}
    sink = ProblemSink(strict=True)
    corpus = Corpus(name=corpus_name or name.rstrip("/").rsplit("/", 1)[-1], source=name)
    absent_configs: set[str] = set()

    def fetch(family: str, splits: tuple[str, ...], fields: tuple[str, ...]) -> tuple[str, list | None]:
        config = config_map.get(family, family)
        for split in splits:
            if config in absent_configs:
                break
            try:
                return split, _rows(name, config, split, loader, fields)
            except MissingSplit as exc:
                if exc.config:
                    absent_configs.add(config)
        return splits[0], None

    for attr, (family, splits) in HUB_PARTS.items():
        fields = RECORD_FIELDS.get(attr, ("text",))
        split, rows = fetch(family, splits, fields)
        if rows is not None:
            setattr(corpus, attr, part_from_items(attr, rows, _label(name, config_map.get(family, family), split)))
    for family in FOLD_CONFIGS:
        folds = {}
        for k in range(1, MAX_FOLDS + 1):
            split, rows = fetch(family, (f"forget_{k}",), ("text",))
            if rows is None:
                break
            folds[k] = part_from_items("forget", rows, _label(name, config_map.get(family, family), split))
        corpus_folds = {k: v for k, v in folds.items() if v}
        setattr(corpus, family, corpus_folds)
    for attr in ("forget", "retain2"):
        family, splits = HUB_PARTS[attr]
        if not getattr(corpus, attr):
            raise DataError(
                "required split is missing or empty",
                file=_label(name, config_map.get(family, family), splits[0]),
            )
    for config in sorted(absent_configs):
        sink.warning(
            f"hub dataset '{name}' has no config '{config}'; its parts are left empty",
            category=MissingDataWarning,
        )
    report_missing_criteria(corpus, sink, name)
    return corpus
