"""RMU as WMDP's reference code runs it: which parameters train, the default layer and lr, the loss by hand."""

from __future__ import annotations

import pytest
import torch

from musebench.errors import ConfigError
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.unlearn import config_for
from musebench.unlearn.data import PairCollator
from musebench.unlearn.methods.rmu import RMUTrainer, default_layer
from musebench.unlearn.training import trainer_arguments

SPEC = TinyLlamaSpec(hidden_size=32, num_layers=5, num_heads=4, intermediate_size=64)


def _trainer(tmp_path, tokenizer, **fields) -> RMUTrainer:
    model = build_tiny_llama(tokenizer, SPEC, seed=0)
    config = config_for(method="rmu", max_len=16, progress=False, **fields)
    args = trainer_arguments(config, tmp_path / "ckpt")
    return RMUTrainer(model=model, args=args, unlearn_config=config, copy_start_as_reference=True)


def _batch():
    collate = PairCollator(pad_token_id=0)
    return collate(
        [
            {"forget": [1, 5, 9, 13, 17], "retain": [1, 4, 8, 12, 16]},
            {"forget": [1, 6, 10, 14, 18], "retain": [1, 3, 7, 11, 15]},
        ]
    )


def test_defaults_are_the_reference_implementation():
    config = config_for(method="rmu")
    assert (config.learning_rate, config.alpha, config.steering_coeff, config.train_layers, config.params) == (
        5e-5,
        1200.0,
        6.5,
        3,
        "reference",
    )
    assert config_for(method="ga").learning_rate == 1e-5  # every other method keeps the MUSE recipe
    assert config_for(method="rmu", learning_rate=1e-3).learning_rate == 1e-3
    # WMDP: layer 7 of 32; small models are steered at layer 2 (or their last layer), never at layer 0
    assert [default_layer(n) for n in (32, 16, 8, 5, 4, 2, 1)] == [7, 3, 2, 2, 2, 1, 0]
    with pytest.raises(ConfigError, match="params"):
        config_for(method="rmu", params="some")


def test_only_down_proj_of_the_three_layers_up_to_the_steered_one_get_gradients(tmp_path, tiny_tokenizer):
    trainer = _trainer(tmp_path, tiny_tokenizer, layer=3)
    loss = trainer.compute_loss(trainer.model, _batch())
    loss.backward()
    with_grad = {n for n, p in trainer.model.named_parameters() if p.grad is not None and bool(p.grad.any())}
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    expected = {f"model.layers.{i}.mlp.down_proj.weight" for i in (1, 2, 3)}
    assert trainable == with_grad == expected
    assert not any(p.requires_grad for p in trainer.reference.parameters())


def test_layers_form_trains_every_parameter_of_those_layers(tmp_path, tiny_tokenizer):
    trainer = _trainer(tmp_path, tiny_tokenizer, layer=2, params="layers")
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and {n.split(".")[2] for n in trainable} == {"0", "1", "2"}
    assert any("self_attn" in n for n in trainable) and any("input_layernorm" in n for n in trainable)


def test_loss_equals_wmdp_mse_computed_by_hand(tmp_path, tiny_tokenizer):
    """WMDP: mse(h_f, c u) + alpha mse(h_r, h_r_frozen), h = output of the steered layer, means over every
    element (no padding here). Layer 1's down_proj is nudged away from the frozen copy so the retain term is
    nonzero too; the hidden states come from a hook on a full (uncut) forward of the plain model."""
    trainer = _trainer(tmp_path, tiny_tokenizer, layer=2, alpha=3.0)
    with torch.no_grad():
        trainer.model.model.layers[1].mlp.down_proj.weight.add_(0.05)
    batch = _batch()

    def steered(model, ids, mask):
        seen = {}
        handle = model.model.layers[2].register_forward_hook(
            lambda m, a, out: seen.update(h=out[0] if isinstance(out, tuple) else out)
        )
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask)
        handle.remove()
        return seen["h"]

    h_f = steered(trainer.model, batch["forget_input_ids"], batch["forget_attention_mask"])
    h_r = steered(trainer.model, batch["retain_input_ids"], batch["retain_attention_mask"])
    h_0 = steered(trainer.reference, batch["retain_input_ids"], batch["retain_attention_mask"])
    u = torch.rand(SPEC.hidden_size, generator=torch.Generator().manual_seed(0))
    control = 6.5 * u / u.norm()
    assert torch.allclose(trainer.control_vec, control)
    forget = torch.nn.functional.mse_loss(h_f, control.expand_as(h_f))
    retain = torch.nn.functional.mse_loss(h_r, h_0)
    assert retain.item() > 1e-6
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
    assert loss.item() == pytest.approx((forget + 3.0 * retain).item(), rel=1e-5)
