"""``musebench run --executor ray`` on a local Ray instance (2 CPUs) against the serial run of the same quick
experiment (real pieces, tiny fixtures): the same results.json; then a stage that fails is retried once and
reported with its log while the other lines finish, and the re-run redoes only what is missing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from musebench.cli import main

ray = pytest.importorskip("ray")

EXPERIMENT = """\
name: ray-quick
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  settings: {{verbmem_max_new_tokens: 6, verbmem_gt_max_tokens: 6, knowmem_max_new_tokens: 4,
             knowmem_num_shots: 1, privleak_max_length: 48, bootstrap_samples: 20}}
method_defaults: {{num_train_epochs: 2, learning_rate: 1.0e-3, per_device_train_batch_size: 2, max_len: 24, progress: false}}
methods:
  ga_gdr: {{}}
  npo: {{learning_rate: {npo_lr}}}
scalability: {{methods: [ga_gdr], folds: [1, 2]}}
sustainability: {{methods: [ga_gdr]}}
"""
VOLATILE = {"timing_s", "created", "executor", "finished", "wall_s"}


def comparable(value):
    """results.json without what differs between any two runs (wall times, dates, the executor's name)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the three runs; ``--executor ray`` joins it instead of starting one."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=128 * 1024**2)
    yield
    ray.shutdown()


def test_ray_run_matches_serial_then_a_failed_stage_is_retried_reported_and_redone(
    tmp_path, tiny_experiment, capsys, local_ray
):
    exp = tiny_experiment(EXPERIMENT, npo_lr="1.0e-3")
    serial, ray_run = tmp_path / "serial", tmp_path / "ray"
    start = time.perf_counter()
    assert main(["run", str(exp), "--out", str(serial), "--threads", "1", "--no-report"]) == 0
    serial_s = time.perf_counter() - start
    start = time.perf_counter()
    assert main(["run", str(exp), "--out", str(ray_run), "--threads", "1", "--no-report", "--executor", "ray"]) == 0
    ray_s = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nquick experiment: serial {serial_s:.1f} s, ray on 2 CPU workers {ray_s:.1f} s")
    one, two = (json.loads((d / "results.json").read_text()) for d in (serial, ray_run))
    assert two["executor"] == "ray" and "failed" not in two
    assert comparable(two) == comparable(one)  # every score, CI, selection, C5 / C6 row
    assert list(two["methods"]) == ["ga_gdr", "npo"]
    assert [r["fold"] for r in two["methods"]["ga_gdr"]["scalability"]] == [1, 2]
    assert (ray_run / "logs" / "methods__npo.log").is_file()  # each stage task logs into the run directory

    # npo's unlearning diverges (NaN loss -> TrainingError): retried once, reported, the other lines finish
    tiny_experiment(EXPERIMENT, npo_lr="1.0e+30")
    capsys.readouterr()
    code = main(["run", str(exp), "--out", str(ray_run), "--threads", "1", "--no-report", "--executor", "ray"])
    assert code == 1
    err = capsys.readouterr().err
    assert "stage methods/npo/unlearn failed after 2 attempts" in err and "TrainingError" in err
    failed = json.loads((ray_run / "results.json").read_text())
    assert [(f["stage"], f["attempts"]) for f in failed["failed"]] == [("methods/npo/unlearn", 2)]
    log = Path(failed["failed"][0]["log"]).read_text()
    assert log.count("=== unlearn attempt") >= 3 and "TrainingError" in log  # the first run's + two attempts
    assert comparable(failed["methods"]["ga_gdr"]) == comparable(one["methods"]["ga_gdr"])  # the rest went on

    # fixed again: only npo's stages run; every other marker is left as it was
    tiny_experiment(EXPERIMENT, npo_lr="1.0e-3")
    before = {p.name: p.stat().st_mtime_ns for p in (ray_run / "stages").iterdir() if "npo" not in p.name}
    assert main(["run", str(exp), "--out", str(ray_run), "--threads", "1", "--no-report", "--executor", "ray"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (ray_run / "stages").iterdir() if "npo" not in p.name}
    assert after == before
    assert comparable(json.loads((ray_run / "results.json").read_text())) == comparable(one)
