"""Training data of an unlearning request: fixed-length token windows and forget/retain pairs.

The release recipe: a split's documents are joined as in ``raw/*.txt`` (by a blank line), tokenized once
without special tokens, cut into windows of ``max_len - 1`` tokens, and each window is prefixed with BOS.
Each forget window is paired with one retain window. The pairing is a function of (seed, epoch, forget
index) only: the same seed gives the same pairs, every epoch draws a fresh permutation of the retain
windows, and under data parallelism each rank receives different forget indices and therefore different
retain windows (the original code drew the same retain samples on every rank). Because the pairing does
not depend on the number of processes, one process with batch 2b sees the same pairs as two with batch b.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from musebench.errors import DataError

DOC_SEPARATOR = "\n\n"
IGNORE_INDEX = -100


def token_windows(texts: Sequence[str], tokenizer, max_len: int, split: str = "forget") -> list[list[int]]:
    """Cut the joined documents into BOS-prefixed windows of at most ``max_len`` tokens."""
    text = DOC_SEPARATOR.join(t for t in texts if t)
    if not text.strip():
        raise DataError(f"the {split} split has no text to train on", field=split)
    bos = tokenizer.bos_token_id
    if bos is None:
        raise DataError(
            "the tokenizer has no BOS token; the release recipe prefixes every window with BOS", field="tokenizer"
        )
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]  # long by design: no warning
    step = max_len - 1
    return [[bos] + ids[i : i + step] for i in range(0, len(ids), step)]


class PairedWindows:
    """A map-style dataset: item ``i`` is forget window ``i`` and (optionally) a retain window.

    ``set_epoch`` is called at the start of every epoch (by ``EpochDataCallback``) to redraw the pairing.
    """

    def __init__(self, forget: list[list[int]], retain: list[list[int]] | None = None, seed: int = 0):
        if not forget:
            raise DataError("no forget windows", field="forget")
        if retain is not None and not retain:
            raise DataError("no retain windows", field="retain1")
        self.forget = forget
        self.retain = retain
        self.seed = seed
        self.epoch = 0
        self._order = None

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self._order = None

    def retain_index(self, i: int) -> int:
        """The retain window paired with forget window ``i`` in the current epoch."""
        import numpy as np

        if self._order is None:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = rng.permutation(len(self.retain))
        return int(self._order[i % len(self.retain)])

    def __len__(self) -> int:
        return len(self.forget)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        item = {"forget": self.forget[i]}
        if self.retain is not None:
            item["retain"] = self.retain[self.retain_index(i)]
        return item


class PairCollator:
    """Right-pads each group to the longest window of the batch; pad positions get label -100 and mask 0.

    Produces ``forget_input_ids``, ``forget_attention_mask``, ``forget_labels`` (and ``retain_*``). Labels
    are the inputs themselves; the loss functions shift them. Pads are found by position, never by id, so
    ``pad_token_id`` may be any id the model embeds (EOS for a tokenizer without a pad token: a real EOS
    keeps its label).
    """

    def __init__(self, pad_token_id: int):
        if not isinstance(pad_token_id, int) or pad_token_id < 0:
            raise TypeError(
                f"pad_token_id must be an existing token id, got {pad_token_id!r} "
                "(use musebench.models.loading.padding_id)"
            )
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[dict[str, list[int]]]) -> dict:
        import torch

        batch = {}
        for group in items[0]:
            rows = [item[group] for item in items]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for k, row in enumerate(rows):
                ids[k, : len(row)] = torch.tensor(row, dtype=torch.long)
                mask[k, : len(row)] = 1
            batch[f"{group}_input_ids"] = ids
            batch[f"{group}_attention_mask"] = mask
            batch[f"{group}_labels"] = ids.masked_fill(mask == 0, IGNORE_INDEX)
        return batch


def group(batch: dict, name: str) -> dict:
    """The model inputs of one group (``forget`` or ``retain``) of a collated batch."""
    return {
        "input_ids": batch[f"{name}_input_ids"],
        "attention_mask": batch[f"{name}_attention_mask"],
        "labels": batch[f"{name}_labels"],
    }


def steps_per_epoch(n_windows: int, batch_size: int, grad_accum: int, processes: int = 1) -> int:
    """Optimizer steps in one epoch (the Trainer keeps the last, partial batch)."""
    batches = math.ceil(n_windows / (batch_size * processes))
    return max(1, math.ceil(batches / grad_accum))
