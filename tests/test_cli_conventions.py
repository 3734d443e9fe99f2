"""CLI conventions: ``musebench ls``, ``run --dry-run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from musebench.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_ls_lists_every_registered_method_metric_and_builtin_experiment(capsys):
    from musebench.evaluate.metrics import METRICS
    from musebench.experiment.demo import builtin_names
    from musebench.unlearn import METHODS

    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    sections = dict(zip(("methods", "metrics", "experiments"), out.split("\n\n"), strict=True))
    for section, names in (("methods", METHODS), ("metrics", METRICS), ("experiments", builtin_names())):
        listed = [line.split()[0] for line in sections[section].splitlines()[1:]]
        assert listed == list(names), section
        assert all(len(line.split(None, 1)) == 2 for line in sections[section].splitlines()[1:])  # a summary each
    assert "npo_gdr      NPO + NLL on retain text" in sections["methods"]
    assert "news-mini-quick   news-mini (tiny): 10 methods" in sections["experiments"]


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
