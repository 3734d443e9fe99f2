"""One validation mechanism: the schema walker, the experiment file it reads, and the flags made from the
same dataclasses (their defaults and help text come from the dataclass, nowhere else)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from musebench.cli import build_parser, main
from musebench.errors import ConfigError
from musebench.robustness.registry import ATTACKS
from musebench.schema import Problems, from_mapping


@dataclass(frozen=True)
class Inner:
    k: int = 1
    ratio: float | None = None

    def __post_init__(self):
        if self.k > 9:
            raise ConfigError("must be <= 9", field="Inner.k", value=self.k)


@dataclass
class Outer:
    name: str
    mode: Literal["a", "b"] = "a"
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)
    folds: tuple[int, ...] = ()


def problems_of(data: dict, **kwargs) -> list[str]:
    problems = Problems("f.yaml")
    assert from_mapping(Outer, data, "", problems, **kwargs) is None
    return problems.items


def test_walker_names_every_problem_by_its_path():
    assert problems_of(
        {
            "name": "x",
            "inner": {"kk": 2},
            "items": [{}, {"k": "2"}],
            "folds": [1, True],
            "mode": "c",
            "extra": 0,
        }
    ) == [
        "extra: unknown key; expected one of name, mode, inner, items, folds",
        "mode: expected one of a, b (got 'c')",
        "inner.kk: unknown key; expected one of k, ratio",
        "items[1].k: expected an integer (got '2')",
        "folds[1]: expected an integer (got True)",
    ]
    assert problems_of({}) == ["name: missing"]
    assert problems_of({"name": "x", "inner": {"k": 10}}) == ["inner.k: must be <= 9 (got 10)"]  # __post_init__


def test_walker_builds_typed_values_over_a_base():
    out = from_mapping(Outer, {"name": "x", "items": [{"ratio": 1}], "folds": [2, 3]}, bases={"inner": Inner(k=5)})
    assert out == Outer(name="x", inner=Inner(k=5), items=[Inner(ratio=1.0)], folds=(2, 3))
    assert isinstance(out.items[0].ratio, float)
    assert from_mapping(Inner, {"ratio": None}, "x", base=Inner(k=7)) == Inner(k=7)
    with pytest.raises(ConfigError, match=r"^s\.yaml: 2 problems:\n  - x\.k: expected an integer"):
        problems = Problems("s.yaml")
        from_mapping(Inner, {"k": 1.5, "ratio": "no"}, "x", problems)
        problems.raise_if_any()


EXPERIMENT = """name: t
corpus: {{generate: {{kind: news-mini, size: tiny}}}}
{extra}
"""


@pytest.mark.parametrize(
    "extra, line",
    [
        ("evaluation: {}", "evaluation: unknown key"),
        ("eval: {checkpoint: all}", "eval.checkpoint: unknown key"),
        ("eval: {settings: {privleak_limt: 2048}}", "eval.settings.privleak_limt: unknown key"),
        ("corpus2: 1\nmodels: {recipe: {epoch: 3}}", None),  # two problems: the header and one line each
        ("robustness: {relearn: {stepz: 3}}", "robustness.relearn.stepz: unknown key"),
        ("eval: {settings: {mink_k: forty}}", "eval.settings.mink_k: expected a number (got 'forty')"),
        ("sustainability: {folds: [1, x]}", "sustainability.folds[1]: expected an integer (got 'x')"),
        ("models: {recipe: {lr: -1}}", "models.recipe.lr: must be a finite number > 0 (got -1.0)"),
        ("eval: {settings: {seed: -1}}", "eval.settings.seed: must be an integer in [0, 2**32) (got -1)"),
    ],
)
def test_dry_run_names_a_bad_key_at_any_depth(tmp_path, capsys, extra, line):
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT.format(extra=extra), encoding="utf-8")
    assert main(["run", str(path), "--dry-run", "--threads", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    if line is None:
        assert err == [
            f"musebench run: error: {path}: 2 problems:",
            (
                "  - corpus2: unknown key; expected one of name, corpus, models, eval, selection, scalability, "
                "sustainability, robustness, seed, device, dtype, cache_dir, methods, method_defaults"
            ),
            (
                "  - models.recipe.epoch: unknown key; expected one of hidden_size, num_layers, num_heads, "
                "intermediate_size, epochs, lr, warmup_ratio, scheduler, weight_decay, batch_size, "
                "block_size, max_grad_norm, bf16, base_epochs, base_lr"
            ),
        ]
    else:
        assert len(err) == 1 and err[0].startswith(f"musebench run: error: {path}: {line}"), err


def test_the_experiment_holds_resolved_settings_and_plan_reads_them():
    from musebench.data.synthetic import MINI_EVAL_SETTINGS
    from musebench.experiment.config import parse_experiment
    from musebench.experiment.plan import CorpusSize, Rates, eval_gpu_s
    from musebench.models.recipe import recipe_for

    cfg = parse_experiment(
        {"corpus": "news-mini", "eval": {"settings": {"mink_k": 20}}, "models": {"recipe": {"epochs": 3}}}
    )
    assert cfg.eval.settings.mink_k == 20.0
    assert cfg.eval.settings.verbmem_max_new_tokens == MINI_EVAL_SETTINGS["tiny"]["verbmem_max_new_tokens"]
    assert cfg.models.recipe == dataclasses.replace(recipe_for("tiny"), epochs=3)
    assert cfg.recipe_overrides() == {"epochs": 3}  # the build stages' key: what the file changed
    # PrivLeak texts are whole (no 2,048 cut): a 3,000-token text costs more than a 2,048-token one
    size = CorpusSize(forget_tokens=1e4, privleak_tokens=3000.0)
    whole = eval_gpu_s(size, 1e9, Rates(), cfg.eval.settings, full=True)
    cut = eval_gpu_s(size, 1e9, Rates(), dataclasses.replace(cfg.eval.settings, privleak_max_length=2048), full=True)
    assert whole > cut


def test_the_relearn_learning_rate_default_is_the_dataclass_one_everywhere():
    from musebench.commands.attack import relearn_flags
    from musebench.experiment.config import parse_experiment
    from musebench.robustness import RelearnBudget
    from musebench.robustness.relearn import RelearnRun

    args = build_parser("attack", all_commands=False).parse_args(
        ["attack", "relearn", "--model", "m", "--data", "d", "--out", "o"]
    )
    from_cli = dataclasses.replace(RelearnRun(), **relearn_flags().given(args))
    from_file = parse_experiment({"corpus": "news-mini", "robustness": True}).robustness.relearn
    assert from_cli.learning_rate == from_file.learning_rate == RelearnBudget().learning_rate == 1e-3
    given = build_parser("attack", all_commands=False).parse_args(
        [
            "attack",
            "relearn",
            "--model",
            "m",
            "--data",
            "d",
            "--out",
            "o",
            "--learning-rate",
            "2e-4",
            "--train-batch-size",
            "2",
        ]
    )
    assert relearn_flags().given(given) == {"learning_rate": 2e-4, "batch_size": 2}
    assert from_cli.relearn_on == "forget-slice" and from_cli.steps == int(ATTACKS["relearn"].default)


def test_every_attack_flag_with_a_default_comes_from_a_dataclass_or_the_registry(capsys):
    """``musebench attack``'s settings flags are the settings dataclasses' (one default, stated in --help)."""
    import typing

    from musebench.commands.attack import quantize_flags
    from musebench.robustness.quantize import SCHEMES, QuantizeAttack, Scheme

    parser = build_parser("attack", all_commands=False)
    base = ["--model", "m", "--data", "d", "--out", "o"]
    assert quantize_flags().given(parser.parse_args(["attack", "quantize", *base])) == {}  # the dataclass's default
    assert QuantizeAttack().scheme == ATTACKS["quantize"].default == "nf4"
    assert typing.get_args(Scheme) == tuple(SCHEMES)  # the flag's choices are the schemes bitsandbytes is given
    given = parser.parse_args(["attack", "quantize", *base, "--scheme", "int8"])
    assert quantize_flags().given(given) == {"scheme": "int8"}
    with pytest.raises(SystemExit):
        main(["attack", "quantize", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "bitsandbytes scheme: int8, nf4 or fp4 (default: nf4)" in shown
    with pytest.raises(SystemExit):
        main(["attack", "relearn", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "relearn on a forget-set slice (forget-slice) or on retain text (default: forget-slice)" in shown
    assert "constant learning rate (default: 0.001)" in shown and "--lr" not in shown.replace("--lr-", "")


def test_eval_help_shows_the_settings_help_and_flags_take_none(capsys):
    from musebench.evaluate.settings import EvalSettings

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(EvalSettings):
        assert " ".join(f.metadata["help"].split()) in text, f.name
        assert f"--{f.name.replace('_', '-')}" in text
    from musebench.commands.eval import build_settings, settings_flags

    args = build_parser("eval", all_commands=False).parse_args(
        [
            "eval",
            "--model",
            "m",
            "--data",
            "nowhere",
            "--out",
            "o",
            "--knowmem-num-shots",
            "none",
            "--mink-k",
            "20",
        ]
    )
    assert settings_flags().given(args) == {"knowmem_num_shots": None, "mink_k": 20.0}
    assert build_settings(args, "nowhere") == EvalSettings(knowmem_num_shots=None, mink_k=20.0)


def test_the_old_set_spelling_still_works_with_a_warning():
    from musebench.commands.eval import build_settings

    args = build_parser("eval", all_commands=False).parse_args(
        ["eval", "--model", "m", "--data", "nowhere", "--out", "o", "--set", "verbmem_max_new_tokens=8"]
    )
    with pytest.warns(FutureWarning, match="--verbmem-max-new-tokens 8"):
        assert build_settings(args, "nowhere").verbmem_max_new_tokens == 8


@dataclass(frozen=True)
class _Span:
    lo: float
    hi: float

    def read_check(self, problem):
        if self.lo > self.hi:
            problem("hi", "below lo", self.hi)
        return self


@dataclass
class _Spans:
    spans: list[_Span]


def test_read_check_runs_on_what_the_walker_read_and_unknown_keys_may_be_passed_over():
    problems = Problems("f.json")
    read = from_mapping(_Spans, {"spans": [{"lo": 0, "hi": 1, "newer": 3}], "extra": 1}, "", problems, unknown="skip")
    assert read == _Spans([_Span(0.0, 1.0)]) and not problems.items
    with pytest.raises(ConfigError) as err:
        from_mapping(_Spans, {"spans": [{"lo": 2, "hi": 1}]})
    assert str(err.value) == "spans[0].hi: below lo (got 1.0)" and err.value.field == "spans[0].hi"
    with pytest.raises(ConfigError, match=r"spans\[0\]\.newer: unknown key"):
        from_mapping(_Spans, {"spans": [{"lo": 0, "hi": 1, "newer": 3}]})
    assert _Span(2.0, 1.0).lo == 2.0  # a program that builds the record itself is not checked
