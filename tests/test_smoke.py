from musebench.models.loading import load_model


def test_tiny_model_loads_with_distinct_pad(tiny_model_dir):
    lm = load_model(tiny_model_dir)
    tok = lm.tokenizer
    assert tok.pad_token_id != tok.eos_token_id
    assert tok.bos_token_id not in (tok.eos_token_id, tok.pad_token_id)
    ids = tok("Alda Vorn was born")["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert tok.padding_side == "left"
