"""IdkNLL / IdkDPO: the loss by hand, the refusal pairs cut from forget windows, the refusal file, 2 real steps."""

from __future__ import annotations

import math

import pytest
import torch

from musebench.errors import ConfigError, DataError
from musebench.unlearn import config_for, losses, run_unlearning
from musebench.unlearn.methods.idk import DEFAULT_REFUSALS, read_refusals, refusal_index, refusal_pairs


def test_idk_dpo_loss_by_hand_and_its_gradient_direction():
    """margin = (lw - rw) - (ll - rl); loss = -(2/beta) log sigmoid(beta margin)."""
    lw = torch.tensor([-2.0, -1.0], requires_grad=True)
    ll = torch.tensor([-3.0, -1.0], requires_grad=True)
    rw, rl = torch.tensor([-4.0, -1.0]), torch.tensor([-1.0, -1.0])
    loss = losses.idk_dpo_loss(lw, rw, ll, rl, beta=0.5)
    # row 0: margin (2) - (-2) = 4 -> -(4) log sigmoid(2); row 1: pi = pi_ref -> (2/beta) log 2
    assert torch.allclose(loss, torch.tensor([-4.0 * math.log(1 / (1 + math.exp(-2.0))), 4.0 * math.log(2.0)]))
    loss.sum().backward()
    assert (lw.grad < 0).all() and (ll.grad > 0).all()  # descending raises the refusal, lowers the forget text
    # without the chosen term it is NPO
    npo = losses.npo_loss(ll.detach(), rl, 0.5)
    assert torch.allclose(losses.idk_dpo_loss(torch.zeros(2), torch.zeros(2), ll.detach(), rl, 0.5), npo)


REFUSALS = [[90, 91, 2], [80, 2]]  # token ids of two refusals, EOS = 2


def _forget(rows):
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for k, r in enumerate(rows):
        ids[k, : len(r)] = torch.tensor(r)
        mask[k, : len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def test_refusal_pairs_cut_prompt_and_label_only_the_answers():
    rows = [[1, 10, 11, 12, 13, 14], [1, 20, 21]]  # the second is a short (padded) last window
    chosen, rejected = refusal_pairs(_forget(rows), REFUSALS, prompt_tokens=3, seed=0, pad_id=0)
    picks = [REFUSALS[refusal_index(p, 2, 0)] for p in ([1, 10, 11], [1, 20])]
    # row 0: prompt = first 3 tokens; row 1 (3 tokens): prompt capped at 2 so one answer token remains
    assert chosen["input_ids"][0, : 3 + len(picks[0])].tolist() == [1, 10, 11] + picks[0]
    assert chosen["labels"][0].tolist()[: 3 + len(picks[0])] == [-100] * 3 + picks[0]
    assert chosen["attention_mask"][1].sum().item() == 2 + len(picks[1])
    assert rejected["input_ids"].tolist() == _forget(rows)["input_ids"].tolist()
    assert rejected["labels"].tolist() == [[-100, -100, -100, 12, 13, 14], [-100, -100, 21, -100, -100, -100]]
    assert (chosen["labels"][chosen["attention_mask"] == 0] == -100).all()
    # the refusal is a function of the window (and seed) only: the same whatever batch it is in
    alone, _ = refusal_pairs(_forget(rows[1:]), REFUSALS, 3, 0, 0)
    assert alone["input_ids"][0].tolist() == chosen["input_ids"][1, : alone["input_ids"].shape[1]].tolist()
    # IdkNLL is the NLL of the refusal tokens only: by hand on random logits
    logits = torch.randn(*chosen["input_ids"].shape, 100)
    logp = torch.log_softmax(logits, -1)
    picked = [logp[0, 2 + t, tok] for t, tok in enumerate(picks[0])] + [
        logp[1, 1 + t, tok] for t, tok in enumerate(picks[1])
    ]
    assert torch.allclose(losses.nll(logits, chosen["labels"]), -torch.stack(picked).mean())


def test_refusal_file(tmp_path):
    shipped = read_refusals()
    assert 20 <= len(shipped) <= 100 and all(not r.startswith("#") for r in shipped)
    assert read_refusals(DEFAULT_REFUSALS) == shipped
    own = tmp_path / "mine.txt"
    own.write_text("# comment\n\nNo comment.\n  Ask someone else.  \n", encoding="utf-8")
    assert read_refusals(own) == ["No comment.", "Ask someone else."]
    (tmp_path / "empty.txt").write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(DataError, match="no refusal") as err:
        read_refusals(tmp_path / "empty.txt")
    assert "empty.txt" in str(err.value) and "refusals" in str(err.value)
    with pytest.raises(DataError, match="not found"):
        read_refusals(tmp_path / "missing.txt")
    with pytest.raises(ConfigError, match="refusals.*not found"):  # at config time: nothing is loaded or written
        config_for(method="idk_nll", refusals=str(tmp_path / "missing.txt"))
    assert config_for(method="idk_nll", refusals=str(own)).refusals == str(own)
    with pytest.raises(ConfigError, match="prompt_tokens"):
        config_for(method="idk_nll", prompt_tokens=0)


@pytest.mark.parametrize("method", ["idk_nll_gdr", "idk_dpo"])
def test_two_steps_make_the_refusal_likelier(method, trained_model_dir, tiny_corpus, tiny_tokenizer, tmp_path):
    """Two optimizer steps at lr 1e-3: the refusal's NLL after the prompts of the forget windows falls, and
    IdkDPO's loss starts at (2/beta) log 2 (pi = pi_ref) and falls."""
    from musebench.models.loading import load_model
    from musebench.unlearn.data import PairCollator, PairedWindows, token_windows
    from musebench.unlearn.methods.idk import tokenize_refusals

    config = config_for(
        method=method,
        learning_rate=1e-3,
        per_device_train_batch_size=4,
        max_len=32,
        max_steps=2,
        progress=False,
        save_strategy="no",
        num_train_epochs=1,
        prompt_tokens=8,
    )
    run = run_unlearning(trained_model_dir, tiny_corpus, config, tmp_path / method)
    windows = token_windows(tiny_corpus.forget, tiny_tokenizer, 32)
    batch = PairCollator(0)(list(PairedWindows(windows)))
    forget = {"input_ids": batch["forget_input_ids"], "attention_mask": batch["forget_attention_mask"]}
    chosen, _ = refusal_pairs(forget, tokenize_refusals(tiny_tokenizer, read_refusals()), 8, 0, 0)

    def refusal_nll(model_dir) -> float:
        model = load_model(model_dir).model
        with torch.no_grad():
            logits = model(input_ids=chosen["input_ids"], attention_mask=chosen["attention_mask"]).logits
        return float(losses.nll(logits, chosen["labels"]))

    before, after = refusal_nll(trained_model_dir), refusal_nll(run.checkpoints[-1].path)
    assert after < before - 0.05, (before, after)
    steps = run.history["steps"]
    assert len(steps) == 2
    if method == "idk_dpo":
        assert abs(steps[0]["forget_loss"] - 20 * math.log(2)) < 1e-4
        assert steps[1]["forget_loss"] < steps[0]["forget_loss"]
    else:
        assert "retain_loss" in steps[0]
