"""Which Trainer checkpoint a resumed run continues from: the newest one written to the end.

The Trainer writes ``checkpoint-N/`` file by file (weights, optimizer, scheduler, RNG state) and
``trainer_state.json`` last, in place. A process killed during that save leaves a folder the Trainer cannot
resume from; ``get_last_checkpoint`` would pick it anyway. Such folders are musebench's own (they live in the
run's ``checkpoints/``), so they are removed and the previous complete checkpoint is used, or none (the run
restarts from the start model, which gives the same weights).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "trainer_state.json"
TRAINING_FILES = ("optimizer.pt", "scheduler.pt")
WEIGHT_PATTERNS = ("*.safetensors", "adapter_model.safetensors")


def is_complete(folder: Path, step: int) -> bool:
    """True when the Trainer finished writing ``folder`` (its state is readable and names this step)."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(state, dict) or state.get("global_step") != step:
        return False
    has_weights = any(any(folder.glob(p)) for p in WEIGHT_PATTERNS)
    return has_weights and all((folder / name).is_file() for name in TRAINING_FILES)


def last_complete_checkpoint(checkpoints_dir: Path, remove_incomplete: bool = True) -> str | None:
    """Path of the newest complete ``checkpoint-N`` (None if there is none); incomplete ones are removed."""
    checkpoints_dir = Path(checkpoints_dir)
    if not checkpoints_dir.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in checkpoints_dir.iterdir()
                    if p.is_dir() and (m := CHECKPOINT.match(p.name))), reverse=True)
    chosen = None
    for step, folder in found:
        if chosen is None and is_complete(folder, step):
            chosen = str(folder)
        elif chosen is None or not is_complete(folder, step):
            logger.warning("skipping incomplete checkpoint %s (interrupted while it was written)", folder)
            if remove_incomplete:
                shutil.rmtree(folder, ignore_errors=True)
    return chosen
