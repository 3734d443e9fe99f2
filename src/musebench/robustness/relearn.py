"""Brief fine-tuning of a model in memory: the relearning attack's few steps on a small set of documents.

The attacker's budget is a number of optimizer steps (``steps`` x ``batch_size`` documents) at a constant
learning rate, the setting of Hu et al. (ICLR 2025). Nothing is written: the fine-tuned model is evaluated
where it is and dropped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from musebench.errors import ConfigError, TrainingError


@dataclass(frozen=True)
class RelearnBudget:
    """The attacker's budget (``musebench attack relearn`` and an experiment's ``robustness.relearn``)."""

    steps: int = field(default=10, metadata={"help": "optimizer steps"})
    learning_rate: float = field(default=1e-3, metadata={"help": "constant learning rate"})
    batch_size: int = field(default=4, metadata={"help": "documents per step"})
    max_len: int = field(default=128, metadata={"help": "tokens per document (BOS and EOS count)"})
    seed: int = field(default=0, metadata={"help": "seed of the data order"})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            if (
                isinstance(getattr(self, name), bool)
                or not isinstance(getattr(self, name), int)
                or getattr(self, name) < 1
            ):
                raise ConfigError(
                    "must be an integer >= 1", field=f"--{name.replace('_', '-')}", value=getattr(self, name)
                )
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
            raise ConfigError("must be a learning rate in (0, 1)", field="--learning-rate", value=lr)
        if isinstance(self.max_len, bool) or not isinstance(self.max_len, int) or self.max_len < 8:
            raise ConfigError("must be an integer >= 8", field="--max-len", value=self.max_len)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RelearnAttack(RelearnBudget):
    """The budget and the share of the forget set's units (people, else documents) relearned on."""

    fraction: float = field(default=0.25, metadata={"help": "share of the forget people / documents relearned"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.fraction, bool) or not isinstance(self.fraction, (int, float)) or not 0 < self.fraction < 1:
            raise ConfigError("must be a fraction strictly between 0 and 1", field="--fraction", value=self.fraction)

    def budget(self, seed: int) -> RelearnBudget:
        return RelearnBudget(
            steps=self.steps,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            max_len=self.max_len,
            seed=seed,
        )


#: What the attacker relearns on: a slice of the forget set (its rest is scored) or as many retain documents.
RelearnOn = Literal["forget-slice", "retain"]


@dataclass(frozen=True)
class RelearnRun(RelearnAttack):
    """One relearning attack as ``musebench attack relearn`` runs it: the attack on one kind of text."""

    relearn_on: RelearnOn = field(
        default="forget-slice", metadata={"help": "relearn on a forget-set slice (forget-slice) or on retain text"}
    )


class _Texts:
    """Map-style dataset: document ``i`` tokenized (BOS ... EOS), cut to ``max_len``."""

    def __init__(self, tokenizer, texts, max_len: int):
        ids = tokenizer(list(texts), add_special_tokens=True, truncation=True, max_length=max_len - 1)["input_ids"]
        self.rows = [row + [tokenizer.eos_token_id] for row in ids]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.rows[i]}


def _collate(pad_id: int):
    import torch

    def collate(batch: list[dict]) -> dict:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):  # right padding: positions stay those of training
            ids[i, : len(b["input_ids"])] = torch.tensor(b["input_ids"])
            mask[i, : len(b["input_ids"])] = 1
        labels = ids.masked_fill(mask == 0, -100)  # pads never enter the loss
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    return collate


def relearn_in_memory(
    model,
    tokenizer,
    texts,
    budget: RelearnBudget,
    device: str,
    work_dir,
    progress: bool = False,
    desc: str | None = None,
) -> list[float]:
    """Fine-tune ``model`` in place for ``budget.steps`` steps on ``texts`` (cycled); returns the losses.
    ``desc``: in a log (stderr not a terminal), a progress line under this name every ~30 s of steps."""
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from musebench.console import is_terminal
    from musebench.models.loading import padding_id

    progress = progress and is_terminal()  # in a log, no redrawn step bar and no loss dict per step
    if not texts:
        raise ConfigError("nothing to relearn on", field="--relearn-on")
    dataset = _Texts(tokenizer, texts, budget.max_len)
    epochs = math.ceil(budget.steps * budget.batch_size / len(dataset))
    args = TrainingArguments(
        output_dir=str(work_dir),
        max_steps=budget.steps,
        num_train_epochs=epochs,
        per_device_train_batch_size=budget.batch_size,
        learning_rate=budget.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        seed=budget.seed,
        data_seed=budget.seed,
        use_cpu=device == "cpu",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=not progress,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
    )
    model.train()
    collate = _collate(padding_id(tokenizer, model))
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate)
    if not progress:
        trainer.remove_callback(PrinterCallback)  # the losses are returned, not printed step by step
    if desc is not None and not is_terminal():
        from musebench.console import trainer_progress

        trainer.add_callback(trainer_progress(desc))
    trainer.train()
    model.eval()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    if not all(math.isfinite(x) for x in losses):
        raise TrainingError(
            "relearning loss became non-finite; lower the learning rate",
            field="--learning-rate",
            value=budget.learning_rate,
        )
    return losses
