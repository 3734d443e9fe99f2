"""The shared base of every gradient unlearning method: a thin ``transformers.Trainer`` subclass.

A method subclasses ``UnlearnTrainer`` and defines only ``forget_loss`` (its term on the forget batch).
Everything else is written once here: the retain term chosen by the registry (``none``; ``gdr`` = NLL on
the retain batch; ``klr`` = KL(p_ref || p_theta) on the retain batch), the frozen reference model (a copy
of the start model, a previous stage's model, or the LoRA base with the adapter switched off), the
NaN/Inf guard, and the components of the loss in the logs. The Trainer keeps the optimizer, clipping,
checkpoints, resume and accelerate / DDP / FSDP / DeepSpeed.
"""

from __future__ import annotations

import contextlib
import math

import torch
from transformers import Trainer

from musebench.errors import TrainingError
from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig
from musebench.unlearn.data import group

RETAIN_TERMS = ("none", "gdr", "klr")


class UnlearnTrainer(Trainer):
    """Loss = forget term (subclass) + alpha x retain term (shared); a per-batch mean, scaled by the Trainer
    for gradient accumulation."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args, unlearn_config: UnlearnConfig, retain: str = "none",
                 reference: torch.nn.Module | None = None, **kwargs):
        if retain not in RETAIN_TERMS:
            raise ValueError(f"retain term must be one of {RETAIN_TERMS}, got {retain!r}")
        super().__init__(*args, **kwargs)
        self.unlearn_config = unlearn_config
        self.retain = retain
        self.reference = reference
        if reference is not None:
            self.reference = self._prepare_reference(reference)
        self._components: dict[str, list[float]] = {}

    # ----- what a method defines -------------------------------------------------------------------
    def forget_loss(self, model, forget: dict, retain: dict | None = None) -> torch.Tensor:
        """The method's term on a forget batch (``input_ids``, ``attention_mask``, ``labels``): a scalar.

        ``retain`` is the paired retain batch when the method reads retain text itself (RMU)."""
        raise NotImplementedError

    # ----- the shared machinery --------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
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
            return losses.nll(logits, retain["labels"])
        ref_logits = self.reference_logits(model, retain)
        if self.unlearn_config.loss_form == "original":
            return losses.kl_retain_original(ref_logits, logits, retain["attention_mask"])
        return losses.kl_retain(ref_logits, logits, retain["attention_mask"])

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
        reference.eval()
        reference.requires_grad_(False)
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return self.accelerator.prepare_model(reference, evaluation_mode=True)
        return reference.to(self.args.device)

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
                field="loss", value=float(loss.detach().item()))

    def _record(self, name: str, value: torch.Tensor) -> None:
        self._components.setdefault(name, []).append(float(value.detach().item()))

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            for name, values in self._components.items():
                if values:
                    logs[name] = sum(values) / len(values)
            self._components = {}
        super().log(logs, start_time)
