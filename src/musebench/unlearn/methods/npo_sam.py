"""NPO-SAM: NPO whose forget gradient is taken at sharpness-aware perturbed weights (Fan et al. 2025).

Fan, Jia, Zhang, Ramakrishna, Hong, Liu 2025, "Towards LLM unlearning resilient to relearning attacks: a
sharpness-aware minimization perspective and beyond" (ICML 2025, arXiv 2502.05374): unlearning is made robust
to a relearning attack by minimising the worst forget loss within a ball of radius rho around the weights,
``min_theta max_{||delta|| <= rho} L_f(theta + delta) + alpha L_r(theta)``. SAM's first-order answer
(Foret et al. 2021, arXiv 2010.01412) is ``delta = rho g / ||g||`` with ``g = grad L_f(theta)``; the update then
uses ``grad L_f(theta + delta)`` for the forget term and the plain gradient of the retain term at ``theta``.
Their MUSE runs use rho 0.01 (``rho``) with NPO_GDR's recipe.

Exact under any split of the step: ``delta`` is computed once per optimizer step from the gradient of the
whole step's forget loss (``get_batch_samples``, which sees every micro-batch of the step before the first is
trained), so batch 2 and batch 1 x accumulation 2 perturb the same way and sum the same gradients. Each
micro-batch's ``training_step`` then runs the forget term at ``theta + delta`` (weights restored from a copy
afterwards, bit for bit) and the retain term at ``theta``; both backward passes add to the accumulated
gradients, so gradient accumulation, clipping and the optimizer are the Trainer's own. Cost: one more forward
and backward of the forget term per micro-batch.

Under DDP the perturbation pass runs on the unwrapped module (no gradient hooks fire) and ``g`` is averaged
over processes explicitly, so every process perturbs by the same ``delta`` and the replicas stay identical; the
perturbed forget pass runs under ``no_sync``, so DDP all-reduces once per step, on the retain pass of the last
micro-batch, as for every other method. Without a retain term the forget pass is the step's only backward and
syncs itself. FSDP and DeepSpeed shard the weights, so a full ``delta`` cannot be formed: they are refused.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

from musebench.errors import ConfigError
from musebench.unlearn import losses
from musebench.unlearn.config import check_number
from musebench.unlearn.data import group
from musebench.unlearn.methods.npo import NPOConfig, NPOTrainer

SUPPORTED_DISTRIBUTION = ("NO", "MULTI_CPU", "MULTI_GPU", "MULTI_XPU", "MULTI_NPU", "MULTI_MLU", "MULTI_HPU")


@dataclass
class NPOSAMConfig(NPOConfig):
    """NPO-SAM (Fan et al. 2025, arXiv 2502.05374): the radius of the weight perturbation."""

    rho: float = field(
        default=0.01,
        metadata={
            "help": "radius rho of SAM's weight perturbation before the forget gradient (0.01 as Fan et al. 2025 on "
            "MUSE; 0 is plain NPO)"
        },
    )

    def __post_init__(self):
        self.reject(check_number(self, "rho", 0))
        super().__post_init__()


class NPOSAMTrainer(NPOTrainer):
    """NPO (any retain term) with the forget gradient at ``theta + rho g / ||g||``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = str(getattr(self.accelerator.distributed_type, "value", self.accelerator.distributed_type))
        if kind not in SUPPORTED_DISTRIBUTION:
            raise ConfigError(
                f"NPO-SAM needs whole weights on every process (one process or DDP), not {kind}",
                field="method",
                value=self.unlearn_config.method,
            )
        self._delta: list[torch.Tensor] | None = None
        self._part: str | None = None

    # ----- once per optimizer step: delta from the whole step's forget gradient ------------------------------
    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batch_samples, normalisers = super().get_batch_samples(epoch_iterator, num_batches, device)
        self._delta = None
        if batch_samples and self.unlearn_config.rho > 0:
            self._delta = self.perturbation(batch_samples, normalisers)
        return batch_samples, normalisers

    def trained_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.accelerator.unwrap_model(self.model).parameters() if p.requires_grad]

    def perturbation(self, batch_samples: list[dict], normalisers: dict) -> list[torch.Tensor]:
        """``rho g / ||g||`` for ``g`` the gradient of the step's forget loss at the current weights."""
        base = self.accelerator.unwrap_model(self.model)
        base.train()
        params = self.trained_parameters()
        grads = [torch.zeros_like(p) for p in params]
        self._normalisers = normalisers
        for batch in batch_samples:
            inputs = self._prepare_inputs(batch)
            with self.compute_loss_context_manager():
                loss = self.forget_loss(base, group(inputs, "forget"))
            self._record("forget_loss", loss)  # NPO's loss at theta, comparable to plain NPO's log
            for total, g in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
                if g is not None:
                    total.add_(g.to(total.dtype))
        if self.accelerator.num_processes > 1:
            flat = self.accelerator.reduce(torch.cat([g.reshape(-1) for g in grads]), reduction="mean")
            grads = [chunk.view_as(g) for chunk, g in zip(flat.split([g.numel() for g in grads]), grads)]
        return losses.sam_perturbation(grads, self.unlearn_config.rho)

    # ----- each micro-batch: forget term at theta + delta, retain term at theta ----------------------------
    def training_step(self, model, inputs, num_items_in_batch=None):
        if self._delta is None or num_items_in_batch is None:
            return super().training_step(model, inputs, num_items_in_batch)
        sync_on_forget = self.retain == "none"
        with self._perturbed(), contextlib.nullcontext() if sync_on_forget else self.accelerator.no_sync(model):
            self._part = "forget"
            loss = super().training_step(model, inputs, num_items_in_batch)
        if not sync_on_forget:
            self._part = "retain"
            loss = loss + super().training_step(model, inputs, num_items_in_batch)
        self._part = None
        return loss

    @contextlib.contextmanager
    def _perturbed(self):
        params = self.trained_parameters()
        with torch.no_grad():
            saved = [p.detach().clone() for p in params]
            for p, d in zip(params, self._delta):
                p.add_(d)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, s in zip(params, saved):
                    p.copy_(s)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self._part is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        self._normalisers = num_items_in_batch
        if self._part == "forget":
            loss = self.forget_loss(model, group(inputs, "forget"))
            self._record("sam_forget_loss", loss)  # at theta + delta: what the update descends
        else:
            loss = self.retain_loss(model, group(inputs, "retain"))
            self._record("retain_loss", loss)
            loss = self.unlearn_config.alpha * loss
        self.check_finite(loss)
        return (loss, None) if return_outputs else loss
