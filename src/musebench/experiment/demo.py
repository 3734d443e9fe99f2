"""The built-in experiments behind ``musebench demo``: YAML files shipped in ``experiment/configs``.

``news-mini`` runs every MUSE baseline, SimNPO, RMU and the later methods (IdkNLL / IdkDPO, NPO-SAM,
UNDIAL, WGA, SatImp, ULD) with C5, C6 and C7; ``--quick`` picks the ``*-quick`` variant,
a first look (a few minutes from nothing, most of it building the tiny models; under a minute once they are
cached: tiny corpus, five representative methods, C5 / C6 / C7 on one of them); ``--quick --all-methods`` the
``*-quick-all`` one (every method on the tiny corpus); ``--all`` adds ``books-mini``.
"""

from __future__ import annotations

from importlib import resources

from musebench.errors import ConfigError
from musebench.experiment.config import ExperimentConfig, parse_experiment

DEMO_CORPORA = ("news-mini", "books-mini")
REAL_SMALL = "news-mini-real-small"


def builtin_names() -> list[str]:
    files = resources.files("musebench.experiment").joinpath("configs")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def builtin_config(name: str) -> ExperimentConfig:
    """The built-in experiment ``name`` (e.g. ``news-mini-quick``), validated."""
    import yaml

    from musebench.experiment.adapters import validate_method

    path = resources.files("musebench.experiment").joinpath("configs", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(f"no built-in experiment '{name}'; have {', '.join(builtin_names())}")
    return parse_experiment(
        yaml.safe_load(path.read_text(encoding="utf-8")),
        source_file=f"built-in {name}.yaml",
        method_validator=validate_method,
    )


def demo_names(quick: bool, all_corpora: bool, all_methods: bool = False) -> list[str]:
    """The built-in experiments ``musebench demo`` runs; the full ones already hold every method."""
    corpora = DEMO_CORPORA if all_corpora else DEMO_CORPORA[:1]
    if not quick:
        return list(corpora)
    return [f"{c}-quick-all" if all_methods else f"{c}-quick" for c in corpora]


def real_small_config(base: str) -> ExperimentConfig:
    """The built-in real-small experiment with its models fine-tuned from ``base`` (a directory or hub name)."""
    from pathlib import Path

    from musebench.models.loading import check_model_dir

    if Path(base).exists():  # a directory is checked before anything is built; a hub name is loaded later
        check_model_dir(Path(base))
    cfg = builtin_config(REAL_SMALL)
    cfg.models.base = base
    return cfg
