"""IdkNLL and IdkDPO: teach the model to refuse on forget text (TOFU's "I don't know" baselines).

Maini et al. 2024 (TOFU, arXiv 2401.06121) replace the answer to a forget question with a refusal; IdkDPO
prefers the refusal to the true answer with DPO (Rafailov et al. 2023, arXiv 2305.18290). MUSE's forget set
is raw text, not question / answer pairs, so musebench makes the pair from each forget window:

- prompt x = the window's first ``prompt_tokens`` tokens (BOS included; at most all but the last token),
- rejected answer y_l = the rest of the window (the text to forget),
- chosen answer y_w = a refusal from ``refusals`` (+ EOS), picked by a hash of the prompt's tokens and the
  seed, so the same window always gets the same refusal whatever the batch split or number of processes.

Only forget-set text is used: the evaluation's KnowMem questions are never trained on (that would make C2
measure the training set). IdkNLL = mean NLL of the refusal tokens given the prompt (a mean over the refusal
tokens of the whole optimizer step); IdkDPO = ``losses.idk_dpo_loss`` with the frozen reference (beta 0.1).
Retain terms (GDR / KLR) come from the shared trainer, as OpenUnlearning's IdkNLL / IdkDPO use them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from musebench.errors import ConfigError, DataError
from musebench.unlearn import losses
from musebench.unlearn.config import UnlearnConfig, check_integer, check_number
from musebench.unlearn.trainer import UnlearnTrainer

IGNORE_INDEX = -100
DEFAULT_REFUSALS = Path(__file__).with_name("idk_refusals.txt")


def read_refusals(path: str | Path | None = None) -> list[str]:
    """The refusal sentences of ``path`` (default: the shipped list); a missing or empty file is a DataError."""
    path = Path(path) if path else DEFAULT_REFUSALS
    if not path.is_file():
        raise DataError("refusal file not found", file=path, field="refusals")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read the refusal file: {err}", file=path, field="refusals") from err
    refusals = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not refusals:
        raise DataError(
            "the refusal file has no refusal (one per line; '#' lines are comments)", file=path, field="refusals"
        )
    return refusals


@dataclass
class IdkConfig(UnlearnConfig):
    """IdkNLL / IdkDPO: the refusal answers and the prompt cut from each forget window."""

    content_fields = ("refusals",)  # the stage key hashes the file's bytes

    refusals: str | None = field(
        default=None,
        metadata={
            "help": "text file of refusal answers, one per line, '#' lines skipped (default: the 40 shipped in "
            "musebench/unlearn/methods/idk_refusals.txt)"
        },
    )
    prompt_tokens: int = field(
        default=32,
        metadata={
            "help": "tokens of each forget window (BOS included) that form the prompt; the rest of the window is the "
            "rejected answer"
        },
    )

    def __post_init__(self):
        self.reject(check_integer(self, "prompt_tokens", 1), _refusal_problem(self.refusals))
        super().__post_init__()


@dataclass
class IdkDPOConfig(IdkConfig):
    """IdkDPO: DPO's beta 0.1."""

    beta: float = field(default=0.1, metadata={"help": "inverse temperature of the DPO term"})

    def __post_init__(self):
        self.reject(check_number(self, "beta", 0, above=True))
        super().__post_init__()


def _refusal_problem(value):
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return ("refusals", value, "must be a file path or unset")
    try:
        read_refusals(value)
    except DataError as err:
        return ("refusals", value, err.message)
    return None


def tokenize_refusals(tokenizer, refusals: list[str]) -> list[list[int]]:
    """Each refusal as the tokens that follow a prompt: a leading space, no special tokens, then EOS."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    return [tokenizer(" " + text, add_special_tokens=False, verbose=False)["input_ids"] + eos for text in refusals]


def refusal_index(prompt: list[int], count: int, seed: int) -> int:
    """Which of ``count`` refusals answers ``prompt``: a stable hash of its tokens and the seed."""
    data = b"".join(int(t).to_bytes(8, "little", signed=True) for t in [seed, *prompt])
    return zlib.crc32(data) % count


def refusal_pairs(
    forget: dict, refusal_ids: list[list[int]], prompt_tokens: int, seed: int, pad_id: int
) -> tuple[dict, dict]:
    """The (chosen, rejected) batches of a right-padded forget batch (``input_ids``, ``attention_mask``).

    chosen = prompt + refusal; rejected = the window itself. Both label only their answer tokens (the prompt's
    labels are -100), so ``losses.sequence_logprob`` gives ``log pi(y | x)``.
    """
    ids, mask = forget["input_ids"], forget["attention_mask"]
    rows_w, rows_l, cuts = [], [], []
    for row, length in zip(ids.tolist(), mask.sum(-1).tolist()):
        window = row[:length]
        cut = max(1, min(prompt_tokens, length - 1))
        prompt = window[:cut]
        rows_w.append(prompt + refusal_ids[refusal_index(prompt, len(refusal_ids), seed)])
        rows_l.append(window)
        cuts.append(cut)
    return _pad(rows_w, cuts, pad_id, ids.device), _pad(rows_l, cuts, pad_id, ids.device)


def _pad(rows: list[list[int]], cuts: list[int], pad_id: int, device) -> dict:
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for k, (row, cut) in enumerate(zip(rows, cuts)):
        input_ids[k, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[k, : len(row)] = 1
        labels[k, cut : len(row)] = input_ids[k, cut : len(row)]
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


class IdkTrainer(UnlearnTrainer):
    """The refusal pairs of each forget batch; the step's count of refusal tokens (IdkNLL's exact mean)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.unlearn_config
        if self.processing_class is None:
            raise ConfigError(
                "IdkNLL / IdkDPO need the tokenizer (processing_class) to tokenize the refusals",
                field="method",
                value=config.method,
            )
        from musebench.models.loading import padding_id

        self.refusal_ids = tokenize_refusals(self.processing_class, read_refusals(config.refusals))
        self.pad_id = padding_id(self.processing_class, self.accelerator.unwrap_model(self.model))

    def pairs(self, forget: dict) -> tuple[dict, dict]:
        return refusal_pairs(
            forget, self.refusal_ids, self.unlearn_config.prompt_tokens, self.unlearn_config.seed, self.pad_id
        )

    def step_normalisers(self, batch_samples, device):
        normalisers = super().step_normalisers(batch_samples, device)
        if normalisers is None:
            return None
        count = sum(int(losses.target_count(self.pairs(_forget(b))[0]["labels"])) for b in batch_samples)
        dtype = next(iter(normalisers.values())).dtype
        total = torch.tensor([float(count)], dtype=dtype, device=device)
        processes = self.accelerator.num_processes
        if processes > 1:
            total = self.accelerator.reduce(total, reduction="sum")
        normalisers["refusal_targets"] = total[0] / processes
        return normalisers


def _forget(batch: dict) -> dict:
    return {"input_ids": batch["forget_input_ids"], "attention_mask": batch["forget_attention_mask"]}


class IdkNLLTrainer(IdkTrainer):
    """Forget term: NLL of the refusal given the window's prompt (mean over the step's refusal tokens)."""

    def forget_loss(self, model, forget, retain=None):
        chosen, _ = self.pairs(forget)
        # outside the training loop (no step counts) the mean is over this batch's refusal tokens
        return losses.nll(self.logits(model, chosen), chosen["labels"], self._normalisers.get("refusal_targets"))


class IdkDPOTrainer(IdkTrainer):
    """Forget term: ``losses.idk_dpo_loss`` of (prompt, refusal) over (prompt, forget text), mean over sequences."""

    def forget_loss(self, model, forget, retain=None):
        chosen, rejected = self.pairs(forget)
        with torch.no_grad():
            ref_w = losses.sequence_logprob(self.reference_logits(model, chosen), chosen["labels"])
            ref_l = losses.sequence_logprob(self.reference_logits(model, rejected), rejected["labels"])
        logp_w = losses.sequence_logprob(self.logits(model, chosen), chosen["labels"])
        logp_l = losses.sequence_logprob(self.logits(model, rejected), rejected["labels"])
        per_example = losses.idk_dpo_loss(logp_w, ref_w, logp_l, ref_l, self.unlearn_config.beta)
        return losses.batch_mean(per_example, self.normaliser("forget", "sequences"))
