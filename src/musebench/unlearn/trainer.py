"""The shared base of every gradient unlearning method: a thin ``transformers.Trainer`` subclass.

A method subclasses ``UnlearnTrainer`` and defines only ``forget_loss`` (its term on the forget batch).
Everything else is written once here: the retain term chosen by the registry (``none``; ``gdr`` = NLL on
the retain batch; ``klr`` = KL(p_ref || p_theta) on the retain batch), the frozen reference model (a copy
of the start model, a previous stage's model, or the LoRA base with the adapter switched off), the
NaN/Inf guard, and the components of the loss in the logs. The Trainer keeps the optimizer, clipping,
checkpoints, resume and accelerate / DDP / FSDP / DeepSpeed.

Exact means under any split of the step: every mean of the loss (over tokens, positions or sequences) is
divided by the count of the whole optimizer step (all micro-batches of gradient accumulation, summed over
all processes), counted once per step in ``get_batch_samples`` (the hook where the Trainer counts
``num_items_in_batch``; it counts only a ``labels`` key, which our paired batches do not have). Each
process's loss is then its share of the step's sum; DDP / FSDP / DeepSpeed average gradients over
processes, so the share is multiplied by the number of processes. One process x batch 2, two x batch 1 and
one x batch 1 x accumulation 2 then take the same step even when a split's last window is short.
"""

from __future__ import annotations

import contextlib
import copy
import math

import torch
from transformers import Trainer

from musebench.errors import TrainingError
from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig
from musebench.unlearn.data import group
from musebench.unlearn.reference import needs_fresh_load, prepare_reference

RETAIN_TERMS = ("none", "gdr", "klr")
GROUPS = ("forget", "retain")
COUNTS = ("targets", "positions", "sequences")


def batch_counts(batch: dict) -> dict[str, torch.Tensor]:
    """What a collated batch holds, per group: next-token targets, real positions, sequences."""
    counts = {}
    for name in GROUPS:
        if f"{name}_input_ids" not in batch:
            continue
        counts[f"{name}_targets"] = losses.target_count(batch[f"{name}_labels"])
        counts[f"{name}_positions"] = batch[f"{name}_attention_mask"].sum()
        counts[f"{name}_sequences"] = torch.tensor(batch[f"{name}_input_ids"].shape[0])
    return counts


class UnlearnTrainer(Trainer):
    """Loss = forget term (subclass) + alpha x retain term (shared); each a mean over the whole optimizer step
    (``normaliser``), so the Trainer must not rescale it for gradient accumulation."""

    loss_is_scaled_for_ga = True

    def __init__(
        self,
        *args,
        unlearn_config: UnlearnConfig,
        retain: str = "none",
        reference: torch.nn.Module | None = None,
        copy_start_as_reference: bool = False,
        start_model_dir=None,
        **kwargs,
    ):
        """``copy_start_as_reference``: the reference is a frozen copy of the model at the start, taken here,
        after the Trainer has moved the model to its device, so the host never holds two copies. Under
        ZeRO-3 the start model is partitioned and cannot be copied: the reference is then loaded from
        ``start_model_dir`` (same weights). Either way it is placed / sharded by ``reference.py``."""
        if retain not in RETAIN_TERMS:
            raise ValueError(f"retain term must be one of {RETAIN_TERMS}, got {retain!r}")
        if copy_start_as_reference and reference is not None:
            raise ValueError("pass a reference model or copy_start_as_reference, not both")
        super().__init__(*args, **kwargs)
        self.unlearn_config = unlearn_config
        self.retain = retain
        if copy_start_as_reference:
            if needs_fresh_load(self.accelerator) and start_model_dir is not None:
                from musebench.models.loading import load_model

                dtype = next(self.accelerator.unwrap_model(self.model).parameters()).dtype
                reference = load_model(start_model_dir, device="cpu", dtype=dtype).model
            else:
                reference = copy.deepcopy(self.accelerator.unwrap_model(self.model))
        self.reference = reference
        if reference is not None:
            self.reference = self._prepare_reference(reference)
        self._components: dict[str, torch.Tensor] = {}
        self._component_steps = 0
        self._normalisers: dict[str, torch.Tensor] = {}

    # ----- what a method defines -------------------------------------------------------------------
    def forget_loss(self, model, forget: dict, retain: dict | None = None) -> torch.Tensor:
        """The method's term on a forget batch (``input_ids``, ``attention_mask``, ``labels``): a scalar.

        ``retain`` is the paired retain batch when the method reads retain text itself (RMU)."""
        raise NotImplementedError

    # ----- the shared machinery --------------------------------------------------------------------
    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The micro-batches of one optimizer step and their counts (``step_normalisers``)."""
        batch_samples, _ = super().get_batch_samples(epoch_iterator, num_batches, device)
        self._component_steps += 1
        return batch_samples, self.step_normalisers(batch_samples, device)

    def step_normalisers(self, batch_samples: list[dict], device) -> dict[str, torch.Tensor] | None:
        """Counts of the step summed over micro-batches and processes, divided by the number of processes
        (gradients are averaged over processes, so each process divides its sums by this)."""
        if not batch_samples:
            return None
        names = sorted(batch_counts(batch_samples[0]))
        totals = torch.stack([sum(batch_counts(b)[n] for b in batch_samples) for n in names]).to(device)
        totals = totals.to(torch.float64 if device.type == "cpu" else torch.float32)
        processes = self.accelerator.num_processes
        if processes > 1:
            totals = self.accelerator.reduce(totals, reduction="sum")
        return {n: totals[i] / processes for i, n in enumerate(names)}

    def normaliser(self, group_name: str, kind: str) -> torch.Tensor:
        """The divisor of a mean over ``kind`` (targets, positions, sequences) of ``group_name`` this step."""
        return self._normalisers[f"{group_name}_{kind}"]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if num_items_in_batch is None:  # outside the training loop: means over this batch (x accumulation)
            accumulation = getattr(self, "current_gradient_accumulation_steps", 1)
            num_items_in_batch = {n: (c * accumulation).to(self.args.device) for n, c in batch_counts(inputs).items()}
        self._normalisers = num_items_in_batch
        retain_batch = group(inputs, "retain") if "retain_input_ids" in inputs else None
        forget = self.forget_loss(model, group(inputs, "forget"), retain_batch)
        total = forget
        self._record("forget_loss", forget)
        if self.retain != "none":
            retain = self.retain_loss(model, retain_batch)
            self._record("retain_loss", retain)
            total = total + self.unlearn_config.alpha * retain
        self.check_finite(total)
        return (total, None) if return_outputs else total

    def retain_loss(self, model, retain: dict) -> torch.Tensor:
        """GDR: NLL on the retain batch. KLR: KL from the reference's next-token distributions."""
        logits = self.logits(model, retain)
        if self.retain == "gdr":
            return losses.nll(logits, retain["labels"], self.normaliser("retain", "targets"))
        ref_logits = self.reference_logits(model, retain)
        if self.unlearn_config.loss_form == "original":
            return losses.kl_retain_original(
                ref_logits, logits, retain["attention_mask"], self.normaliser("retain", "sequences")
            )
        return losses.kl_retain(ref_logits, logits, retain["attention_mask"], self.normaliser("retain", "positions"))

    @staticmethod
    def logits(model, batch: dict) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits

    def reference_context(self, model):
        """A context in which ``reference_model(model)`` is the frozen reference."""
        if self.reference is None:
            unwrapped = self.accelerator.unwrap_model(model)
            if not hasattr(unwrapped, "disable_adapter"):
                raise RuntimeError("no reference model: pass one, or train with LoRA")
            return unwrapped.disable_adapter()
        return contextlib.nullcontext()

    def reference_model(self, model):
        return self.reference if self.reference is not None else model

    @torch.no_grad()
    def reference_logits(self, model, batch: dict) -> torch.Tensor:
        with self.reference_context(model):
            return self.logits(self.reference_model(model), batch)

    def _prepare_reference(self, reference: torch.nn.Module) -> torch.nn.Module:
        """Frozen, on this process's device; sharded like the trained model under FSDP / ZeRO-3."""
        return prepare_reference(reference, self.accelerator, self.args)

    def check_finite(self, loss: torch.Tensor) -> None:
        """Stop with a TrainingError before a NaN/Inf loss reaches the weights (every rank stops together)."""
        bad = (~torch.isfinite(loss.detach())).float().reshape(1)
        if self.accelerator.num_processes > 1:
            bad = self.accelerator.reduce(bad, reduction="sum")
        if bad.item() > 0:
            epoch = self.state.epoch or 0.0
            done = math.floor(epoch + 1e-6)
            kept = f"the last good checkpoint is epoch-{done}" if done else "no epoch finished"
            raise TrainingError(
                f"loss became {loss.detach().item()} at step {self.state.global_step + 1} (epoch {epoch:.2f}); "
                f"training stopped and {kept}; try a lower --lr or --loss-form textbook",
                field="loss",
                value=float(loss.detach().item()),
            )

    def _record(self, name: str, value: torch.Tensor) -> None:
        """Add a component's share of the step (summed over micro-batches; averaged over processes at log)."""
        value = value.detach().reshape(1).to(torch.float64 if value.device.type == "cpu" else torch.float32)
        self._components[name] = self._components.get(name, 0) + value

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:  # every process logs at the same step, so the reduce below meets on all of them
            steps = max(1, self._component_steps)
            for name in sorted(self._components):
                value = self._components[name]
                if self.accelerator.num_processes > 1:
                    value = self.accelerator.reduce(value, reduction="mean")
                logs[name] = float(value.item()) / steps
            self._components = {}
            self._component_steps = 0
        super().log(logs, start_time)
