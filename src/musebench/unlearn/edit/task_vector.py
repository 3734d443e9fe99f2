"""Task Vector negation (Ilharco et al. 2023) as MUSE runs it: fine-tune on forget once, then subtract.

    θ_α = θ_target − α · (θ_ft − θ_target)                           (MUSE §5, "Task Vector")

θ_ft is the target fine-tuned on the forget set with plain NLL (:mod:`musebench.unlearn.finetune`, cached),
so every α in ``config.alphas`` (1, 2, 4, … 512 in the paper) costs one weight update and one save, no
training. Each α becomes a standard Hugging Face directory ``alpha-<α>/``.

The original MUSE code reloaded the edited weights in a way that silently kept the target's; here every
checkpoint is read back from disk and compared with the edit, and a checkpoint that equals the target (for
α > 0) or differs from the computed edit is an error, never a result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from musebench.errors import ModelError, TrainingError
from musebench.io import atomic_directory

logger = logging.getLogger(__name__)


def negate_task_vector(
    target: Mapping[str, torch.Tensor], finetuned: Mapping[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """``θ_target − α (θ_ft − θ_target)`` tensor by tensor (float32 arithmetic, result in the target's dtype)."""
    if set(target) != set(finetuned):
        only_t = sorted(set(target) - set(finetuned))[:3]
        only_f = sorted(set(finetuned) - set(target))[:3]
        raise ModelError(
            f"target and fine-tuned weights differ in names (target only: {only_t}, fine-tuned only: {only_f})"
        )
    out = {}
    for name, t in target.items():
        f = finetuned[name]
        if f.shape != t.shape:
            raise ModelError(f"shape mismatch for '{name}': {tuple(t.shape)} vs {tuple(f.shape)}")
        out[name] = (t.float() - alpha * (f.float().to(t.device) - t.float())).to(t.dtype)
    return out


class TaskVectorEditor:
    """Holds θ_target and the task vector Δ = θ_ft − θ_target of one model, and writes θ_α for any α.

    Memory: the model being edited, a copy of θ_target and Δ: three copies (a 7B model: ~40 GB of CPU RAM
    in bf16; 54 GB when θ_ft was saved in fp32). Δ is written into the fine-tuned model's own tensors, in
    their precision, which are therefore consumed: no fourth copy is ever allocated.
    """

    def __init__(self, model, finetuned_model):
        self.model = model
        params = dict(model.named_parameters())
        ft_params = dict(finetuned_model.named_parameters())
        if set(params) != set(ft_params):
            raise ModelError("the fine-tuned model's parameters do not match the target's")
        self.base = {n: p.detach().clone() for n, p in params.items()}
        self.delta = {}
        for name, p in params.items():
            f = ft_params[name]
            if f.shape != p.shape:
                raise ModelError(f"shape mismatch for '{name}': {tuple(p.shape)} vs {tuple(f.shape)}")
            delta = f.detach().float().to(p.device) - p.detach().float()
            if f.device == delta.device:
                with torch.no_grad():
                    f.copy_(delta)  # reuse the fine-tuned tensor's memory (and precision) for Δ
                delta = f.detach()
            else:
                delta = delta.to(p.dtype)
            self.delta[name] = delta
        if all(not bool(d.any()) for d in self.delta.values()):
            raise TrainingError(
                "the fine-tuned model equals the target (fine-tuning changed no weight), so "
                "the task vector is zero; check the fine-tuning lr/epochs"
            )

    @torch.no_grad()
    def apply(self, alpha: float) -> None:
        """Set the model's weights to θ_α in place, and check that they moved."""
        for name, p in self.model.named_parameters():
            p.copy_((self.base[name].float() - alpha * self.delta[name].float()).to(p.dtype))
        if alpha != 0 and not self.differs_from_target():
            raise TrainingError(f"task vector edit with alpha={alpha} left every weight equal to the target")

    def differs_from_target(self) -> bool:
        return any(not torch.equal(p, self.base[n]) for n, p in self.model.named_parameters())

    def save(self, alpha: float, out_dir: str | Path, tokenizer=None) -> Path:
        """Apply θ_α, write it atomically as a Hugging Face directory, and verify what was written."""
        self.apply(alpha)
        out = Path(out_dir)
        with atomic_directory(out) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            verify_saved_edit(tmp, self.model, self.base, alpha)  # a wrong checkpoint never gets its name
        return out


def read_safetensors_dir(path: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a (possibly sharded) safetensors model directory, memory-mapped."""
    from safetensors import safe_open

    tensors: dict[str, torch.Tensor] = {}
    files = sorted(Path(path).glob("*.safetensors"))
    if not files:
        raise ModelError("no *.safetensors weights written", file=path)
    for file in files:
        with safe_open(str(file), framework="pt") as fh:
            for key in fh.keys():
                tensors[key] = fh.get_tensor(key)
    return tensors


def verify_saved_edit(path: Path, model, base: Mapping[str, torch.Tensor], alpha: float) -> None:
    """Read a checkpoint back and require it to hold the edited weights (and, for α > 0, not the target's)."""
    saved = read_safetensors_dir(path)
    params = dict(model.named_parameters())
    matched = [n for n in params if n in saved]
    if not matched:
        raise TrainingError("none of the model's parameter names were found in the saved checkpoint", file=path)
    moved = False
    for name in matched:
        on_disk = saved[name]
        if not torch.equal(on_disk, params[name].detach().to("cpu", on_disk.dtype)):
            raise TrainingError(f"saved weight '{name}' differs from the task-vector edit", file=path)
        moved = moved or not torch.equal(on_disk, base[name].to("cpu", on_disk.dtype))
    if alpha != 0 and not moved:
        raise TrainingError(f"saved checkpoint for alpha={alpha} equals the target model", file=path)


def run_task_vector(
    model_dir, corpus, config, out_dir, forget_split: str = "forget", reference_dir=None, resume: bool = False
):
    """Fine-tune on the forget set once (cached), then write ``alpha-<α>/`` for every α of ``config.alphas``.

    ``reference_dir`` is unused (Task Vector has no reference model); it is accepted for the common signature.
    In a distributed run every process trains θ_ft together, then the main process edits and saves.
    """
    from musebench.console import progress_bar
    from musebench.unlearn.edit.course import run_alpha_edit
    from musebench.unlearn.edit.finetune import load_target_like, weights_dtype

    def write_alphas(ft_path, checkpoints) -> None:
        target, finetuned = load_target_like(model_dir, ft_path, device="cpu", dtype=weights_dtype(config.dtype))
        editor = TaskVectorEditor(target.model, finetuned.model)
        del finetuned  # its tensors now hold the task vector (owned by the editor)
        for alpha, ckpt in zip(
            progress_bar(config.alphas, desc="task vector", disable=not config.progress), checkpoints
        ):
            editor.save(alpha, ckpt.path, tokenizer=target.tokenizer)

    return run_alpha_edit(model_dir, corpus, config, out_dir, forget_split, resume, write_alphas)
