"""Trainer callbacks: redraw the retain pairing each epoch, save each epoch as a model, log a line per epoch."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback


def completed_epochs(epoch: float | None) -> int:
    """Whole epochs done at a Trainer ``state.epoch`` (a float that is exact at epoch boundaries)."""
    return math.floor((epoch or 0.0) + 1e-6)


def at_epoch_boundary(epoch: float | None) -> bool:
    return epoch is not None and abs(epoch - round(epoch)) < 1e-6 and round(epoch) > 0


class EpochDataCallback(TrainerCallback):
    """Tell the dataset which epoch starts (also right after a resume), so the pairing is reproducible."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.dataset.set_epoch(completed_epochs(state.epoch))


class EpochSaveCallback(TrainerCallback):
    """At the end of every full epoch call ``save(label)`` with label ``epoch-K``.

    The save happens at the epoch's last optimiser step (``on_step_end``), before the Trainer writes that
    step's checkpoint: a run killed while the epoch model is written resumes from the checkpoint before it and
    writes the model again. Saved on ``on_epoch_end`` instead, a checkpoint taken at that step would come
    first, and a resume from it would never write the epoch's model. A run that stops mid-epoch
    (``max_steps``) gets a final ``step-N`` checkpoint instead.
    """

    def __init__(self, save: Callable[[str], None]):
        self.save = save
        self.saved: set[str] = set()

    def _save_epoch(self, state) -> None:
        label = f"epoch-{round(state.epoch)}"
        if label not in self.saved:
            self.saved.add(label)
            self.save(label)

    def on_step_end(self, args, state, control, **kwargs):
        if at_epoch_boundary(state.epoch):
            self._save_epoch(state)

    def on_epoch_end(self, args, state, control, **kwargs):
        if at_epoch_boundary(state.epoch):
            self._save_epoch(state)

    def on_train_end(self, args, state, control, **kwargs):
        if state.global_step > 0 and not at_epoch_boundary(state.epoch):
            self.save(f"step-{state.global_step}")


LOGGED_PARTS = ("loss", "forget_loss", "retain_loss", "rmu_forget", "rmu_retain", "grad_norm")


def epoch_summaries(log_history: list[dict]) -> list[dict]:
    """Mean of every logged loss component per epoch, from the Trainer's ``log_history``."""
    sums: dict[int, dict[str, list[float]]] = {}
    for entry in log_history:
        if "loss" not in entry or "epoch" not in entry:
            continue
        k = max(1, math.ceil(entry["epoch"] - 1e-6))
        bucket = sums.setdefault(k, {})
        for key in LOGGED_PARTS:
            if key in entry:
                bucket.setdefault(key, []).append(float(entry[key]))
    return [
        {"epoch": k, "steps": len(v["loss"]), **{key: sum(vals) / len(vals) for key, vals in v.items()}}
        for k, v in sorted(sums.items())
    ]


class EpochLogCallback(TrainerCallback):
    """One clear line per finished epoch: epoch, mean loss and its parts."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.started: float | None = None
        self.first_epoch = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        self.first_epoch = round(state.epoch or 0)  # a resumed run times only the epochs it runs

    def on_epoch_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not at_epoch_boundary(state.epoch):
            return
        k = round(state.epoch)
        summary = next((s for s in epoch_summaries(state.log_history) if s["epoch"] == k), None)
        if summary is None:
            return
        parts = [f"mean loss {summary['loss']:.4f}"]
        for key in LOGGED_PARTS[1:-1]:
            if key in summary:
                parts.append(f"{key.replace('_loss', '')} {summary[key]:.4g}")
        total = math.ceil(args.num_train_epochs) if args.max_steps <= 0 else "?"
        self.write(f"epoch {k}/{total}: " + ", ".join(parts) + self._timing(k, total))

    def _timing(self, k: int, total) -> str:
        """`` (12s elapsed, ~24s left)``: how long the run has taken and, per epoch so far, still takes."""
        if self.started is None:
            return ""
        from musebench.console import format_duration

        elapsed = time.monotonic() - self.started
        text = f" ({format_duration(elapsed)} elapsed"
        done = k - self.first_epoch
        if isinstance(total, int) and done > 0 and k < total:
            text += f", ~{format_duration(elapsed / done * (total - k))} left"
        return text + ")"


class StepBarCallback(ProgressCallback):
    """The Trainer's tqdm bar without a printed dict per step (the per-epoch line says what matters)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        return None
