"""The plugin path: a method from another installed package, found through the ``musebench.methods``
entry points, runs by name in the CLI, ``musebench ls`` lists it, and a broken plugin is one error naming it.

The example package (``examples/musebench_example_method``) is really installed (``pip install --no-deps
--no-build-isolation --no-index --target``, offline, from a copy so the source tree stays clean) into a
directory put on ``sys.path``, where ``importlib.metadata`` finds its entry point.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musebench.cli import main
from musebench.data import save_corpus
from musebench.errors import ConfigError
from musebench.unlearn import METHODS, config_for
from musebench.unlearn.registry import MethodRegistry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "musebench_example_method"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """The example plugin installed into a fresh directory on ``sys.path``; removed again afterwards."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, work / "src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(site))
    METHODS.refresh()
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.startswith("musebench_example_method")]:
        del sys.modules[name]
    METHODS.refresh()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tiny_corpus):
    return save_corpus(tiny_corpus, tmp_path_factory.mktemp("corpus"))


def test_installed_plugin_is_listed_with_its_package_and_options(installed_example, capsys):
    assert "capped_ga" in METHODS and list(METHODS)[-1] == "capped_ga"  # after the built-ins
    assert METHODS.source("capped_ga") == "musebench-example-method"
    assert main(["ls", "methods"]) == 0
    out = capsys.readouterr().out
    assert "capped_ga" in out and "[musebench-example-method]" in out and "options: floor=8.0" in out


def test_plugin_runs_two_steps_through_the_cli(installed_example, trained_model_dir, corpus_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "unlearn",
            "--model",
            str(trained_model_dir),
            "--data",
            str(corpus_dir),
            "--method",
            "capped_ga",
            "--out",
            str(out),
            "--max_steps",
            "2",
            "--per_device_train_batch_size",
            "1",
            "--max_len",
            "32",
            "--learning_rate",
            "1e-3",
            "--floor",
            "3",
            "--no_progress",
            "--threads",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text())
    assert record["method"] == "capped_ga" and record["status"] == "complete"
    assert record["config"]["floor"] == 3  # its config class's field, recorded like every other
    steps = record["history"]["steps"]
    assert len(steps) == 2
    # the trained model knows the forget text (log p ~ 0 > -3): the loss is the mean log-likelihood, and
    # gradient ascent lowers it
    assert -3.0 < steps[1]["forget_loss"] < steps[0]["forget_loss"] < 0.0


def test_plugin_config_class_validates_its_fields(installed_example, capsys, tmp_path):
    with pytest.raises(ConfigError, match="flor: unknown option of CappedGAConfig; did you mean floor"):
        config_for(method="capped_ga", flor=1.0)
    with pytest.raises(ConfigError, match="floor.*must be a number > 0"):
        config_for(method="capped_ga", floor=-1)
    assert type(config_for(method="capped_ga")).__name__ == "CappedGAConfig"
    code = main(
        [
            "unlearn",
            "--model",
            "m",
            "--data",
            "d",
            "--method",
            "capped_ga",
            "--out",
            str(tmp_path / "o"),
            "--floor",
            "high",
        ]
    )  # a flag error: one line, exit 2
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "floor" in err


def _fake_plugin(site: Path, package: str, entry_points: str, module: str = "", name: str = "") -> None:
    """A minimal installed distribution: a dist-info with METADATA and entry_points.txt (+ a module)."""
    info = site / f"{package.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[musebench.test_methods]\n{entry_points}\n")
    if module:
        (site / f"{name}.py").write_text(module)


@pytest.fixture
def fake_site(tmp_path):
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


def test_broken_plugins_are_errors_naming_the_package(fake_site):
    _fake_plugin(fake_site, "pkg-import", "bad_import = mb_missing_module:METHOD")
    _fake_plugin(fake_site, "pkg-type", "bad_type = mb_wrong_type:METHOD", "METHOD = 42\n", "mb_wrong_type")
    _fake_plugin(fake_site, "pkg-clash", "ga = mb_clash:METHOD", "METHOD = None\n", "mb_clash")
    _fake_plugin(
        fake_site,
        "pkg-trainer",
        "bad_trainer = mb_trainer:METHOD",
        "from musebench.unlearn import Method\nMETHOD = Method('json:dumps', 'not a trainer')\n",
        "mb_trainer",
    )
    reg = MethodRegistry({"ga": METHODS["ga"]}, group="musebench.test_methods")
    assert list(reg) == ["ga", "bad_import", "bad_trainer", "bad_type"]  # listing imports nothing
    assert "mb_wrong_type" not in sys.modules
    cases = {
        "bad_import": "'pkg-import'.*cannot be imported: ModuleNotFoundError",
        "bad_type": "'pkg-type'.*gives a int, not a musebench.unlearn.Method",
        "ga": "'pkg-clash'.*registers 'ga', the name of a built-in method",
        "bad_trainer": "'pkg-trainer'.*not an UnlearnTrainer subclass",
    }
    for name, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            reg[name]
    assert sorted(reg.problems()) == sorted(cases)
    with pytest.raises(KeyError):
        reg["nothing_like_it"]


def test_experiment_yaml_names_the_plugin_and_checks_its_options(installed_example, corpus_dir):
    from musebench.experiment.adapters import validate_method
    from musebench.experiment.config import parse_experiment
    from musebench.unlearn.config import key_fields

    raw = {
        "corpus": {"path": str(corpus_dir)},
        "models": {"target": "build", "retrain": "build"},
        "methods": {"capped_ga": {"learning_rate": 1e-3, "floor": 3}},
    }
    cfg = parse_experiment(raw, method_validator=validate_method)
    fields = cfg.unlearn_fields(cfg.methods[0])
    assert fields["method"] == "capped_ga" and fields["floor"] == 3
    assert key_fields(fields)["floor"] == 3  # so the stage key changes with it
    raw["methods"]["capped_ga"] = {"capped_flor": 3}
    with pytest.raises(ConfigError, match=r"methods\.capped_ga\.capped_flor: unknown option of CappedGAConfig"):
        parse_experiment(raw, method_validator=validate_method)


def test_a_broken_plugin_is_one_line_in_unlearn_and_marked_in_ls(fake_site, capsys, tmp_path):
    info = fake_site / "pkg_gone-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg-gone\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[musebench.methods]\ngone = mb_gone_module:METHOD\n")
    METHODS.refresh()
    try:
        code = main(["unlearn", "--model", "m", "--data", "d", "--method", "gone", "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1
        assert "plugin package 'pkg-gone'" in err and "ModuleNotFoundError" in err
        assert main(["ls", "methods"]) == 2  # listed, marked, and the exit code says something is wrong
        out = capsys.readouterr().out
        assert "gone" in out and "BROKEN: plugin package 'pkg-gone'" in out and "npo_gdr" in out
    finally:
        METHODS.refresh()
