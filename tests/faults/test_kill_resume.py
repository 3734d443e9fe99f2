"""Fault injection: kill -9 at seeded random moments of ``unlearn``, ``eval`` and ``run`` on the tiny world,
resume after each kill, and compare with an uninterrupted run: the same scores, the same weight hashes.

A kill moment is "the N-th entry into hook H" (``fault_server.py``): H drawn with a seeded RNG from the hooks
the command really reaches (counted in the uninterrupted run), N from the calls it makes there, so kills
land between optimisation steps, inside Trainer checkpoint writes, inside weight writes, at atomic renames,
between evaluation batches and between experiment stages; a failure replays exactly from its seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musebench.data.layout import save_corpus
from musebench.io import file_hash

HERE = Path(__file__).parent
SRC = Path(__file__).parents[2] / "src"
KILLS = {"unlearn": 8, "eval": 7, "run": 7}  # 22 kill -9 in all
PRELOAD = {
    "unlearn": [
        "musebench.cli",
        "musebench.commands.unlearn",
        "musebench.unlearn.api",
        "musebench.unlearn.training",
        "musebench.data",
        "musebench.unlearn.trainer",
        "musebench.unlearn.export",
        "musebench.models.loading",
        "peft",
    ],
    "eval": [
        "musebench.cli",
        "musebench.commands.eval",
        "musebench.evaluate",
        "musebench.data",
        "musebench.models.loading",
    ],
    "run": [
        "musebench.cli",
        "musebench.commands.run",
        "musebench.experiment.runner",
        "musebench.experiment.adapters",
        "musebench.unlearn.api",
        "musebench.evaluate",
        "musebench.models.loading",
    ],
}

UNLEARN = [
    "--method",
    "ga_gdr",
    "--num_train_epochs",
    "2",
    "--per_device_train_batch_size",
    "2",
    "--max_len",
    "24",
    "--learning_rate",
    "1e-3",
    "--save_strategy",
    "steps",
    "--save_steps",
    "1",
    "--no_progress",
    "--threads",
    "1",
    "--use_cpu",
]
EVAL_SETTINGS = [
    "--verbmem-max-new-tokens",
    "6",
    "--verbmem-gt-max-tokens",
    "6",
    "--knowmem-max-new-tokens",
    "4",
    "--knowmem-num-shots",
    "1",
    "--privleak-max-length",
    "48",
    "--bootstrap-samples",
    "20",
]
EXPERIMENT = """\
name: faults
device: cpu
corpus: {{path: {data}}}
models: {{target: {model}, retrain: {model}}}
eval:
  settings: {{verbmem_max_new_tokens: 6, verbmem_gt_max_tokens: 6, knowmem_max_new_tokens: 4,
             knowmem_num_shots: 1, privleak_max_length: 48, bootstrap_samples: 20}}
method_defaults: {{num_train_epochs: 2, learning_rate: 1.0e-3, per_device_train_batch_size: 2, max_len: 24, progress: false}}
methods:
  ga_gdr: {{}}
"""


def inject(command: str, reference: list[str], resume: list[str], tmp: Path, seed: int) -> dict:
    """Run the fault server: a reference run, then kill / resume chains until ``KILLS[command]`` kills."""
    plan = {
        "reference": reference,
        "resume": resume,
        "out_pattern": str(tmp / "hurt-{chain}"),
        "kills": KILLS[command],
        "max_attempts_per_chain": 4,
        "seed": seed,
        "preload": PRELOAD[command],
        "log": str(tmp / "children.log"),
        "counts": str(tmp / "counts.json"),
    }
    (tmp / "plan.json").write_text(json.dumps(plan))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)]),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "fault_server.py"), str(tmp / "plan.json"), str(tmp / "report.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    log = (tmp / "children.log").read_text(errors="replace") if (tmp / "children.log").exists() else ""
    assert done.returncode == 0, done.stderr[-2000:] + log[-3000:]
    report = json.loads((tmp / "report.json").read_text())
    assert report["kills"] >= KILLS[command]
    print(
        f"fault-injection {command}: {report['kills']} kills, {report['attempts'] - len(report['chains'])} "
        f"resumes after a kill, {len(report['chains'])} chains, hooks hit: "
        f"{sorted({e['hook'].split(':')[1] for e in report['events'] if e['rc'] == -9})}",
        flush=True,
    )
    return report


def weights(run_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(run_dir)): file_hash(p) for p in sorted(run_dir.rglob("model.safetensors"))}


def untimed(obj):
    """``obj`` without its wall-clock fields (they differ between any two runs)."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if k not in ("timing_s", "wall_s")}
    if isinstance(obj, list):
        return [untimed(v) for v in obj]
    return obj


def scores(summary: Path) -> dict:
    data = json.loads(summary.read_text())
    return {k: data[k] for k in ("scores", "ci", "privacy")}


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_corpus, tiny_model_dir):
    root = tmp_path_factory.mktemp("world")
    return {"data": save_corpus(tiny_corpus, root / "data"), "model": tiny_model_dir}


@pytest.mark.slow
def test_unlearn_killed_at_random_moments_resumes_to_the_same_weights(world, tmp_path):
    base = ["unlearn", "--model", str(world["model"]), "--data", str(world["data"]), *UNLEARN]
    report = inject(
        "unlearn", [*base, "--out", str(tmp_path / "ref")], [*base, "--out", "{out}", "--resume"], tmp_path, seed=13
    )
    assert report["counts"].get("transformers.trainer:Trainer._save_rng_state", 0) >= 2  # checkpoints written
    ref = json.loads((tmp_path / "ref" / "run.json").read_text())
    for chain in report["chains"]:
        assert weights(Path(chain)) == weights(tmp_path / "ref") != {}, chain
        hurt = json.loads((Path(chain) / "run.json").read_text())
        assert hurt["status"] == "complete" and hurt["history"] == ref["history"], chain
        assert not (Path(chain) / "checkpoints").exists()  # a finished run keeps only its epoch models


@pytest.mark.slow
def test_eval_killed_at_random_moments_resumes_to_the_same_scores(world, tmp_path):
    base = [
        "eval",
        "--model",
        str(world["model"]),
        "--data",
        str(world["data"]),
        "--retrain",
        str(world["model"]),
        *EVAL_SETTINGS,
        "--no-progress",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    report = inject("eval", [*base, "--out", str(tmp_path / "ref")], [*base, "--out", "{out}"], tmp_path, seed=29)
    ref_rows = (tmp_path / "ref" / "per_example.jsonl").read_text()
    for chain in report["chains"]:
        assert scores(Path(chain) / "summary.json") == scores(tmp_path / "ref" / "summary.json"), chain
        assert (Path(chain) / "per_example.jsonl").read_text() == ref_rows, chain


@pytest.mark.slow
def test_run_killed_at_random_moments_resumes_to_the_same_results(world, tmp_path):
    exp = tmp_path / "experiment.yaml"
    exp.write_text(EXPERIMENT.format(data=world["data"], model=world["model"]))
    base = ["run", str(exp), "--no-report", "--threads", "1"]
    report = inject("run", [*base, "--out", str(tmp_path / "ref")], [*base, "--out", "{out}"], tmp_path, seed=47)
    ref = json.loads((tmp_path / "ref" / "results.json").read_text())
    for chain in report["chains"]:
        hurt = json.loads((Path(chain) / "results.json").read_text())
        assert untimed(hurt["methods"]) == untimed(ref["methods"]), chain
        assert weights(Path(chain)) == weights(tmp_path / "ref") != {}, chain
