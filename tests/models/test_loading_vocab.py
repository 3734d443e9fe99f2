"""Tokenizer / model vocabulary: a pad id beyond the embedding is replaced, a real mismatch is one ModelError."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from musebench.cli import main
from musebench.data import save_corpus
from musebench.errors import ModelError
from musebench.evaluate import evaluate
from musebench.models.loading import check_vocabulary, load_model, padding_id, producible_ids
from musebench.models.tiny import build_tiny


def _tok(pad=None, eos=None, bos=None, unk=None):
    return SimpleNamespace(pad_token_id=pad, eos_token_id=eos, bos_token_id=bos, unk_token_id=unk)


def _model(rows):
    return SimpleNamespace(config=SimpleNamespace(vocab_size=rows))


@pytest.mark.parametrize(
    "tok, expected",
    [
        (_tok(pad=3, eos=1), 3),  # the tokenizer's own pad when the model embeds it
        (_tok(pad=10, eos=1, bos=0), 1),  # a pad beyond the 10 rows (Qwen2's class-added pad): EOS
        (_tok(eos=12, bos=2), 2),  # then BOS
        (_tok(unk=4), 4),  # then UNK
        (_tok(), 0),
    ],
)
def test_padding_id_is_always_an_id_the_model_embeds(tok, expected):
    assert padding_id(tok, _model(10)) == expected


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory, tiny_tokenizer):
    """A model with 100 embedding rows saved with the 400-token fixture tokenizer."""
    out = tmp_path_factory.mktemp("mismatch")
    build_tiny("llama", tiny_tokenizer, vocab_size=100, hidden_size=32, num_layers=1, num_heads=2).save_pretrained(
        out, safe_serialization=True
    )
    tiny_tokenizer.save_pretrained(out)
    return out


def test_vocabulary_mismatch_is_one_model_error(small_model_dir):
    with pytest.raises(ModelError, match=r"beyond the model's 100 embedding rows") as err:
        load_model(small_model_dir)
    assert str(small_model_dir) in str(err.value) and len(str(err.value).splitlines()) == 1


def test_mismatch_passed_to_evaluate_directly_is_a_model_error(small_model_dir, tiny_model_dir, tiny_corpus):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(small_model_dir)
    with pytest.raises(ModelError, match="tokenizer and model do not match"):
        evaluate(model, load_model(tiny_model_dir).tokenizer, tiny_corpus, progress=False)


def test_vocabulary_mismatch_exits_2_with_one_line(small_model_dir, tiny_corpus, tmp_path, capsys):
    data = save_corpus(tiny_corpus, tmp_path / "corpus")
    code = main(
        [
            "eval",
            "--model",
            str(small_model_dir),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--threads",
            "1",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "tokenizer and model do not match" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_pad_only_token_beyond_the_embedding_is_not_a_mismatch(tiny_tokenizer):
    """A tokenizer class that brings its own pad token (Qwen2's) puts it one id past the checkpoint's rows."""
    import copy

    rows = len(tiny_tokenizer)
    tok = copy.deepcopy(tiny_tokenizer)
    tok.add_special_tokens({"pad_token": "<|endoftext|>"})
    assert tok.pad_token_id == rows and tok.pad_token_id not in producible_ids(tok)
    check_vocabulary(tok, _model(rows))  # never fed to the model: padding_id() pads with EOS instead
    assert padding_id(tok, _model(rows)) == tok.eos_token_id
    tok.add_special_tokens({"additional_special_tokens": ["<extra>"]})  # a token the tokenizer does produce
    with pytest.raises(ModelError, match="'<extra>'=401"):
        check_vocabulary(tok, _model(rows))
