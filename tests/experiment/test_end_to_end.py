"""The real pieces end to end on the test fixtures: a saved corpus, the random 2-layer Llama as both target and
retrain, real unlearning, evaluation and report. A small one always; a fuller one (two methods, C5, C6) is slow."""

import json

import pytest

from musebench.cli import main

EXPERIMENT = """\
# musebench run experiment.yaml --out run
name: e2e
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  settings: {{verbmem_max_new_tokens: 6, verbmem_gt_max_tokens: 6, knowmem_max_new_tokens: 4,
             knowmem_num_shots: 1, privleak_max_length: 48, bootstrap_samples: 20}}
method_defaults: {{num_train_epochs: 2, learning_rate: 1.0e-3, per_device_train_batch_size: 2, max_len: 24, progress: false}}
methods:
  ga_gdr: {{}}
  task_vector: {{num_train_epochs: 1, alphas: [1, 8]}}
scalability: {{methods: [ga_gdr], folds: [1, 2]}}
sustainability: {{methods: [ga_gdr]}}
"""


@pytest.mark.slow
def test_run_command_end_to_end_then_resume_without_work(tmp_path, tiny_experiment, capsys):
    exp = tiny_experiment(EXPERIMENT)
    out = tmp_path / "run"
    assert main(["run", str(exp), "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "selected checkpoints (95% CI)" in printed and "results:" in printed

    results = json.loads((out / "results.json").read_text())
    assert results["retrain_auc"] == results["reference"]["retrain"]["scores"]["auc"]
    ga = results["methods"]["ga_gdr"]
    assert [c["label"] for c in ga["checkpoints"]] == ["epoch-1", "epoch-2"]
    assert ga["selected"] in ("epoch-1", "epoch-2")
    assert set(ga["selected_scores"]) >= {"verbmem_f", "knowmem_f", "knowmem_r", "auc", "privleak"}
    assert [c["label"] for c in results["methods"]["task_vector"]["checkpoints"]] == ["alpha-1", "alpha-8"]
    assert [r["fold"] for r in ga["scalability"]] == [1, 2]
    assert [r["forget_docs"] for r in ga["scalability"]] == [2, 3]  # fold 1 = forget, fold 2 one more
    assert [r["request"] for r in ga["sustainability"]] == [1, 2]
    assert ga["sustainability"][1]["started_from"].startswith("methods/ga_gdr/epoch-")  # request 1 = main
    assert (out / results["report"]).exists()
    assert (out / "methods" / "ga_gdr" / "eval" / "epoch-1" / "summary.json").is_file()

    markers = sorted(p.name for p in (out / "stages").iterdir())
    before = {p.name: p.stat().st_mtime_ns for p in (out / "stages").iterdir()}
    assert main(["run", str(exp), "--out", str(out), "--threads", "1", "--no-report"]) == 0
    assert sorted(p.name for p in (out / "stages").iterdir()) == markers
    assert {p.name: p.stat().st_mtime_ns for p in (out / "stages").iterdir()} == before  # nothing redone


SMALL = """\
name: e2e-small
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  checkpoints: selection
  metrics: [knowmem_f, privleak]
  settings: {{knowmem_max_new_tokens: 3, knowmem_num_shots: 1, privleak_max_length: 32, bootstrap_samples: 10}}
method_defaults: {{num_train_epochs: 1, learning_rate: 1.0e-3, per_device_train_batch_size: 2, max_len: 16, progress: false}}
methods: {{npo: {{}}}}
sustainability: {{folds: [1, 2], eval_checkpoints: selection}}
"""


def test_small_run_chains_c6_through_real_checkpoints(tmp_path, tiny_experiment):
    from musebench.unlearn import load_unlearned

    exp = tiny_experiment(SMALL, name="small.yaml")
    out = tmp_path / "run"
    assert main(["run", str(exp), "--out", str(out), "--threads", "1", "--no-report"]) == 0
    results = json.loads((out / "results.json").read_text())
    rows = results["methods"]["npo"]["sustainability"]
    assert [r["request"] for r in rows] == [1, 2] and rows[0]["started_from"] == "target"
    second = json.loads((out / "sust" / "npo" / "request-2" / "run.json").read_text())
    # request 1 unlearns the forget set itself (sust/forget_1 holds the same documents): it is the main
    # request, whose selected checkpoint request 2 starts from
    expected = str(out / "methods" / "npo" / "epoch-1")
    assert second["model"] == expected and second["reference"] == expected  # C6: previous model is both
    assert rows[1]["started_from"] == "methods/npo/epoch-1"
    assert second["forget_split"] == "sust/forget_2"
    assert set(rows[1]["scores"]) == {"knowmem_f", "auc", "privleak"}
    assert load_unlearned(out / "sust" / "npo" / "request-2" / "epoch-1", "cpu", None).model is not None
