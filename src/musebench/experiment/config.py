"""The typed experiment file behind ``musebench run EXPERIMENT.yaml``.

One YAML file says everything a MUSE experiment needs: the corpus (generated mini corpus, a local release
directory or a hub dataset), the target and retrain models (given, or built), the unlearning methods with
their hyperparameters, evaluation settings, the checkpoint-selection rule, and which methods also run C5
(scalability) and C6 (sustainability). Every section is a dataclass and the file is walked along their types
(``musebench.schema``): every problem in the file is reported at once, named by its path in the file.
"""

from __future__ import annotations

import copy
import re
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from musebench.errors import ConfigError
from musebench.evaluate.settings import EvalSettings
from musebench.models.dtypes import DTYPE_NAMES
from musebench.models.recipe import PRETRAINED_RECIPE, BuildRecipe, recipe_for
from musebench.robustness.quantize import Scheme
from musebench.robustness.relearn import RelearnAttack, RelearnBudget, RelearnOn
from musebench.schema import Problems, from_mapping, given_fields, read_renamed

GENERATED_KINDS = ("news-mini", "books-mini")
GENERATED_SIZES = ("tiny", "small", "default")
BUILD = "build"
FOLLOW_UP_RULES = ("main", "own_fold")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CHECKPOINT_MODES = Literal["all", "selection"]


def _nonempty(value: Any, name: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(what, field=name, value=value)


@dataclass
class GenerateSpec:
    """A generated mini corpus (``musebench data generate``)."""

    kind: Literal["news-mini", "books-mini"]
    size: Literal["tiny", "small", "default"] = "tiny"
    seed: int = 0


@dataclass
class CorpusSpec:
    """Exactly one of ``generate`` (a mini corpus), ``path`` (a release directory) or ``hub`` (dataset name)."""

    generate: GenerateSpec | None = None
    path: str | None = None
    hub: str | None = None

    def __post_init__(self):
        given = [k for k in ("generate", "path", "hub") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ConfigError("give exactly one of generate, path, hub", value=given or None)
        if self.hub is not None:
            _nonempty(self.hub, "hub", "must be a non-empty string")
        if self.path is not None:
            _nonempty(self.path, "path", "must be a non-empty string")
            if not Path(self.path).expanduser().is_dir():
                raise ConfigError("directory does not exist", field="path", value=self.path)
            self.path = str(Path(self.path).expanduser())

    @property
    def kind(self) -> str:
        return "generate" if self.generate else "path" if self.path else "hub"

    @property
    def mini_size(self) -> str | None:
        """The size of a mini corpus (it picks ``MINI_EVAL_SETTINGS`` and the build recipe), else None: a
        generated one's, or that of one generated earlier and named by path (its ``synthetic.json``)."""
        if self.generate:
            return self.generate.size
        if self.path:
            from musebench.data.synthetic import read_synthetic_meta

            return (read_synthetic_meta(self.path) or {}).get("size")
        return None


@dataclass
class ModelsSpec:
    """``target`` / ``retrain``: a model directory or hub name, or ``"build"`` to train it with ``recipe``.

    ``base``: the pretrained causal LM (directory or hub name) both built models are fine-tuned from, as in
    MUSE; unset, a generated mini corpus uses its own mini base (pretrained on its background text).
    ``recipe``: the resolved build recipe, the corpus's (or a pretrained base's) under the file's fields."""

    target: str = BUILD
    retrain: str = BUILD
    recipe: BuildRecipe = field(default_factory=BuildRecipe)
    base: str | None = None

    def __post_init__(self):
        for role in ("target", "retrain"):
            _nonempty(getattr(self, role), role, "expected 'build', a model directory or a hub name")
        if self.base is not None:
            _nonempty(self.base, "base", "expected a pretrained model directory or hub name")

    def source(self, role: str) -> str:
        return getattr(self, role)


@dataclass
class EvalSpec:
    """``settings``: the resolved ``EvalSettings`` (paper defaults, a mini corpus's budgets, the file's)."""

    settings: EvalSettings = field(default_factory=EvalSettings)
    retrain_auc: float | None = None  # a fixed retrain AUC (release: News 0.4772, Books 0.5393)
    # criteria of a full evaluation (None: the four MUSE criteria the corpus allows; "all" or a list naming
    # "privacy" adds the membership-attack suite: a lower-cased forward per text, Min-K%++, zlib)
    metrics: list[str] | None = None
    # "all": every criterion for every checkpoint; "selection": only what selection needs for each
    # checkpoint, then every criterion for the selected one (much faster for many checkpoints).
    checkpoints: CHECKPOINT_MODES = "all"

    def __post_init__(self):
        if self.retrain_auc is not None and not 0 < self.retrain_auc < 1:
            raise ConfigError("must be a number strictly between 0 and 1", field="retrain_auc", value=self.retrain_auc)
        if self.metrics is not None and not self.metrics:
            raise ConfigError("expected a non-empty list of criteria", field="metrics", value=self.metrics)
        if self.metrics is not None and "knowmem_f" not in self.metrics:
            raise ConfigError(
                "must include knowmem_f (checkpoint selection needs it)", field="metrics", value=self.metrics
            )


@dataclass
class SelectionSpec:
    """The paper's rule, with an optional utility floor: ``knowmem_r >= utility_floor x target's``.

    ``follow_ups`` says how C5 / C6 requests pick their checkpoint: ``main`` (the paper) takes the epoch / alpha
    the rule chose on the method's main request; ``own_fold`` applies the rule to each request with KnowMem on
    that fold's own questions (``knowmem/{scal,sust}/forget_k_qa``) against the retrain model's on the same
    questions. Never the main forget questions for a request that does not target them."""

    utility_floor: float | None = None
    follow_ups: Literal["main", "own_fold"] = "main"

    def __post_init__(self):
        if self.utility_floor is not None and not 0 <= self.utility_floor <= 1:
            raise ConfigError(
                "must be a fraction of the target's KnowMem-r in [0, 1]",
                field="utility_floor",
                value=self.utility_floor,
            )


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
    eval_checkpoints: CHECKPOINT_MODES = "selection"  # see EvalSpec.checkpoints

    def __post_init__(self):
        if self.folds is not None and (not self.folds or any(f < 1 for f in self.folds)):
            raise ConfigError("expected a non-empty list of fold numbers >= 1", field="folds", value=self.folds)
        if self.folds is not None and self.folds != sorted(set(self.folds)):
            raise ConfigError("fold numbers must be increasing without repeats", field="folds", value=self.folds)


@dataclass(frozen=True)
class RelearnSpec(RelearnAttack):
    """``robustness.relearn``: the attack's budget and slice (``RelearnAttack``) on each of ``train_on``;
    the seed is the experiment's (``seed`` here is refused)."""

    train_on: list[RelearnOn] = field(default_factory=lambda: ["forget-slice", "retain"])

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "train_on", list(dict.fromkeys(self.train_on)))


@dataclass
class RobustnessSpec:
    """C7: attacks on every selected checkpoint (default: all methods), with target and retrain controls."""

    enabled: bool = False
    methods: list[str] | None = None
    # bitsandbytes schemes; 4-bit by default (int8's CPU path is ~40x slower than NF4's, see the demo configs)
    quantize: list[Scheme] = field(default_factory=lambda: ["nf4", "fp4"])
    relearn: RelearnSpec = field(default_factory=RelearnSpec)  # train_on [] switches it off
    paraphrase: bool = True  # KnowMem on knowmem/forget_qa_paraphrase.json beside KnowMem-f

    def __post_init__(self):
        self.quantize = list(dict.fromkeys(self.quantize))
        if self.enabled and not (self.quantize or self.relearn.train_on or self.paraphrase):
            raise ConfigError("enabled with no attack: give quantize, relearn or paraphrase")

    @property
    def relearn_on(self) -> list[str]:
        return self.relearn.train_on

    @property
    def fraction(self) -> float:
        return self.relearn.fraction

    def relearn_budget(self, seed: int) -> dict[str, Any]:
        """The budget as it enters stage keys (``max_len`` only when it is not the default)."""
        budget = self.relearn.budget(seed).to_dict()
        if budget["max_len"] == RelearnBudget.max_len:
            del budget["max_len"]
        return budget


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

    def recipe_overrides(self) -> dict[str, Any]:
        """The recipe fields the file changed (the build stages' key, as the file writes them)."""
        return given_fields(self.models.recipe, default_recipe(self.corpus, self.models.base))

    def to_dict(self) -> dict[str, Any]:
        """The experiment in the YAML file's own shape: ``parse_experiment(cfg.to_dict())`` gives it back."""
        d = asdict(self)
        d.pop("source_file")
        d["corpus"] = {k: v for k, v in d["corpus"].items() if v is not None}
        d["models"]["recipe"] = self.recipe_overrides()
        d["eval"]["settings"] = given_fields(self.eval.settings, default_eval_settings(self.corpus))
        d["methods"] = {m.name: {"method": m.method, **m.params} for m in self.methods}
        r = d.pop("robustness")
        relearn = {
            "train_on": r["relearn"]["train_on"],
            "fraction": r["relearn"]["fraction"],
            **{k: v for k, v in self.robustness.relearn_budget(0).items() if k != "seed"},
        }
        d["robustness"] = (
            {
                "enabled": r["enabled"],
                "methods": r["methods"],
                "quantize": r["quantize"],
                "relearn": relearn,
                "paraphrase": r["paraphrase"],
            }
            if r["enabled"]
            else False
        )
        return d


#: The keys of an experiment file: its sections, and the methods with their shared defaults.
TOP_LEVEL_KEYS = {f.name for f in fields(ExperimentConfig) if f.name != "source_file"} | {"method_defaults"}


def default_recipe(corpus: CorpusSpec, base: str | None) -> BuildRecipe:
    """The recipe a file's ``models.recipe`` fields change: a pretrained base's, else the mini size's."""
    return PRETRAINED_RECIPE if base else recipe_for(corpus.mini_size)


def default_eval_settings(corpus: CorpusSpec) -> EvalSettings:
    """The settings a file's ``eval.settings`` fields change: the paper's, with a mini corpus's budgets."""
    from musebench.data.synthetic import MINI_EVAL_SETTINGS

    size = corpus.mini_size
    return replace(EvalSettings(), **MINI_EVAL_SETTINGS[size]) if size in MINI_EVAL_SETTINGS else EvalSettings()


def load_experiment(path: str | Path, method_validator=None) -> ExperimentConfig:
    """Read and validate an experiment YAML file (size and alias budget: ``musebench.io.read_yaml``)."""
    from musebench.io import read_yaml

    path = Path(path)
    raw = read_yaml(path, "experiment file")
    return parse_experiment(raw, source_file=str(path), method_validator=method_validator)


def parse_experiment(raw: Any, source_file: str | None = None, method_validator=None) -> ExperimentConfig:
    """Build an ``ExperimentConfig`` from the parsed YAML mapping; every problem is reported in one error.

    The file is walked along the dataclasses' types (``musebench.schema.from_mapping``): a misspelt or
    wrongly typed key anywhere is named by its path. ``method_validator(method, fields) -> list[str]`` checks
    one method's hyperparameters against the unlearning registry (problems are returned, not raised).
    """
    problems = Problems(source_file)
    if not isinstance(raw, dict):
        problems.add("file", "expected a mapping of experiment settings", type(raw).__name__)
        problems.raise_if_any()
    raw = _shorthands(copy.deepcopy(raw), problems)
    methods_raw, defaults = raw.pop("methods", None), raw.pop("method_defaults", {})
    hints = typing.get_type_hints(ExperimentConfig)
    sections = [f.name for f in fields(ExperimentConfig) if f.name not in ("methods", "source_file")]
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problems.add(
                str(key), f"unknown key; expected one of {', '.join([*sections, 'methods', 'method_defaults'])}"
            )
    corpus = from_mapping(CorpusSpec, raw.get("corpus"), "corpus", problems)
    stand_in = corpus or CorpusSpec(generate=GenerateSpec(kind="news-mini"))  # the rest is still checked
    models_raw = raw.get("models") if isinstance(raw.get("models"), dict) else {}
    base = models_raw.get("base") if isinstance(models_raw.get("base"), str) else None
    bases = {"models.recipe": default_recipe(stand_in, base), "eval.settings": default_eval_settings(stand_in)}
    parts: dict[str, Any] = {"corpus": corpus}
    # each section on its own, so the rules between sections still see the good ones; models and eval resolve
    # their recipe / settings even when absent
    for key in [k for k in sections if k != "corpus"]:
        if key in raw or key in ("models", "eval"):
            parts[key] = from_mapping(hints[key], raw.get(key, {}), key, problems, bases=bases)
    parts.setdefault("name", Path(source_file).stem if source_file else "experiment")
    if isinstance(parts["name"], str) and not NAME_PATTERN.match(parts["name"]):
        problems.add("name", "must be letters, digits, '.', '_' or '-'", parts["name"])
    if isinstance(parts.get("dtype"), str) and parts["dtype"] not in DTYPE_NAMES:
        problems.add("dtype", f"expected {', '.join(DTYPE_NAMES)}", parts["dtype"])
    seed = parts.get("seed") if isinstance(parts.get("seed"), int) else 0
    methods = _parse_methods(
        methods_raw,
        defaults,
        seed,
        parts.get("device") or "auto",
        parts.get("dtype") or "auto",
        problems,
        method_validator,
    )
    _check_across({k: v for k, v in parts.items() if v is not None}, raw, methods, problems)
    problems.raise_if_any()
    return ExperimentConfig(
        **{k: v for k, v in parts.items() if v is not None}, methods=methods, source_file=source_file
    )


def _shorthands(raw: dict, problems: Problems) -> dict:
    """The file's short forms, written out: ``corpus: news-mini``, ``scalability: true`` / ``[ga, npo]``,
    ``robustness: true``, ``relearn: false``, ``generate: news-mini``."""
    corpus = raw.get("corpus")
    if isinstance(corpus, str):  # "news-mini" generates, anything else is a path or hub name
        if corpus in GENERATED_KINDS:
            raw["corpus"] = {"generate": {"kind": corpus}}
        elif Path(corpus).exists() or corpus.startswith((".", "/", "~")) or corpus.count("/") != 1:
            raw["corpus"] = {"path": corpus}
        else:
            raw["corpus"] = {"hub": corpus}
    elif isinstance(corpus, dict) and isinstance(corpus.get("generate"), str):
        corpus["generate"] = {"kind": corpus["generate"]}
    for key in ("models", "eval", "selection"):  # an empty section (``eval:``) is the defaults
        if key in raw and raw[key] is None:
            raw[key] = {}
    for key in ("scalability", "sustainability", "robustness"):
        value = raw.get(key)
        if value is None or value is False:
            raw[key] = {"enabled": False}
        elif value is True:
            raw[key] = {"enabled": True}
        elif isinstance(value, list) and key != "robustness":
            raw[key] = {"enabled": True, "methods": value}
        elif isinstance(value, dict):
            value.setdefault("enabled", True)
    robust = raw.get("robustness")
    if isinstance(robust, dict):
        if robust.get("quantize", ()) in (None, False):
            robust["quantize"] = []
        relearn = robust.get("relearn", {})
        if relearn is None or relearn is False:
            robust["relearn"] = {"train_on": []}
        elif relearn is True:
            robust["relearn"] = {}
        elif isinstance(relearn, dict):
            if True in relearn:
                problems.add("robustness.relearn.on", "unknown key (YAML reads a bare `on` as true: write train_on)")
                del relearn[True]
            if "seed" in relearn:
                problems.add(
                    "robustness.relearn.seed", "unknown key (the relearning attack takes the experiment's seed)"
                )
                del relearn["seed"]
            if isinstance(relearn.get("train_on"), str):
                relearn["train_on"] = [relearn["train_on"]]
            robust["relearn"] = read_renamed(RelearnSpec, relearn, "robustness.relearn")
    return raw


def _check_across(parts: dict[str, Any], raw: dict, methods: list[MethodSpec], problems: Problems) -> None:
    """Rules between sections: methods named by C5 / C6 / C7 exist, WHP / ULD do not chain, the floor's
    criterion is measured."""
    known = [m.name for m in methods]
    for key in ("scalability", "sustainability", "robustness"):
        section = raw.get(key) if isinstance(raw.get(key), dict) else {}
        named = parts.get(key).methods if parts.get(key) else section.get("methods")
        for m in named if isinstance(named, list) else []:  # a section with other problems still has its names
            if m not in known:
                problems.add(f"{key}.methods", f"'{m}' is not one of the experiment's methods {known}")
    sust = parts.get("sustainability")
    if sust is not None and sust.enabled:
        chained = sust.methods if sust.methods is not None else known
        for m in methods:
            if m.name in chained and not _can_chain(m.method):
                problems.add(
                    "sustainability.methods",
                    f"'{m.name}' is {m.method.upper()}, whose checkpoints combine "
                    "two models' logits and cannot start the next request; leave it out of C6",
                )
    selection, evaluation = parts.get("selection"), parts.get("eval")
    if (
        selection is not None
        and evaluation is not None
        and selection.utility_floor is not None
        and evaluation.metrics is not None
        and "knowmem_r" not in evaluation.metrics
    ):
        problems.add("eval.metrics", "must include knowmem_r when selection.utility_floor is set", evaluation.metrics)


def _can_chain(method: str) -> bool:
    from musebench.unlearn import METHODS

    return method not in METHODS or METHODS[method].can_chain


def _mapping(value: Any, where: str, problems: Problems) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, "expected a mapping", value)
        return {}
    return value


def _parse_methods(
    value: Any, defaults: Any, seed: int, device: str, dtype: str, problems: Problems, method_validator
) -> list[MethodSpec]:
    defaults = _mapping(defaults, "method_defaults", problems)
    if value is None:
        return []
    if isinstance(value, list):  # [ga, npo] or [{ga: {...}}]: normalise to a mapping
        as_map: dict[str, Any] = {}
        for item in value:
            if isinstance(item, (str, dict)) and (item if isinstance(item, str) else next(iter(item), None)) in as_map:
                problems.add(
                    "methods",
                    "a method name is listed twice (each run needs its own name)",
                    item if isinstance(item, str) else next(iter(item)),
                )
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
                problems.add(
                    f"methods.{name}.{key}" if sep and key.isidentifier() else f"methods.{name}",
                    rest if sep and key.isidentifier() else message,
                )
        methods.append(spec)
    return methods
