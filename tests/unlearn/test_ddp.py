"""Data parallelism changes nothing: 2 gloo processes x batch 1 = 1 process x batch 2 = 1 process x batch 1 x
gradient accumulation 2, step for step.

The two-process runs are launched exactly as a user would, with ``accelerate launch`` and the shipped
``configs/accelerate/ddp_cpu.yaml``. The splits are NOT whole windows: the forget split's last window holds
3 tokens and the retain split's 15 of 16, so the steps holding them weigh tokens correctly only if every
mean is taken over the whole step (all processes, all micro-batches; ``UnlearnTrainer.step_normalisers``).
GA_GDR exercises the token means (forget and retain NLL); NPO_GDR the per-sequence NPO term, the frozen
reference and the per-rank retain pairing (a function of seed, epoch and forget index; the second epoch
redraws it); RMU the DDP wrapping with ``find_unused_parameters=False`` while most layers are frozen.
The worker holds rank 1 back before each run, so a process that set a run up before the others had read its
output directory would show here (it did: the late rank found the fresh run.json and refused to overwrite it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from musebench.data import Corpus
from musebench.unlearn import config_for, run_unlearning
from musebench.unlearn.data import token_windows

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
DDP_CPU = REPO / "configs" / "accelerate" / "ddp_cpu.yaml"
MAX_LEN = 16  # windows of 15 tokens after BOS
METHODS = ("ga_gdr", "npo_gdr", "rmu", "npo_sam_gdr", "idk_nll_gdr")


def config_values(method: str, batch_size: int, grad_accum: int = 1) -> dict:
    # RMU trains only three down_proj matrices (WMDP's form): at 1e-3 its loss curve is flat to 3 decimals
    return {
        "method": method,
        "num_train_epochs": 2,
        "learning_rate": 3e-2 if method == "rmu" else 1e-3,
        "per_device_train_batch_size": batch_size,
        "gradient_accumulation_steps": grad_accum,
        "max_len": MAX_LEN,
        "use_cpu": True,
        "progress": False,
        "seed": 3,
        "save_strategy": "no",
        **({"layer": 1} if method == "rmu" else {}),
    }


def step_losses(run_dir: Path) -> list[float]:
    return [s["loss"] for s in json.loads((run_dir / "run.json").read_text())["history"]["steps"]]


def largest_weight_difference(a: Path, b: Path) -> float:
    w_a, w_b = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert w_a.keys() == w_b.keys()
    return max((w_a[k] - w_b[k]).abs().max().item() for k in w_a)


def test_two_gloo_processes_and_accumulation_match_one_process_on_ragged_windows(
    tmp_path, tiny_model_dir, tiny_corpus, tiny_tokenizer, launch_two
):
    forget = tiny_corpus.forget + tiny_corpus.retain1
    retain = tiny_corpus.retain2 + tiny_corpus.holdout
    forget_windows = token_windows(forget, tiny_tokenizer, MAX_LEN)
    retain_windows = token_windows(retain, tiny_tokenizer, MAX_LEN)
    # an even count (no window repeated to even out the ranks) whose last window is short: the case at issue
    assert len(forget_windows) == 10 and len(forget_windows[-1]) == 3 and len(retain_windows[-1]) < MAX_LEN
    corpus_json = tmp_path / "corpus.json"
    corpus_json.write_text(json.dumps({"forget": forget, "retain1": retain}))
    runs_json = tmp_path / "runs.json"
    runs_json.write_text(json.dumps({m: config_values(m, batch_size=1) for m in METHODS}))

    two = launch_two([WORKER, tiny_model_dir, corpus_json, tmp_path / "two", runs_json], config=DDP_CPU)
    assert "find_unused_parameters=True was specified" not in two.stderr  # DDP's warning when nothing is unused

    corpus = Corpus(name="ddp", forget=forget, retain1=retain)
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    for method in METHODS:
        batch2 = tmp_path / "batch2" / method
        accum2 = tmp_path / "accum2" / method
        run_unlearning(tiny_model_dir, corpus, config_for(**config_values(method, batch_size=2)), batch2)
        if method != "rmu":  # RMU: only that DDP runs it
            run_unlearning(tiny_model_dir, corpus, config_for(**config_values(method, 1, grad_accum=2)), accum2)
        record_two = json.loads((tmp_path / "two" / method / "run.json").read_text())
        assert record_two["data"]["processes"] == 2 and record_two["data"]["steps_per_epoch"] == 5
        assert record_two["data"]["distributed"] == "MULTI_CPU" and record_two["data"]["torch_threads"] == 1
        reference = step_losses(batch2)
        assert len(reference) == 10 and len({round(x, 3) for x in reference}) > 5  # a real curve
        others = [tmp_path / "two" / method] + ([accum2] if method != "rmu" else [])
        for other in others:
            curve = step_losses(other)
            assert len(curve) == 10
            loss_diff = max(abs(a - b) for a, b in zip(reference, curve))
            weight_diff = largest_weight_difference(batch2 / "epoch-2", other / "epoch-2")
            print(f"{method} {other.parent.name}: max loss diff {loss_diff:.2e}, max weight diff {weight_diff:.2e}")
            assert loss_diff < 1e-4 and weight_diff < 1e-4, (method, other.parent.name)
        trained = load_file(str(batch2 / "epoch-2" / "model.safetensors"))
        assert max((trained[k] - start[k]).abs().max().item() for k in trained) > 1e-3  # it did train


@pytest.mark.parametrize(
    "name, kind", [("ddp_cpu", "MULTI_GPU"), ("ddp", "MULTI_GPU"), ("fsdp", "FSDP"), ("deepspeed_zero3", "DEEPSPEED")]
)
def test_shipped_launcher_configs_parse(name, kind):
    """accelerate reads every shipped config; the GPU ones cannot run in CI, so at least their keys are right."""
    from accelerate.commands.config.config_args import load_config_from_file

    path = DDP_CPU.with_name(f"{name}.yaml")
    config = load_config_from_file(str(path))
    assert config.distributed_type.value == kind
    assert config.use_cpu == (name == "ddp_cpu")
    assert config.mixed_precision == ("no" if name == "ddp_cpu" else "bf16")
    assert path.read_text().startswith("#") and "accelerate launch --config_file" in path.read_text()
    if name == "fsdp":
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # epoch dirs are plain HF models
    if name == "deepspeed_zero3":
        assert config.deepspeed_config["zero_stage"] == 3 and config.deepspeed_config["zero3_save_16bit_model"]
