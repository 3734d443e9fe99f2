"""``musebench leaderboard``: several runs of the same methods ranked on one page, with hand-computed means,
spreads, verdict counts and ranks.

Three runs of the report's sample (tests/report/data/results.json), seeds 0 / 1 / 2; NPO_GDR's selected KnowMem-r
is 53.0 / 51.0 / 55.0 (mean 53.0, standard deviation 2.0; the C4 floor is 0.95 x 55.2 = 52.44, so C4 is met in
2 of 3 runs), and Task Vector is missing from the third run.
"""

from __future__ import annotations

import copy
import re

import pytest

from musebench.cli import main
from musebench.errors import ConfigError
from musebench.report import build_report
from musebench.report.leaderboard import Stat, build_board, load_runs, write_leaderboard
from musebench.report.verdicts import INCONCLUSIVE, MET, NOT_MET


def _selected(doc: dict, method: str) -> dict:
    m = doc["methods"][method]
    return next(c for c in m["checkpoints"] if c["label"] == m["selected"])


@pytest.fixture()
def runs(sample_doc, write_run, tmp_path):
    paths = []
    for seed, utility in ((0, 53.0), (1, 51.0), (2, 55.0)):
        doc = copy.deepcopy(sample_doc)
        doc["provenance"]["seed"] = seed
        _selected(doc, "npo_gdr")["scores"]["knowmem_r"] = utility
        if seed == 2:
            del doc["methods"]["task_vector"]
        paths.append(write_run(tmp_path / f"seed-{seed}" / "news-mini", doc))
    build_report(paths[0])  # only the first run has its report
    return paths


def test_stat_mean_and_sample_spread():
    assert Stat((53.0, 51.0, 55.0)).mean == 53.0 and Stat((53.0, 51.0, 55.0)).spread == 2.0
    assert Stat((4.0,)).spread is None and Stat((4.0,)).text() == "4.0"
    assert Stat(()).mean is None and Stat(()).text() == "not run"
    assert Stat((-3.1, -1.1)).text(signed=True) == "-2.1 ± 1.4"


def test_board_means_spreads_verdict_counts_and_rank(runs):
    board = build_board(load_runs(runs))
    assert [r.method for r in board.rows] == ["npo_gdr", "ga_gdr", "task_vector", "npo_klr"]
    npo = board.rows[0]
    assert npo.runs == 3 and npo.scores["knowmem_r"].values == (53.0, 51.0, 55.0)
    assert npo.scores["knowmem_r"].mean == 53.0 and npo.scores["knowmem_r"].spread == 2.0
    assert npo.scores["verbmem_f"].spread == 0.0  # unchanged across the runs
    assert npo.verdicts["C4"] == {MET: 2, NOT_MET: 1}
    # C1, C2, C4 and C6 met; C4 fails at 51.0; C3 is inconclusive (PrivLeak's CI [-11.5, +5.3] is wider than +-5)
    assert npo.verdicts["C3"] == {INCONCLUSIVE: 3}
    assert npo.met.values == (4.0, 3.0, 4.0)
    tv = board.rows[2]
    assert tv.runs == 2 and tv.scores["knowmem_r"].values == (48.9, 48.9)
    # task_vector and npo_klr meet nothing: the higher mean KnowMem-r (48.9 > 45.4) ranks first
    assert board.rows[3].met.mean == 0.0 and board.rows[3].scores["knowmem_r"].mean == 45.4
    assert board.references["target"]["knowmem_r"].mean == pytest.approx(55.2)
    assert board.notes == ("not in every run: task_vector (their statistics cover the runs that hold them)",)
    assert [r.label for r in board.runs] == ["seed-0/news-mini", "seed-1/news-mini", "seed-2/news-mini"]


def test_page_holds_the_numbers_and_links_each_report(runs, tmp_path):
    page = write_leaderboard(runs, tmp_path / "board")
    html = page.read_text(encoding="utf-8")
    assert "Leaderboard: 4 methods over 3 runs" in html
    row = re.search(r"<tr><td>1</td><th>npo_gdr</th>(.*?)</tr>", html).group(1)
    assert "<td>53.0 ± 2.0</td>" in row and 'class="mixed"' in row and "✓ 2/3" in row
    assert '<a href="../seed-0/news-mini/report/index.html">report</a>' in html
    assert html.count("no report yet") == 2
    assert "default-src 'none'" in html and "<script" not in html and "data:image/png;base64," in html


def test_cli_writes_the_page_and_bad_runs_are_one_error(runs, tmp_path, capsys):
    assert main(["leaderboard", *map(str, runs), "--out", str(tmp_path / "lb")]) == 0
    assert "leaderboard of 3 runs written to" in capsys.readouterr().out
    assert main(["leaderboard", *map(str, runs), "--out", str(tmp_path / "lb")]) == 0  # its own page: rewritten
    capsys.readouterr()
    assert main(["leaderboard", str(runs[0]), str(tmp_path / "nowhere"), "--out", str(tmp_path / "lb2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and not (tmp_path / "lb2").exists()
    with pytest.raises(ConfigError, match="the same run is given twice"):
        load_runs([runs[0], runs[0]])


def test_markdown_holds_the_pages_numbers(runs, tmp_path):
    write_leaderboard(runs, tmp_path / "board")
    md = (tmp_path / "board" / "leaderboard.md").read_text(encoding="utf-8")
    assert md.startswith("# Leaderboard: 4 methods over 3 runs")
    row = next(line for line in md.splitlines() if line.startswith("| 1 | npo_gdr |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["1", "npo_gdr", "3", "3.7 ± 0.6"]  # criteria met 4 / 3 / 4
    assert cells[7] == "53.0 ± 2.0" and "✓ 2/3" in cells  # KnowMem-r, and C4 met in 2 of 3 runs
    assert "| seed-2/news-mini |" in md and "> not in every run: task_vector" in md


def test_it_never_replaces_another_commands_output(runs, tmp_path, capsys):
    """A report, a run or a folder of the user's files is refused with one line; nothing in it changes."""
    report = runs[0] / "report"
    before = (report / "index.html").read_bytes()
    assert main(["leaderboard", *map(str, runs), "--out", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "musebench report" in err[0]
    assert (report / "index.html").read_bytes() == before and not (report / "leaderboard.md").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my page")
    assert main(["leaderboard", *map(str, runs), "--out", str(mine), "--force"]) == 2  # never overwritten
    assert (mine / "index.html").read_text() == "my page" and "did not write" in capsys.readouterr().err
