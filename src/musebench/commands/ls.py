"""List what musebench knows by name: unlearning methods, metrics, and the built-in experiments, each with a
one-line summary. Read from the registries the other commands use, so the list cannot drift from them."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  musebench ls                 # methods, metrics and built-in experiments
  musebench ls methods         # one section
"""

SECTIONS = ("methods", "metrics", "experiments")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("section", nargs="?", choices=SECTIONS, help="show only this section (default: all)")


def methods() -> list[tuple[str, str]]:
    """Built-in methods, then those of installed plugins (``[package]``, with their own options); a broken
    plugin is listed with its error (and ``ls`` exits 2)."""
    from musebench.unlearn import METHODS

    rows = []
    broken = METHODS.problems()
    for name in METHODS:
        if name in broken:
            rows.append((name, f"BROKEN: {broken[name]}"))
            continue
        method = METHODS[name]
        source = METHODS.source(name)
        rows.append((name, method.summary if source == "musebench" else f"[{source}] {method.summary}"))
        own = _own_options(method) if source != "musebench" else []  # a built-in's: unlearn --method M --help
        if own:
            rows.append(("", "options: " + ", ".join(own)))
    return rows


def _own_options(method) -> list[str]:
    """``name=default`` of the fields a method's config class adds to ``UnlearnConfig`` (its flags)."""
    from musebench.unlearn.config import own_fields

    return [f"{f.name}={_default(f)}" for f in own_fields(method.config_class)]


def _default(f):
    import dataclasses

    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default if f.default is not dataclasses.MISSING else "required"


def metrics() -> list[tuple[str, str]]:
    from musebench.evaluate.registry import TASKS, load_plugin_tasks

    load_plugin_tasks()
    return [(name, t.description + ("" if t.default else " (opt-in)")) for name, t in TASKS.items()]


def _experiment_summary(raw: dict) -> str:
    """Corpus, methods, epochs and follow-up criteria of an experiment file, in one line."""
    corpus = raw.get("corpus") or {}
    gen = corpus.get("generate") or {}
    where = f"{gen.get('kind')} ({gen.get('size')})" if gen else corpus.get("hub") or corpus.get("path") or "?"
    methods = list(raw.get("methods") or {})
    defaults = raw.get("method_defaults") or {}
    epochs = defaults.get("num_train_epochs", defaults.get("epochs"))
    follow = [c for c, key in (("C5", "scalability"), ("C6", "sustainability")) if raw.get(key)]
    return (
        f"{where}: {len(methods)} methods ({', '.join(methods)})"
        + (f", {epochs} epochs" if epochs else "")
        + (f", {' + '.join(follow)}" if follow else "")
    )


def experiments() -> list[tuple[str, str]]:
    """Built-in experiments (``musebench demo``'s files) by name; run one with ``musebench run``."""
    from importlib import resources

    import yaml

    from musebench.experiment.demo import builtin_names

    folder = resources.files("musebench.experiment").joinpath("configs")
    return [
        (name, _experiment_summary(yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8"))))
        for name in builtin_names()
    ]


def run(args: argparse.Namespace) -> int:
    listers = {"methods": methods, "metrics": metrics, "experiments": experiments}
    chosen = [args.section] if args.section else list(SECTIONS)
    broken = False
    for i, section in enumerate(chosen):
        rows = listers[section]()
        broken = broken or any(summary.startswith("BROKEN: ") for _, summary in rows)
        width = max(len(name) for name, _ in rows)
        if i:
            print()
        print(f"{section}:")
        for name, summary in rows:
            print(f"  {name:<{width}}  {summary}".rstrip())
    return 2 if broken else 0
