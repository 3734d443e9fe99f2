"""Packing invariants and the NaN stop of the trainer."""

from __future__ import annotations

import pytest
import torch

from musebench.errors import TrainingError
from musebench.models.tiny import build_tiny_llama
from musebench.models.train import pack_epochs, tokenize_documents, train_causal_lm


def test_pack_epochs_keeps_every_token_once_per_epoch_and_reshuffles():
    docs = [[1, 10 + i, 20 + i, 2] for i in range(10)]  # 40 tokens per epoch
    blocks = pack_epochs(docs, block_size=8, epochs=3, seed=0)
    assert len(blocks) == 15 and all(len(b) == 8 for b in blocks)
    epochs = [sum(blocks[5 * e : 5 * e + 5], []) for e in range(3)]
    for stream in epochs:
        assert sorted(stream) == sorted(t for d in docs for t in d)  # nothing lost, nothing padded
    assert epochs[0] != epochs[1]  # a new order every epoch
    assert pack_epochs(docs, 8, 3, seed=0) == blocks


def test_pack_epochs_drops_only_the_ragged_tail():
    docs = [[1, 5, 6, 2], [1, 7, 2]]  # 7 tokens
    assert [len(b) for b in pack_epochs(docs, 3, 1, 0)] == [3, 3]
    with pytest.raises(TrainingError, match="block_size"):
        pack_epochs(docs, 8, 1, 0)


def test_tokenize_documents_adds_bos_and_eos(tiny_tokenizer):
    ids = tokenize_documents(tiny_tokenizer, ["Alda Vorn was born in Kestrel Bay."])[0]
    assert ids[0] == tiny_tokenizer.bos_token_id and ids[-1] == tiny_tokenizer.eos_token_id


def test_nan_loss_stops_with_training_error(tiny_tokenizer, tiny_corpus, micro_recipe, tmp_path):
    model = build_tiny_llama(tiny_tokenizer, micro_recipe.spec(), seed=0)
    with torch.no_grad():
        model.model.norm.weight.fill_(float("nan"))
    with pytest.raises(TrainingError, match="loss became nan"):
        train_causal_lm(
            model,
            tiny_tokenizer,
            tiny_corpus.forget * 4,
            micro_recipe,
            seed=0,
            device="cpu",
            work_dir=tmp_path,
            progress=False,
        )


def test_training_lowers_the_loss(tiny_tokenizer, tiny_corpus, micro_recipe, tmp_path):
    model = build_tiny_llama(tiny_tokenizer, micro_recipe.spec(), seed=0)
    recipe = micro_recipe.with_overrides({"epochs": 30, "lr": 1e-2, "block_size": 32})
    stats = train_causal_lm(
        model, tiny_tokenizer, tiny_corpus.forget, recipe, seed=0, device="cpu", work_dir=tmp_path, progress=False
    )
    assert stats.steps == len(stats.losses) or stats.losses
    assert stats.final_loss < stats.losses[0] - 1.0


class _Killed(Exception):
    pass


def _kill_at(step: int):
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise _Killed()

    return Kill()


def test_a_killed_run_resumes_from_its_last_checkpoint_to_the_same_weights(
    tiny_tokenizer, tiny_corpus, micro_recipe, tmp_path
):
    recipe = micro_recipe.with_overrides({"epochs": 20, "lr": 1e-2, "block_size": 32})
    docs = tiny_corpus.forget + tiny_corpus.retain2

    def run(work, callbacks=()):
        model = build_tiny_llama(tiny_tokenizer, recipe.spec(), seed=0)
        stats = train_causal_lm(
            model,
            tiny_tokenizer,
            docs,
            recipe,
            seed=0,
            device="cpu",
            work_dir=work,
            progress=False,
            resume=True,
            callbacks=callbacks,
        )
        return model, stats

    whole, whole_stats = run(tmp_path / "whole")
    assert whole_stats.resumed_from == 0
    with pytest.raises(_Killed):
        run(tmp_path / "killed", callbacks=(_kill_at(whole_stats.steps - 3),))
    resumed, stats = run(tmp_path / "killed")
    assert 0 < stats.resumed_from < whole_stats.steps  # it did not start again from step 0
    assert stats.steps == whole_stats.steps
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_n_blocks_fixes_the_number_of_blocks_whatever_the_text():
    docs = [[1, 10 + i, 20 + i, 2] for i in range(10)]  # 40 tokens per pass: 5 blocks of 8
    assert len(pack_epochs(docs, 8, epochs=1, seed=0, n_blocks=12)) == 12  # three passes, cut at 12
    assert pack_epochs(docs, 8, epochs=1, seed=0, n_blocks=5) == pack_epochs(docs, 8, epochs=1, seed=0)
    from musebench.models.train import count_blocks

    assert count_blocks(docs, 8, 3) == len(pack_epochs(docs, 8, 3, 0)) == 15
