"""Data parallelism changes nothing: 2 gloo processes x batch 1 = 1 process x batch 2, step for step.

The two-process run is launched exactly as a user would, with ``accelerate launch`` and the shipped
``configs/accelerate/ddp_cpu.yaml``. NPO_GDR exercises everything that could differ between ranks: the data
order, the per-rank retain pairing (a function of seed, epoch and forget index, not of the rank count; the
second epoch redraws it), the frozen reference model and the all-reduced gradients.

Both splits are padded to a whole number of windows on purpose: the forget/retain NLL terms are token means
per batch, so a batch holding a split's last, shorter window is weighted per rank under DDP but per batch in
one process (the difference is explained in docs/multi_gpu.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from musebench.data import Corpus
from musebench.unlearn import UnlearnConfig, run_unlearning

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
DDP_CPU = REPO / "configs" / "accelerate" / "ddp_cpu.yaml"
MAX_LEN = 16  # windows of 15 tokens after BOS

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch built without gloo")


def whole_windows(docs: list[str], tokenizer, step: int) -> list[str]:
    """Lengthen the last document until the joined text is a whole number of ``step``-token windows."""
    docs = list(docs)
    for _ in range(4 * step):
        n = len(tokenizer("\n\n".join(docs), add_special_tokens=False)["input_ids"])
        if n % step == 0:
            return docs
        docs[-1] += " in"
    raise AssertionError("could not pad the split to whole windows")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_values(batch_size: int) -> dict:
    return dict(method="npo_gdr", epochs=2, lr=1e-3, batch_size=batch_size, max_len=MAX_LEN, device="cpu",
                progress=False, seed=3)


def test_two_gloo_processes_match_one_process(tmp_path, tiny_model_dir, tiny_corpus, tiny_tokenizer):
    step = MAX_LEN - 1
    forget = whole_windows(tiny_corpus.forget + tiny_corpus.retain1, tiny_tokenizer, step)
    retain = whole_windows(tiny_corpus.retain2 + tiny_corpus.holdout, tiny_tokenizer, step)
    corpus_json = tmp_path / "corpus.json"
    corpus_json.write_text(json.dumps({"forget": forget, "retain1": retain}))
    config_json = tmp_path / "config.json"
    config_json.write_text(json.dumps(config_values(batch_size=1)))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    two = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP_CPU),
         "--num_processes", "2", "--main_process_port", str(free_port()),
         str(WORKER), str(tiny_model_dir), str(corpus_json), str(tmp_path / "two"), str(config_json)],
        env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]

    one = run_unlearning(tiny_model_dir, Corpus(name="ddp", forget=forget, retain1=retain),
                         UnlearnConfig(**config_values(batch_size=2)), tmp_path / "one")

    record_two = json.loads((tmp_path / "two" / "run.json").read_text())
    record_one = json.loads((tmp_path / "one" / "run.json").read_text())
    assert record_two["data"]["processes"] == 2 and record_one["data"]["processes"] == 1
    assert record_one["data"]["forget_windows"] == 10  # 5 global batches of 2 per epoch, 2 epochs
    losses_one = [s["loss"] for s in record_one["history"]["steps"]]
    losses_two = [s["loss"] for s in record_two["history"]["steps"]]
    assert len(losses_one) == len(losses_two) == 10
    assert max(abs(a - b) for a, b in zip(losses_one, losses_two)) < 1e-4
    assert len(set(round(x, 3) for x in losses_one)) > 5  # a real curve, not a constant

    from safetensors.torch import load_file

    w_one = load_file(str(tmp_path / "one" / "epoch-2" / "model.safetensors"))
    w_two = load_file(str(tmp_path / "two" / "epoch-2" / "model.safetensors"))
    w_start = load_file(str(tiny_model_dir / "model.safetensors"))
    assert w_one.keys() == w_two.keys()
    assert max((w_one[k] - w_two[k]).abs().max().item() for k in w_one) < 1e-4
    assert max((w_one[k] - w_start[k]).abs().max().item() for k in w_one) > 1e-3  # it did train


@pytest.mark.parametrize("name, kind", [("ddp_cpu", "MULTI_GPU"), ("ddp", "MULTI_GPU"), ("fsdp", "FSDP"),
                                        ("deepspeed_zero3", "DEEPSPEED")])
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
