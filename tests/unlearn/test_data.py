"""Windows and forget/retain pairing follow the release recipe and are deterministic."""

from __future__ import annotations

import pytest

from musebench.errors import DataError
from musebench.unlearn.data import IGNORE_INDEX, PairCollator, PairedWindows, steps_per_epoch, token_windows


def test_windows_are_bos_plus_max_len_minus_one_tokens(tiny_corpus, tiny_tokenizer):
    tok = tiny_tokenizer
    windows = token_windows(tiny_corpus.forget, tok, max_len=16)
    joined = tok("\n\n".join(tiny_corpus.forget), add_special_tokens=False)["input_ids"]
    assert all(w[0] == tok.bos_token_id for w in windows)
    assert all(len(w) == 16 for w in windows[:-1]) and 2 <= len(windows[-1]) <= 16
    assert [t for w in windows for t in w[1:]] == joined  # nothing lost, nothing repeated
    assert len(windows) == -(-len(joined) // 15)


def test_empty_split_is_a_data_error(tiny_tokenizer):
    with pytest.raises(DataError, match="forget"):
        token_windows(["", "  "], tiny_tokenizer, max_len=16)


def test_pairing_is_deterministic_and_redrawn_each_epoch():
    forget = [[1, i] for i in range(6)]
    retain = [[2, i] for i in range(4)]
    a, b = PairedWindows(forget, retain, seed=3), PairedWindows(forget, retain, seed=3)
    first = [a[i]["retain"][1] for i in range(6)]
    assert first == [b[i]["retain"][1] for i in range(6)]
    assert sorted(first[:4]) == [0, 1, 2, 3]  # a permutation: every retain window used before any repeats
    assert first[4:] == first[:2]
    draws = []
    for epoch in range(6):
        a.set_epoch(epoch)
        draws.append(tuple(a[i]["retain"][1] for i in range(4)))
    assert len(set(draws)) > 1
    a.set_epoch(0)
    assert [a[i]["retain"][1] for i in range(6)] == first
    other = PairedWindows(forget, retain, seed=4)
    assert [other[i]["retain"][1] for i in range(6)] != first


def test_different_ranks_get_different_retain_windows():
    """Under data parallelism rank r sees forget indices r, r + world, ...; their retain partners differ."""
    data = PairedWindows([[1, i] for i in range(8)], [[2, i] for i in range(8)], seed=0)
    rank0 = [data[i]["retain"][1] for i in range(0, 8, 2)]
    rank1 = [data[i]["retain"][1] for i in range(1, 8, 2)]
    assert not set(rank0) & set(rank1)


def test_collator_pads_right_and_masks_labels():
    batch = PairCollator(pad_token_id=0)([{"forget": [5, 6, 7], "retain": [5]}, {"forget": [5, 8], "retain": [5, 9]}])
    assert batch["forget_input_ids"].tolist() == [[5, 6, 7], [5, 8, 0]]
    assert batch["forget_attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["forget_labels"].tolist() == [[5, 6, 7], [5, 8, IGNORE_INDEX]]
    assert batch["retain_labels"].tolist() == [[5, IGNORE_INDEX], [5, 9]]


def test_steps_per_epoch():
    assert steps_per_epoch(10, batch_size=4, grad_accum=1) == 3
    assert steps_per_epoch(10, batch_size=4, grad_accum=2) == 2
    assert steps_per_epoch(10, batch_size=2, grad_accum=1, processes=2) == 3
