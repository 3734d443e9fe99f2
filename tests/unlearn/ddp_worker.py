"""Unlearning runs launched by ``test_ddp.py`` under ``accelerate launch`` (not a test module itself).

Usage: accelerate launch ... tests/unlearn/ddp_worker.py MODEL_DIR CORPUS_JSON OUT_DIR RUNS_JSON

``RUNS_JSON`` maps a run name to its ``UnlearnConfig`` fields; each run is saved under ``OUT_DIR/<name>``.
Several runs share one launch, so the processes start (and import torch) once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from musebench.data import Corpus
from musebench.unlearn import config_for, run_unlearning


def main(model_dir: str, corpus_json: str, out_dir: str, runs_json: str) -> None:
    torch.set_num_threads(1)
    splits = json.loads(Path(corpus_json).read_text(encoding="utf-8"))
    corpus = Corpus(name="ddp", forget=splits["forget"], retain1=splits["retain1"])
    late = int(os.environ.get("RANK", "0")) == 1
    for name, values in json.loads(Path(runs_json).read_text(encoding="utf-8")).items():
        if late:  # rank 1 reaches each run after rank 0 has set it up: the order an oversubscribed machine gives
            time.sleep(2.0)
        run_unlearning(model_dir, corpus, config_for(**values), Path(out_dir) / name)


if __name__ == "__main__":
    main(*sys.argv[1:5])
