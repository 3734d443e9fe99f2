"""The typed experiment file behind ``musebench run EXPERIMENT.yaml``.

One YAML file says everything a MUSE experiment needs: the corpus (generated mini corpus, a local release
directory or a hub dataset), the target and retrain models (given, or built), the unlearning methods with
their hyperparameters, evaluation settings, the checkpoint-selection rule, and which methods also run C5
(scalability) and C6 (sustainability). Every problem in the file is reported at once, naming the field.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError, shown_value
from musebench.models.dtypes import DTYPE_NAMES

GENERATED_KINDS = ("news-mini", "books-mini")
GENERATED_SIZES = ("tiny", "small", "default")
BUILD = "build"
FOLLOW_UP_RULES = ("main", "own_fold")
TOP_LEVEL_KEYS = {"name", "seed", "device", "dtype", "cache_dir", "corpus", "models", "eval", "selection",
                  "method_defaults", "methods", "scalability", "sustainability", "robustness"}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class CorpusSpec:
    """Exactly one of ``generate`` (a mini corpus), ``path`` (a release directory) or ``hub`` (dataset name)."""

    generate: dict[str, Any] | None = None  # {"kind": "news-mini", "size": "tiny", "seed": 0}
    path: str | None = None
    hub: str | None = None

    @property
    def kind(self) -> str:
        return "generate" if self.generate else "path" if self.path else "hub"

    @property
    def mini_size(self) -> str | None:
        """The size of a generated mini corpus (it picks ``MINI_EVAL_SETTINGS``), else None."""
        return self.generate["size"] if self.generate else None


@dataclass
class ModelsSpec:
    """``target`` / ``retrain``: a model directory or hub name, or ``"build"`` to train it with ``recipe``.

    ``base``: the pretrained causal LM (directory or hub name) both built models are fine-tuned from, as in
    MUSE; unset, a generated mini corpus uses its own mini base (pretrained on its background text)."""

    target: str = BUILD
    retrain: str = BUILD
    recipe: dict[str, Any] = field(default_factory=dict)  # BuildRecipe field overrides
    base: str | None = None

    def source(self, role: str) -> str:
        return getattr(self, role)


@dataclass
class EvalSpec:
    settings: dict[str, Any] = field(default_factory=dict)  # EvalSettings field overrides
    retrain_auc: float | None = None  # a fixed retrain AUC (release: News 0.4772, Books 0.5393)
    # criteria of a full evaluation (None: the four MUSE criteria the corpus allows; "all" or a list naming
    # "privacy" adds the membership-attack suite: a lower-cased forward per text, Min-K%++, zlib)
    metrics: list[str] | None = None
    # "all": every criterion for every checkpoint; "selection": only what selection needs for each
    # checkpoint, then every criterion for the selected one (much faster for many checkpoints).
    checkpoints: str = "all"


@dataclass
class SelectionSpec:
    """The paper's rule, with an optional utility floor: ``knowmem_r >= utility_floor x target's``.

    ``follow_ups`` says how C5 / C6 requests pick their checkpoint: ``main`` (the paper) takes the epoch / alpha
    the rule chose on the method's main request; ``own_fold`` applies the rule to each request with KnowMem on
    that fold's own questions (``knowmem/{scal,sust}/forget_k_qa``) against the retrain model's on the same
    questions. Never the main forget questions for a request that does not target them."""

    utility_floor: float | None = None
    follow_ups: str = "main"


@dataclass
class MethodSpec:
    """One unlearning run: ``name`` is the label in results, ``method`` the registry key."""

    name: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)  # the fields the YAML sets (learning_rate, alphas, ...)

    def unlearn_fields(self, seed: int, device: str = "auto", dtype: str = "auto") -> dict[str, Any]:
        """The fields of this run's config (the experiment's seed, device and dtype unless the method sets its
        own), under the names of the method's config class."""
        return {"seed": seed, "use_cpu": device == "cpu", "dtype": dtype, **self.params, "method": self.method}

    def config(self, seed: int, device: str = "auto", dtype: str = "auto"):
        """The method's typed config (its class from the registry), validated; a problem names its YAML path
        (``methods.<name>.<key>``)."""
        from musebench.unlearn.config import config_from_mapping

        return config_from_mapping(self.unlearn_fields(seed, device, dtype), where=f"methods.{self.name}")


@dataclass
class FollowUpSpec:
    """C5 or C6: which methods (default: all) over which folds (default: every fold of the corpus)."""

    enabled: bool = False
    methods: list[str] | None = None
    folds: list[int] | None = None
    eval_checkpoints: str = "selection"  # see EvalSpec.checkpoints


@dataclass
class RobustnessSpec:
    """C7: attacks on every selected checkpoint (default: all methods), with target and retrain controls."""

    enabled: bool = False
    methods: list[str] | None = None
    # bitsandbytes schemes; 4-bit by default (int8's CPU path is ~40x slower than NF4's, see the demo configs)
    quantize: list[str] = field(default_factory=lambda: ["nf4", "fp4"])
    relearn_on: list[str] = field(default_factory=lambda: ["forget-slice", "retain"])
    fraction: float = 0.25  # of the forget people (documents without tags) relearned on
    steps: int = 10
    lr: float = 1e-3
    batch_size: int = 4
    paraphrase: bool = True  # KnowMem on knowmem/forget_qa_paraphrase.json beside KnowMem-f

    def relearn_budget(self, seed: int) -> dict[str, Any]:
        return {"steps": self.steps, "lr": self.lr, "batch_size": self.batch_size, "seed": seed}


@dataclass
class ExperimentConfig:
    name: str
    corpus: CorpusSpec
    models: ModelsSpec = field(default_factory=ModelsSpec)
    methods: list[MethodSpec] = field(default_factory=list)
    eval: EvalSpec = field(default_factory=EvalSpec)
    selection: SelectionSpec = field(default_factory=SelectionSpec)
    scalability: FollowUpSpec = field(default_factory=FollowUpSpec)
    sustainability: FollowUpSpec = field(default_factory=FollowUpSpec)
    robustness: RobustnessSpec = field(default_factory=RobustnessSpec)
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    cache_dir: str | None = None  # shared cache of generated corpora and built models
    source_file: str | None = None

    def unlearn_fields(self, spec: MethodSpec) -> dict[str, Any]:
        return spec.unlearn_fields(self.seed, self.device, self.dtype)

    def method(self, name: str) -> MethodSpec:
        return next(m for m in self.methods if m.name == name)

    def follow_up_methods(self, spec: FollowUpSpec) -> list[MethodSpec]:
        if not spec.enabled:
            return []
        names = spec.methods if spec.methods is not None else [m.name for m in self.methods]
        return [self.method(n) for n in names]

    def robustness_methods(self) -> list[MethodSpec]:
        spec = self.robustness
        return self.follow_up_methods(FollowUpSpec(enabled=spec.enabled, methods=spec.methods))

    def to_dict(self) -> dict[str, Any]:
        """The experiment in the YAML file's own shape: ``parse_experiment(cfg.to_dict())`` gives it back."""
        d = asdict(self)
        d.pop("source_file")
        d["corpus"] = {k: v for k, v in d["corpus"].items() if v is not None}
        d["methods"] = {m.name: {"method": m.method, **m.params} for m in self.methods}
        r = d.pop("robustness")
        d["robustness"] = {"enabled": r["enabled"], "methods": r["methods"], "quantize": r["quantize"],
                           "relearn": {"train_on": r["relearn_on"], "fraction": r["fraction"], "steps": r["steps"],
                                       "lr": r["lr"], "batch_size": r["batch_size"]},
                           "paraphrase": r["paraphrase"]} if r["enabled"] else False
        return d


class _Problems:
    """Collects every problem of a file so the user sees them all at once."""

    def __init__(self, file: str | None):
        self.file = file
        self.items: list[str] = []

    def add(self, where: str, message: str, value: Any = None) -> None:
        shown = "" if value is None else f" (got {shown_value(value)})"
        self.items.append(f"{where}: {message}{shown}")

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise ConfigError(self.items[0], file=self.file)
        if self.items:
            raise ConfigError(f"{len(self.items)} problems:", file=self.file, problems=self.items)


def load_experiment(path: str | Path, method_validator=None) -> ExperimentConfig:
    """Read and validate an experiment YAML file (size and alias budget: ``musebench.io.read_yaml``)."""
    from musebench.io import read_yaml

    path = Path(path)
    raw = read_yaml(path, "experiment file")
    return parse_experiment(raw, source_file=str(path), method_validator=method_validator)


def parse_experiment(raw: Any, source_file: str | None = None, method_validator=None) -> ExperimentConfig:
    """Build an ``ExperimentConfig`` from the parsed YAML mapping; every problem is reported in one error.

    ``method_validator(method, fields) -> list[str]`` checks one method's hyperparameters against the
    unlearning registry (the runner passes the real one; problems are returned, not raised).
    """
    problems = _Problems(source_file)
    if not isinstance(raw, dict):
        problems.add("file", "expected a mapping of experiment settings", type(raw).__name__)
        problems.raise_if_any()
    raw = copy.deepcopy(raw)
    for key in sorted(set(raw) - TOP_LEVEL_KEYS):
        problems.add(key, f"unknown key; expected one of {sorted(TOP_LEVEL_KEYS)}")

    name = raw.get("name", Path(source_file).stem if source_file else "experiment")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.add("name", "must be letters, digits, '.', '_' or '-'", name)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.add("seed", "must be an integer", seed)
        seed = 0
    device = raw.get("device", "auto")
    dtype = raw.get("dtype", "auto")
    if dtype not in DTYPE_NAMES:
        problems.add("dtype", f"expected {', '.join(DTYPE_NAMES)}", dtype)

    corpus = _parse_corpus(raw.get("corpus"), problems)
    models = _parse_models(raw.get("models", {}), problems)
    eval_spec = _parse_eval(raw.get("eval", {}), problems)
    selection = _parse_selection(raw.get("selection", {}), problems)
    methods = _parse_methods(raw.get("methods"), raw.get("method_defaults", {}), seed, str(device), dtype,
                             problems, method_validator)
    known = [m.name for m in methods]
    scal = _parse_follow_up("scalability", raw.get("scalability", False), known, problems)
    sust = _parse_follow_up("sustainability", raw.get("sustainability", False), known, problems)
    robust = _parse_robustness(raw.get("robustness", False), known, problems)
    if sust.enabled:
        chained = sust.methods if sust.methods is not None else known
        for m in methods:
            if m.name in chained and not _can_chain(m.method):
                problems.add("sustainability.methods", f"'{m.name}' is {m.method.upper()}, whose checkpoints combine two models' "
                             "logits and cannot start the next request; leave it out of C6")
    if (selection.utility_floor is not None and eval_spec.metrics is not None
            and "knowmem_r" not in eval_spec.metrics):
        problems.add("eval.metrics", "must include knowmem_r when selection.utility_floor is set",
                     eval_spec.metrics)
    cache_dir = raw.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        problems.add("cache_dir", "must be a directory path", cache_dir)
    problems.raise_if_any()
    return ExperimentConfig(name=name, corpus=corpus, models=models, methods=methods, eval=eval_spec,
                            selection=selection, scalability=scal, sustainability=sust, robustness=robust,
                            seed=seed, device=str(device), dtype=dtype, cache_dir=cache_dir, source_file=source_file)


def _can_chain(method: str) -> bool:
    from musebench.unlearn import METHODS

    return method not in METHODS or METHODS[method].can_chain


def _mapping(value: Any, where: str, problems: _Problems) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, "expected a mapping", value)
        return {}
    return value


def _parse_corpus(value: Any, problems: _Problems) -> CorpusSpec:
    if isinstance(value, str):  # shorthand: "news-mini" generates, anything else is a path or hub name
        if value in GENERATED_KINDS:
            value = {"generate": {"kind": value}}
        elif Path(value).exists() or value.startswith((".", "/", "~")) or value.count("/") != 1:
            value = {"path": value}
        else:
            value = {"hub": value}
    value = _mapping(value, "corpus", problems)
    given = [k for k in ("generate", "path", "hub") if value.get(k) is not None]
    for key in sorted(set(value) - {"generate", "path", "hub"}):
        problems.add(f"corpus.{key}", "unknown key; expected exactly one of generate, path, hub")
    if len(given) != 1:
        problems.add("corpus", "give exactly one of generate, path, hub", given or None)
        return CorpusSpec(generate={"kind": "news-mini", "size": "tiny", "seed": 0})
    if value.get("generate") is not None:
        gen = value["generate"]
        if isinstance(gen, str):
            gen = {"kind": gen}
        gen = _mapping(gen, "corpus.generate", problems)
        gen = {"kind": gen.get("kind"), "size": gen.get("size", "tiny"), "seed": gen.get("seed", 0),
               **{k: v for k, v in gen.items() if k not in ("kind", "size", "seed")}}
        if gen["kind"] not in GENERATED_KINDS:
            problems.add("corpus.generate.kind", f"expected one of {list(GENERATED_KINDS)}", gen["kind"])
        if gen["size"] not in GENERATED_SIZES:
            problems.add("corpus.generate.size", f"expected one of {list(GENERATED_SIZES)}", gen["size"])
        for extra in sorted(set(gen) - {"kind", "size", "seed"}):
            problems.add(f"corpus.generate.{extra}", "unknown key; expected kind, size, seed")
        return CorpusSpec(generate=gen)
    key = given[0]
    if not isinstance(value[key], str) or not value[key]:
        problems.add(f"corpus.{key}", "must be a non-empty string", value[key])
    if key == "path" and isinstance(value[key], str) and not Path(value[key]).expanduser().is_dir():
        problems.add("corpus.path", "directory does not exist", value[key])
    return CorpusSpec(**{key: str(Path(value[key]).expanduser()) if key == "path" else value[key]})


def _parse_models(value: Any, problems: _Problems) -> ModelsSpec:
    value = _mapping(value, "models", problems)
    for key in sorted(set(value) - {"target", "retrain", "recipe", "base"}):
        problems.add(f"models.{key}", "unknown key; expected target, retrain, recipe, base")
    spec = ModelsSpec()
    for role in ("target", "retrain"):
        src = value.get(role, BUILD)
        if not isinstance(src, str) or not src:
            problems.add(f"models.{role}", "expected 'build', a model directory or a hub name", src)
            continue
        setattr(spec, role, src)
    spec.recipe = _mapping(value.get("recipe"), "models.recipe", problems)
    _check_fields(spec.recipe, "models.recipe", "musebench.models.recipe", "BuildRecipe", problems)
    base = value.get("base")
    if base is not None and (not isinstance(base, str) or not base):
        problems.add("models.base", "expected a pretrained model directory or hub name", base)
    elif base is not None:
        spec.base = base
    return spec


def _check_fields(overrides: dict, where: str, module: str, name: str, problems: _Problems) -> None:
    """Keys of a settings mapping that its dataclass (``module.name``) lacks, and values it refuses: the run
    would refuse them, so ``run --dry-run`` and ``plan`` refuse them too."""
    import dataclasses
    import importlib

    cls = getattr(importlib.import_module(module), name)
    known = sorted(f.name for f in dataclasses.fields(cls))
    unknown = [k for k in overrides if k not in known]
    for key in unknown:
        problems.add(f"{where}.{key}", f"unknown {name} field; expected one of {known}")
    if not unknown and overrides:
        try:  # a recipe on the default one (every size's has the same heads); a value the run would refuse
            cls(**overrides) if name == "EvalSettings" else cls().with_overrides(overrides)
        except ConfigError as err:
            for line in err.problems or [err.message]:
                field_name = (err.field or "").rsplit(".", 1)[-1]  # recipe.lr, EvalSettings.mink_k
                problems.add(f"{where}.{field_name}" if field_name and not err.problems else where, line,
                             None if err.problems else err.value)
        except (TypeError, ValueError) as err:
            problems.add(where, str(err))


def _parse_eval(value: Any, problems: _Problems) -> EvalSpec:
    value = _mapping(value, "eval", problems)
    for key in sorted(set(value) - {"settings", "retrain_auc", "checkpoints", "metrics"}):
        problems.add(f"eval.{key}", "unknown key; expected settings, retrain_auc, checkpoints, metrics")
    spec = EvalSpec(settings=_mapping(value.get("settings"), "eval.settings", problems))
    _check_fields(spec.settings, "eval.settings", "musebench.evaluate.settings", "EvalSettings", problems)
    auc = value.get("retrain_auc")
    if auc is not None and (not isinstance(auc, (int, float)) or not 0 < auc < 1):
        problems.add("eval.retrain_auc", "must be a number strictly between 0 and 1", auc)
    else:
        spec.retrain_auc = None if auc is None else float(auc)
    spec.checkpoints = _checkpoint_mode(value.get("checkpoints", "all"), "eval.checkpoints", problems)
    metrics = value.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
            problems.add("eval.metrics", "expected a non-empty list of criteria", metrics)
        elif "knowmem_f" not in metrics:
            problems.add("eval.metrics", "must include knowmem_f (checkpoint selection needs it)", metrics)
        else:
            spec.metrics = metrics
    return spec


def _checkpoint_mode(value: Any, where: str, problems: _Problems) -> str:
    if value not in ("all", "selection"):
        problems.add(where, "expected 'all' (every criterion per checkpoint) or 'selection'", value)
        return "all"
    return value


def _parse_selection(value: Any, problems: _Problems) -> SelectionSpec:
    value = _mapping(value, "selection", problems)
    for key in sorted(set(value) - {"utility_floor", "follow_ups"}):
        problems.add(f"selection.{key}", "unknown key; expected utility_floor or follow_ups")
    follow_ups = value.get("follow_ups", "main")
    if follow_ups not in FOLLOW_UP_RULES:
        problems.add("selection.follow_ups", f"expected one of {', '.join(FOLLOW_UP_RULES)}", follow_ups)
        follow_ups = "main"
    floor = value.get("utility_floor")
    if floor is not None and (not isinstance(floor, (int, float)) or isinstance(floor, bool)
                              or not 0 <= floor <= 1):
        problems.add("selection.utility_floor", "must be a fraction of the target's KnowMem-r in [0, 1]",
                     floor)
        floor = None
    return SelectionSpec(utility_floor=None if floor is None else float(floor), follow_ups=follow_ups)


def _parse_methods(value: Any, defaults: Any, seed: int, device: str, dtype: str, problems: _Problems,
                   method_validator) -> list[MethodSpec]:
    defaults = _mapping(defaults, "method_defaults", problems)
    if value is None:
        return []
    if isinstance(value, list):  # [ga, npo] or [{ga: {...}}]: normalise to a mapping
        as_map: dict[str, Any] = {}
        for item in value:
            if isinstance(item, (str, dict)) and (item if isinstance(item, str) else next(iter(item), None)) \
                    in as_map:
                problems.add("methods", "a method name is listed twice (each run needs its own name)",
                             item if isinstance(item, str) else next(iter(item)))
            elif isinstance(item, str):
                as_map[item] = {}
            elif isinstance(item, dict) and len(item) == 1:
                as_map.update(item)
            else:
                problems.add("methods", "list items must be a method name or {name: {params}}", item)
        value = as_map
    value = _mapping(value, "methods", problems)
    methods = []
    for name, params in value.items():
        params = _mapping(params, f"methods.{name}", problems)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            problems.add(f"methods.{name}", "method names must be letters, digits, '.', '_' or '-'")
            continue
        params = {**defaults, **params}
        method = params.pop("method", name)
        spec = MethodSpec(name=name, method=method, params=params)
        if method_validator is not None:
            for message in method_validator(method, spec.unlearn_fields(seed, device, dtype)):
                key, sep, rest = message.partition(": ")  # "<field>: <problem>" names the field's YAML path
                problems.add(f"methods.{name}.{key}" if sep and key.isidentifier() else f"methods.{name}",
                             rest if sep and key.isidentifier() else message)
        methods.append(spec)
    return methods


def _parse_follow_up(key: str, value: Any, known: list[str], problems: _Problems) -> FollowUpSpec:
    if value in (None, False):
        return FollowUpSpec(enabled=False)
    if value is True:
        return FollowUpSpec(enabled=True)
    if isinstance(value, list):
        value = {"methods": value}
    value = _mapping(value, key, problems)
    for extra in sorted(set(value) - {"methods", "folds", "enabled", "eval_checkpoints"}):
        problems.add(f"{key}.{extra}", "unknown key; expected methods, folds, enabled, eval_checkpoints")
    spec = FollowUpSpec(enabled=bool(value.get("enabled", True)))
    methods = value.get("methods")
    if methods is not None:
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            problems.add(f"{key}.methods", "expected a list of method names", methods)
        else:
            for m in methods:
                if m not in known:
                    problems.add(f"{key}.methods", f"'{m}' is not one of the experiment's methods {known}")
            spec.methods = [m for m in methods if m in known]
    folds = value.get("folds")
    if folds is not None:
        if (not isinstance(folds, list) or not folds
                or not all(isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in folds)):
            problems.add(f"{key}.folds", "expected a non-empty list of fold numbers >= 1", folds)
        elif folds != sorted(set(folds)):
            problems.add(f"{key}.folds", "fold numbers must be increasing without repeats", folds)
        else:
            spec.folds = folds
    spec.eval_checkpoints = _checkpoint_mode(value.get("eval_checkpoints", "selection"),
                                             f"{key}.eval_checkpoints", problems)
    return spec


ROBUSTNESS_KEYS = {"enabled", "methods", "quantize", "relearn", "paraphrase"}
RELEARN_KEYS = {"train_on", "fraction", "steps", "lr", "batch_size"}  # not "on": YAML reads it as true


def _parse_robustness(value: Any, known: list[str], problems: _Problems) -> RobustnessSpec:
    """``robustness: true`` (every attack, every method) or a mapping; ``quantize: []`` / ``relearn: false``
    switch an attack off."""
    if value in (None, False):
        return RobustnessSpec(enabled=False)
    if value is True:
        return RobustnessSpec(enabled=True)
    value = _mapping(value, "robustness", problems)
    for extra in sorted(set(value) - ROBUSTNESS_KEYS):
        problems.add(f"robustness.{extra}", f"unknown key; expected one of {sorted(ROBUSTNESS_KEYS)}")
    spec = RobustnessSpec(enabled=bool(value.get("enabled", True)))
    methods = value.get("methods")
    if methods is not None:
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            problems.add("robustness.methods", "expected a list of method names", methods)
        else:
            for m in methods:
                if m not in known:
                    problems.add("robustness.methods", f"'{m}' is not one of the experiment's methods {known}")
            spec.methods = [m for m in methods if m in known]
    schemes = value.get("quantize", spec.quantize)
    if schemes in (None, False):
        schemes = []
    if not isinstance(schemes, list) or any(s not in ("int8", "nf4", "fp4") for s in schemes):
        problems.add("robustness.quantize", "expected a list of schemes among int8, nf4, fp4", schemes)
    else:
        spec.quantize = list(dict.fromkeys(schemes))
    relearn = value.get("relearn", {})
    if relearn is False or relearn is None:
        spec.relearn_on = []
    else:
        relearn = _mapping({} if relearn is True else relearn, "robustness.relearn", problems)
        for extra in sorted(set(relearn) - RELEARN_KEYS, key=str):
            hint = " (YAML reads a bare `on` as true: write train_on)" if extra is True else ""
            problems.add(f"robustness.relearn.{extra}",
                         f"unknown key; expected one of {sorted(RELEARN_KEYS)}{hint}")
        on = relearn.get("train_on", spec.relearn_on)
        on = [on] if isinstance(on, str) else on
        if not isinstance(on, list) or any(o not in ("forget-slice", "retain") for o in on):
            problems.add("robustness.relearn.train_on", "expected forget-slice and/or retain", on)
        else:
            spec.relearn_on = list(dict.fromkeys(on))
        fraction = relearn.get("fraction", spec.fraction)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            problems.add("robustness.relearn.fraction", "must be a fraction strictly between 0 and 1", fraction)
        else:
            spec.fraction = float(fraction)
        for key, kind in (("steps", int), ("batch_size", int), ("lr", float)):
            v = relearn.get(key, getattr(spec, key))
            ok = not isinstance(v, bool) and isinstance(v, (int, float) if kind is float else int) and v > 0
            if not ok or (kind is float and v >= 1):
                problems.add(f"robustness.relearn.{key}", "must be a positive integer" if kind is int
                             else "must be a learning rate in (0, 1)", v)
            else:
                setattr(spec, key, kind(v))
    paraphrase = value.get("paraphrase", True)
    if not isinstance(paraphrase, bool):
        problems.add("robustness.paraphrase", "must be true or false", paraphrase)
    else:
        spec.paraphrase = paraphrase
    if spec.enabled and not (spec.quantize or spec.relearn_on or spec.paraphrase):
        problems.add("robustness", "enabled with no attack: give quantize, relearn or paraphrase")
    return spec
