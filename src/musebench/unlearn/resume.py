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
    found = sorted(
        ((int(m.group(1)), p) for p in checkpoints_dir.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))),
        reverse=True,
    )
    chosen = None
    for step, folder in found:
        if chosen is None and is_complete(folder, step):
            chosen = str(folder)
        elif chosen is None or not is_complete(folder, step):
            logger.warning("skipping incomplete checkpoint %s (interrupted while it was written)", folder)
            if remove_incomplete:
                shutil.rmtree(folder, ignore_errors=True)
    return chosen


#: Files of a Trainer checkpoint that the Trainer reads with ``torch.load(weights_only=True)`` on resume
#: (``training_args.bin`` is a pickled ``TrainingArguments`` the Trainer never reads back: not checked).
PICKLED = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth", "pytorch_model*.bin")


def check_pickled_files(folder: str | Path) -> None:
    """Refuse a checkpoint whose optimizer / scheduler / RNG files are not plain tensor files.

    The Trainer loads them with ``weights_only=True``: nothing they name is run, but a tampered or foreign
    file ends the run in an unpickler traceback. Each is read here the same way first (memory-mapped: the
    tensors are not copied), so such a file is one ``ModelError`` naming it, before any training.
    """
    import torch

    from musebench.errors import ModelError

    try:
        from transformers.trainer_pt_utils import safe_globals
    except ImportError:  # an older transformers: torch's own allow-list only
        import contextlib

        safe_globals = contextlib.nullcontext
    folder = Path(folder)
    for pattern in PICKLED:
        for path in sorted(folder.glob(pattern)):
            try:
                with safe_globals():
                    try:
                        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
                    except RuntimeError as err:
                        if "mmap" not in str(err):
                            raise
                        torch.load(path, map_location="cpu", weights_only=True)  # an old, non-zip file
            except Exception as err:  # noqa: BLE001  (any failure to read it plainly is a refusal)
                reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
                raise ModelError(
                    f"not a plain tensor file, refused before resuming ({type(err).__name__}: "
                    f"{reason}); delete {folder.name}/ to restart from the last good state, or "
                    "re-run without --resume",
                    file=path,
                ) from None
