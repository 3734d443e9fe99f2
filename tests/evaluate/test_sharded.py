"""Sharded evaluation: ``torchrun --nproc_per_node 2 -m musebench.cli eval`` (2 gloo processes on CPU) writes
per-example outputs identical to one process, and the same scores; the batch owner assignment is balanced."""

from __future__ import annotations

import json

from musebench.cli import main
from musebench.data import save_corpus
from musebench.evaluate.sharding import Shard

ARGS = [
    "--verbmem-max-new-tokens",
    "8",
    "--knowmem-max-new-tokens",
    "4",
    "--privleak-max-length",
    "32",
    "--bootstrap-samples",
    "50",
    "--threads",
    "1",
    "--no-progress",
    "--batch-size",
    "2",
    "--metrics",
    "verbmem_f,knowmem_f,knowmem_r,privacy",
    "--retrain-auc",
    "0.5",
]


def test_owner_assignment_is_deterministic_and_balanced():
    shard = Shard(rank=1, world=2)
    owners = shard.assign([5, 4, 3, 3, 3, 2])
    assert owners == Shard(rank=0, world=2).assign([5, 4, 3, 3, 3, 2])  # every rank plans the same
    loads = [sum(c for c, o in zip([5, 4, 3, 3, 3, 2], owners) if o == r) for r in (0, 1)]
    assert sorted(loads) == [10, 10]
    assert Shard().assign([3, 2]) == [0, 0]


def test_two_gloo_processes_write_what_one_process_writes(tiny_model_dir, tiny_corpus, tmp_path, launch_two):
    data = save_corpus(tiny_corpus, tmp_path / "corpus")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(one), *ARGS]) == 0
    done = launch_two(["-m", "musebench.cli", "eval", "--model", tiny_model_dir, "--data", data, "--out", two, *ARGS])
    rows_one = (one / "per_example.jsonl").read_text().splitlines()
    rows_two = (two / "per_example.jsonl").read_text().splitlines()
    assert len(rows_one) >= 12 and rows_one == rows_two  # every output, every score, bit for bit
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert s1["scores"] == s2["scores"] and s1["ci"] == s2["ci"] and s1["privacy"] == s2["privacy"]
    assert s1["provenance"]["requests_computed"] == s2["provenance"]["requests_computed"] > 0
    shares = s2["provenance"]["requests_by_process"]
    assert len(shares) == 2 and min(shares) > 0 and sum(shares) == s1["provenance"]["requests_computed"]
    assert done.stdout.count("MUSE evaluation of") == 1  # only the main process printed the table
