"""Train a causal LM from scratch on packed documents with the transformers ``Trainer``.

Documents are tokenized once (BOS ... EOS), then for every epoch shuffled with the seed and concatenated into
``block_size`` blocks: no padding is ever trained on, and each epoch sees the documents in a new order and at
new offsets. All epochs' blocks form one dataset trained in a single pass, so the scheduler sees every step.

A run checkpoints into its work directory about ten times; a run killed part-way and started again with the
same work directory resumes from the last checkpoint (the Trainer restores weights, optimizer, scheduler, RNG
and data position) instead of starting from step 0.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass

from musebench.errors import TrainingError
from musebench.models.recipe import BuildRecipe


@dataclass
class TrainStats:
    steps: int
    tokens_per_epoch: int
    final_loss: float  # mean training loss over the last 10% of steps
    losses: list[float]  # logged training losses
    resumed_from: int = 0  # the step the run resumed from (0: a fresh run)


def tokenize_documents(tokenizer, docs: list[str]) -> list[list[int]]:
    """Token ids of each document with BOS first and EOS last."""
    ids = tokenizer(docs, add_special_tokens=True)["input_ids"]
    return [row + [tokenizer.eos_token_id] for row in ids]


def pack_epochs(
    doc_ids: list[list[int]], block_size: int, epochs: int, seed: int, n_blocks: int | None = None
) -> list[list[int]]:
    """``epochs`` shuffled passes over the documents, each concatenated and cut into full blocks.

    The ragged tail of each pass is dropped (less than one block per epoch, and a different one each time).
    ``n_blocks``: pass over the documents until exactly that many blocks are made instead (the retrain model
    takes as many steps as the target, whatever its own text's length).
    """
    rng = random.Random(seed)
    blocks: list[list[int]] = []
    passes = 0
    while (passes < epochs) if n_blocks is None else (len(blocks) < n_blocks):
        order = list(range(len(doc_ids)))
        rng.shuffle(order)
        stream = [t for i in order for t in doc_ids[i]]
        new = [stream[i : i + block_size] for i in range(0, len(stream) - block_size + 1, block_size)]
        if not new:
            break
        blocks += new
        passes += 1
    if not blocks:
        raise TrainingError("training text is shorter than one block", field="recipe.block_size", value=block_size)
    return blocks[:n_blocks] if n_blocks is not None else blocks


def count_blocks(doc_ids: list[list[int]], block_size: int, epochs: int) -> int:
    """How many blocks ``pack_epochs`` makes of these documents (every pass has the same length)."""
    return epochs * (sum(len(d) for d in doc_ids) // block_size)


class _Blocks:
    """A map-style dataset of packed blocks (labels = inputs; the model shifts them)."""

    def __init__(self, blocks: list[list[int]]):
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict:
        import torch

        ids = torch.tensor(self.blocks[i], dtype=torch.long)
        return {"input_ids": ids, "labels": ids}


def _trainer_class():
    from transformers import Trainer

    class FiniteLossTrainer(Trainer):
        """Stops the run with ``TrainingError`` at the first NaN / Inf loss instead of training on."""

        def training_step(self, model, inputs, num_items_in_batch=None):
            loss = super().training_step(model, inputs, num_items_in_batch)
            if not math.isfinite(float(loss.detach())):
                raise TrainingError(
                    f"loss became {float(loss)} at step {self.state.global_step + 1}; lower the learning rate",
                    field="recipe.lr",
                    value=self.args.learning_rate,
                )
            return loss

    return FiniteLossTrainer


def last_checkpoint(work_dir) -> str | None:
    """The newest complete Trainer checkpoint in ``work_dir`` (None: start from step 0)."""
    from pathlib import Path

    found = [p for p in Path(work_dir).glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    if not found:
        return None
    return str(max(found, key=lambda p: int(p.name.rpartition("-")[2])))


def train_causal_lm(
    model,
    tokenizer,
    docs: list[str],
    recipe: BuildRecipe,
    seed: int,
    device: str,
    work_dir,
    progress: bool = True,
    desc: str = "build",
    *,
    epochs: int | None = None,
    lr: float | None = None,
    n_blocks: int | None = None,
    resume: bool = False,
    callbacks: tuple = (),
) -> TrainStats:
    """Train ``model`` in place on ``docs`` following ``recipe``; returns the loss curve.

    ``epochs`` / ``lr`` replace the recipe's (the base model's pretraining uses its own); ``n_blocks`` fixes
    the number of packed blocks (see ``pack_epochs``). ``resume``: checkpoint into ``work_dir`` and continue
    from its last checkpoint, if any (the caller keys ``work_dir`` by everything that defines the run).
    """
    from transformers import TrainingArguments

    from musebench.console import is_terminal, trainer_progress

    doc_ids = tokenize_documents(tokenizer, docs)
    tokens_per_epoch = sum(len(d) for d in doc_ids)
    dataset = _Blocks(pack_epochs(doc_ids, recipe.block_size, epochs or recipe.epochs, seed, n_blocks))
    steps = math.ceil(len(dataset) / recipe.batch_size)
    args = TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=1,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=lr or recipe.lr,
        lr_scheduler_type=recipe.scheduler,
        warmup_steps=recipe.warmup_ratio,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        bf16=recipe.bf16,
        use_cpu=device == "cpu",
        seed=seed,
        data_seed=seed,
        logging_steps=max(1, steps // 50),
        save_strategy="steps" if resume else "no",
        save_steps=max(1, steps // 10),
        save_total_limit=1,
        report_to="none",
        disable_tqdm=not progress or not is_terminal(),  # no redrawn bar in a log file
        dataloader_pin_memory=False,
    )
    trainer = _trainer_class()(model=model, args=args, train_dataset=dataset, callbacks=list(callbacks))
    if not is_terminal():  # the Trainer would print a dict per logging step instead of its bar
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
        if progress:  # a line every ~30 s: steps, elapsed, time left
            trainer.add_callback(trainer_progress(desc))
    started = time.perf_counter()
    checkpoint = last_checkpoint(work_dir) if resume else None
    resumed_from = int(checkpoint.rpartition("-")[2]) if checkpoint else 0
    if checkpoint and progress:
        print(f"resuming from step {resumed_from} of {steps}", file=sys.stderr, flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    tail = losses[-max(1, len(losses) // 10) :] if losses else [float("nan")]
    if progress and not is_terminal():
        print(
            f"trained {trainer.state.global_step} steps in {time.perf_counter() - started:.1f}s, "
            f"final loss {sum(tail) / len(tail):.4f}",
            file=sys.stderr,
            flush=True,
        )
    return TrainStats(
        steps=trainer.state.global_step,
        tokens_per_epoch=tokens_per_epoch,
        final_loss=sum(tail) / len(tail),
        losses=losses,
        resumed_from=resumed_from,
    )
