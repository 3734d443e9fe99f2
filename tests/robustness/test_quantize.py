"""The quantization attack's loader: bitsandbytes layers through BitsAndBytesConfig, on CPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from musebench.errors import ConfigError, ModelError
from musebench.robustness import check_scheme, quantization_config

needs_bnb = pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes (musebench[quant]) not installed"
)


def test_each_scheme_is_its_bitsandbytes_config():
    assert quantization_config("int8").load_in_8bit
    nf4, fp4 = quantization_config("nf4"), quantization_config("fp4")
    assert nf4.load_in_4bit and nf4.bnb_4bit_quant_type == "nf4" and nf4.bnb_4bit_compute_dtype == torch.float32
    assert fp4.bnb_4bit_quant_type == "fp4"


@pytest.mark.parametrize(
    "scheme, device, message",
    [("int4", "cpu", "unknown quantization scheme"), ("nf4", "mps", "cannot run nf4 on device 'mps'")],
)
def test_a_scheme_the_device_cannot_run_names_the_flag(scheme, device, message):
    with pytest.raises(ConfigError, match=message) as err:
        check_scheme(scheme, device)
    assert err.value.field == "--scheme"


def test_missing_bitsandbytes_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name))
    with pytest.raises(ConfigError, match=r"musebench\[quant\]"):
        check_scheme("nf4", "cpu")


@needs_bnb
@pytest.mark.parametrize("scheme, layer", [("int8", "Linear8bitLt"), ("nf4", "Linear4bit"), ("fp4", "Linear4bit")])
def test_quantized_model_runs_on_cpu_close_to_full_precision(tiny_model_dir, tiny_tokenizer, scheme, layer):
    from musebench.models.loading import load_model
    from musebench.robustness.quantize import load_quantized

    full = load_model(tiny_model_dir).model
    quant = load_quantized(tiny_model_dir, scheme, "cpu")
    proj = quant.model.model.layers[0].mlp.up_proj
    assert type(proj).__name__ == layer
    ids = torch.tensor([tiny_tokenizer("Alda Vorn was born in Kestrel Bay")["input_ids"]])
    with torch.no_grad():
        a, b = full(input_ids=ids).logits, quant.model(input_ids=ids).logits
    diff = (a - b).abs().max().item()
    # rounding moves the logits (never a no-op), but by far less than their spread
    assert 0 < diff < 0.1 * (a.max() - a.min()).item()
    assert quant.tokenizer.get_vocab() == tiny_tokenizer.get_vocab()


def test_a_directory_without_weights_is_a_model_error(tmp_path):
    from musebench.robustness.quantize import load_quantized

    (tmp_path / "config.json").write_text("{}")
    if importlib.util.find_spec("bitsandbytes") is None:
        pytest.skip("bitsandbytes not installed")
    with pytest.raises(ModelError, match="no model weights"):
        load_quantized(tmp_path, "nf4", "cpu")
