"""``musebench plan``: counts checked by hand on the release experiment, cost growth, bad flags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from musebench.cli import main
from musebench.experiment.config import load_experiment
from musebench.experiment.plan import Rates, parse_model_size, plan_experiment

RELEASE = Path(__file__).resolve().parents[2] / "examples" / "muse-news-release.yaml"


def test_release_plan_counts_match_a_hand_computation():
    cfg = load_experiment(RELEASE)
    plan = plan_experiment(cfg, 7e9, 1, Rates())
    reqs = {r.stage: r for r in plan["requests"]}
    tokens = 3.3e6 / 4  # News forget set: 3.3 MB at 4 characters per token
    windows = math.ceil(tokens / 2047)  # 2048-token windows, BOS included
    ga = reqs["methods/ga"]
    assert ga.steps == 10 * math.ceil(windows / 4)  # 10 epochs, batch 4 -> 1,010
    assert ga.train_tokens == ga.steps * 4 * 2048 and ga.checkpoints == 10 and ga.evaluations == 11
    npo_gdr = reqs["methods/npo_gdr"]

    def train_s(r, forwards):
        return forwards * 2 * 7e9 * r.train_tokens / 4e14

    assert npo_gdr.gpu_s - train_s(npo_gdr, 7) == pytest.approx(ga.gpu_s - train_s(ga, 3))  # same evaluations
    assert reqs["scal/npo_gdr/fold-4"].forget_tokens == pytest.approx(4 * tokens)
    assert [r.after for r in plan["requests"] if r.stage.startswith("sust/")] == [
        None,
        "sust/npo_gdr/request-1",
        "sust/npo_gdr/request-2",
        "sust/npo_gdr/request-3",
    ]
    # the release's scal/forget_1 and sust/forget_1 are the forget set: from the target those requests are the
    # main request, run once, so they cost nothing of their own
    for stage in ("scal/npo_gdr/fold-1", "sust/npo_gdr/request-1"):
        assert reqs[stage].same_as == "methods/npo_gdr" and reqs[stage].gpu_s == 0 and reqs[stage].steps == 0
    assert reqs["scal/npo_gdr/fold-2"].same_as is None and reqs["scal/npo_gdr/fold-2"].gpu_s > 0
    assert reqs["sust/npo_gdr/request-2"].same_as is None and reqs["sust/npo_gdr/request-2"].gpu_s > 0
    eight = plan_experiment(cfg, 7e9, 8, Rates())
    assert eight["wall_hours_data_parallel"] == pytest.approx(eight["gpu_hours"] / 8)
    assert eight["wall_hours_stages"] >= eight["critical_hours"]  # C6's chain cannot be parallel
    assert plan_experiment(cfg, 70e9, 1, Rates())["gpu_hours"] > 9 * plan["gpu_hours"]


def test_plan_command_prints_the_estimate_and_rejects_bad_flags(capsys):
    assert main(["plan", str(RELEASE), "--gpus", "8"]) == 0
    out = capsys.readouterr().out
    assert "GPU-hours" in out and "per epoch" in out and "methods/npo_klr" in out and "assumed" in out
    assert "= methods/npo_gdr" in out  # fold 1 / request 1: the main request
    assert main(["plan", str(RELEASE), "--gpus", "0"]) == 2
    assert main(["plan", str(RELEASE), "--model-size", "big"]) == 2
    assert "--model-size" in capsys.readouterr().err
    assert parse_model_size("1.3B") == 1.3e9 and parse_model_size("350m") == 3.5e8
