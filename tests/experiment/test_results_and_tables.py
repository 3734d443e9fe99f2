import json

import pytest
from rich.console import Console

from musebench.cli import main
from musebench.errors import DataError
from musebench.experiment.config import parse_experiment
from musebench.experiment.results import read_results
from musebench.experiment.runner import run_experiment
from musebench.experiment.tables import compare_table, selected_rows, table3
from musebench.results import parse_results

EXPERIMENT = {
    "name": "t",
    "corpus": "news-mini",
    "methods": {"ga": {"num_train_epochs": 3}, "npo": {"num_train_epochs": 3}},
    "scalability": {"methods": ["ga"]},
    "sustainability": {"methods": ["npo"], "folds": [1, 2]},
}


@pytest.fixture
def run_dir(tmp_path, fake_backend):
    run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", fake_backend)
    return tmp_path / "run"


def row_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.split("│")[1:2] and line.split("│")[1].strip() == name)


def render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_the_report_reader_accepts_our_results(run_dir):
    from musebench.report import load_results

    results = load_results(run_dir)
    assert results.methods["ga"].selected_checkpoint.label == "epoch-2"
    assert [f.fold for f in results.methods["ga"].scalability] == [1, 2, 3, 4]
    assert [r.request for r in results.methods["npo"].sustainability] == [1, 2]
    assert results.retrain.scores["privleak"] == 0.0


def test_table3_rows_are_target_retrain_then_selected_methods(run_dir):
    results = read_results(run_dir)
    rows = selected_rows(results)
    assert [(r[0], r[1]) for r in rows] == [("target", ""), ("retrain", ""), ("ga", "epoch-2"), ("npo", "epoch-3")]
    lines = render(table3(results)).splitlines()
    ga = lines.index(row_of("\n".join(lines), "ga"))
    # fake ga epoch-2: verbmem 15, knowmem_f 30, knowmem_r 30, each with CI +-1 on the line below
    assert [c.strip() for c in lines[ga].split("│")[3:7]] == ["15.0", "30.0", "-16.7", "30.0"]
    assert [c.strip() for c in lines[ga + 1].split("│")[3:7]] == [
        "[14.0, 16.0]",
        "[29.0, 31.0]",
        "[-17.7, -15.7]",
        "[29.0, 31.0]",
    ]


def test_compare_shows_deltas(run_dir, tmp_path):
    a = read_results(run_dir)
    b = json.loads((run_dir / "results.json").read_text())
    b["methods"]["ga"]["checkpoints"][1]["scores"]["knowmem_r"] = 42.5  # epoch-2, the selected one: was 30.0
    text = render(compare_table(a, parse_results(b, "b.json")))
    ga_line = row_of(text, "ga")
    assert "30.0 → 42.5 (+12.5)" in ga_line
    assert "30.0 → 30.0 (+0.0)" in ga_line  # knowmem_f unchanged


def test_compare_command_and_its_errors(run_dir, tmp_path, capsys):
    assert main(["compare", str(run_dir), str(run_dir / "results.json")]) == 0
    assert "npo" in capsys.readouterr().out
    assert main(["compare", str(run_dir), str(tmp_path / "nothing")]) == 2
    assert "results file not found (is this a `musebench run` output directory?" in capsys.readouterr().err
    with pytest.raises(DataError, match="schema_version"):
        (tmp_path / "old.json").write_text('{"schema_version": 0}')
        read_results(tmp_path / "old.json")


def test_what_a_run_writes_reads_back_whole(tmp_path, fake_backend):
    """Every field the experiment writes (own_fold's judged rows, C6's started_from...) survives the reader:
    reading the file and writing it again gives the same document."""
    raw = {**EXPERIMENT, "selection": {"follow_ups": "own_fold"}}
    run_experiment(parse_experiment(raw), tmp_path / "run", fake_backend)
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    assert parse_results(on_disk, tmp_path / "run" / "results.json").to_dict() == on_disk
    assert all(row["judged"] for row in on_disk["methods"]["ga"]["scalability"])
    assert on_disk["methods"]["npo"]["sustainability"][0]["started_from"] == "target"
