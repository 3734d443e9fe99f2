"""CLI conventions: ``musebench ls``, ``run --dry-run``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from musebench.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_ls_lists_every_registered_method_metric_and_builtin_experiment(capsys):
    from musebench.evaluate.registry import TASKS
    from musebench.experiment.demo import builtin_names
    from musebench.unlearn import METHODS

    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    sections = dict(zip(("methods", "metrics", "experiments"), out.split("\n\n"), strict=True))
    for section, names in (("methods", METHODS), ("metrics", TASKS), ("experiments", builtin_names())):
        listed = [line.split()[0] for line in sections[section].splitlines()[1:]]
        assert listed == list(names), section
        assert all(len(line.split(None, 1)) == 2 for line in sections[section].splitlines()[1:])  # a summary each
    assert re.search(r"\n  npo_gdr +NPO \+ NLL on retain text\n", sections["methods"])  # columns: the longest name
    assert re.search(r"\n  news-mini-quick +news-mini \(tiny\): 5 methods", sections["experiments"])


def test_ls_one_section(capsys):
    assert main(["ls", "metrics"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("metrics:\n") and "methods:" not in out and "privleak" in out


def test_run_dry_run_validates_prints_stages_and_touches_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "run"
    assert main(["run", str(EXAMPLES / "news-mini.yaml"), "--dry-run", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "nothing was written" in out and "would be created" in out
    assert "  methods/npo_gdr: npo_gdr," in out
    assert "  sust/npo_gdr/request-2: npo_gdr," in out and "after sust/npo_gdr/request-1" in out
    assert not out_dir.exists() and list(tmp_path.iterdir()) == []


def test_run_dry_run_still_rejects_a_bad_file(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "news-mini.yaml").read_text().replace("npo_gdr:", "npo_gdrr:", 1))
    assert main(["run", str(bad), "--dry-run", "--out", str(tmp_path / "run")]) == 2
    assert "npo_gdrr" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_unknown_ls_section_is_a_usage_error():
    with pytest.raises(SystemExit) as info:
        main(["ls", "models"])
    assert info.value.code == 2


def test_several_problems_print_one_per_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (EXAMPLES / "news-mini.yaml").read_text().replace("npo_gdr:", "npo_gdrr:", 1).replace("ga:", "gaa:", 1)
    bad.write_text(text)
    assert main(["run", str(bad), "--dry-run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("musebench run: error: ") and lines[0].endswith(f"{len(lines) - 1} problems:")
    assert len(lines) >= 3 and all(line.startswith("  - ") for line in lines[1:])
    assert any("npo_gdrr" in line for line in lines[1:]) and any("gaa" in line for line in lines[1:])


def test_unlearn_config_lists_every_problem_on_its_own_line():
    from musebench.errors import ConfigError
    from musebench.unlearn import UnlearnConfig

    with pytest.raises(ConfigError) as info:
        UnlearnConfig.from_dict({"method": "npo", "num_train_epochs": 0, "learning_rate": -1.0})
    lines = str(info.value).splitlines()
    assert lines[0].endswith("problems:") and len(lines) == 1 + len(info.value.problems) >= 3
    assert any("num_train_epochs" in line for line in lines[1:]) and any("learning_rate" in line for line in lines[1:])


def test_a_library_deprecation_notice_never_reaches_the_users_error_output(capsys, tmp_path):
    """Where a caller shows every warning (a test runner, ``-W always``), a library's deprecation notice emitted
    while a command runs must not land among musebench's own lines; a user-facing warning still does, as one line."""
    import warnings

    from musebench.cli import _one_line_warning

    _one_line_warning(DeprecationWarning("`x` is deprecated"), DeprecationWarning, "lib.py", 1)
    _one_line_warning(UserWarning("corpus part missing"), UserWarning, "lib.py", 1)
    assert capsys.readouterr().err.splitlines() == ["warning: corpus part missing"]
    before = warnings.showwarning
    main(["run", str(tmp_path / "missing.yaml"), "--dry-run"])
    assert warnings.showwarning is before  # restored after an in-process call
