"""One unlearning run, launched by ``test_ddp.py`` under ``torchrun`` (not a test module itself).

Usage: torchrun --nproc_per_node 2 tests/unlearn/ddp_worker.py MODEL_DIR CORPUS_JSON OUT_DIR CONFIG_JSON
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from musebench.data import Corpus  # noqa: E402
from musebench.unlearn import UnlearnConfig, run_unlearning  # noqa: E402


def main(model_dir: str, corpus_json: str, out_dir: str, config_json: str) -> None:
    torch.set_num_threads(1)
    with open(corpus_json, encoding="utf-8") as fh:
        splits = json.load(fh)
    corpus = Corpus(name="ddp", forget=splits["forget"], retain1=splits["retain1"])
    with open(config_json, encoding="utf-8") as fh:
        config = UnlearnConfig(**json.load(fh))
    run_unlearning(model_dir, corpus, config, out_dir)


if __name__ == "__main__":
    main(*sys.argv[1:5])
