"""``musebench eval --model RUN/<checkpoint>`` on every checkpoint kind the project writes.

The command layer loads models with ``unlearn.load_unlearned``, so a WHP directory (``whp.json`` only, no
weights) is evaluated as the logit-combined model, as the experiment runner evaluates it.
"""

from __future__ import annotations

import json

import pytest

from musebench.cli import main
from musebench.data import save_corpus
from musebench.evaluate import EvalSettings, evaluate
from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
from musebench.unlearn.edit.whp import load_whp, write_whp_checkpoint

SPEC = TinyLlamaSpec(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128)
SETTINGS = {"knowmem_max_new_tokens": 4, "privleak_max_length": 32, "bootstrap_samples": 20}
FLAGS = [arg for name, value in SETTINGS.items() for arg in (f"--{name.replace('_', '-')}", str(value))] + [
    "--metrics",
    "knowmem_f,privleak",
    "--retrain-auc",
    "0.5",
    "--threads",
    "1",
    "--no-progress",
]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, tiny_corpus):
    return save_corpus(tiny_corpus, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory, tiny_tokenizer):
    out = tmp_path_factory.mktemp("other")
    build_tiny_llama(tiny_tokenizer, SPEC, seed=1).save_pretrained(out, safe_serialization=True)
    tiny_tokenizer.save_pretrained(out)
    return out


def _eval(model, corpus_dir, out) -> dict:
    assert main(["eval", "--model", str(model), "--data", str(corpus_dir), "--out", str(out), *FLAGS]) == 0
    return json.loads((out / "summary.json").read_text())


def test_whp_checkpoint_scores_equal_the_in_process_wrapper(
    tmp_path, tiny_model_dir, other_model_dir, corpus_dir, tiny_corpus
):
    ckpt = write_whp_checkpoint(tmp_path / "run" / "alpha-4", tiny_model_dir, other_model_dir, 4.0)
    summary = _eval(ckpt, corpus_dir, tmp_path / "eval")
    loaded = load_whp(ckpt)
    expected = evaluate(
        loaded.model,
        loaded.tokenizer,
        tiny_corpus,
        EvalSettings(**SETTINGS),
        metrics=["knowmem_f", "privleak"],
        retrain_auc=0.5,
        progress=False,
    )
    assert summary["scores"]["auc"] == pytest.approx(expected.scores["auc"], abs=1e-12)
    assert summary["scores"]["knowmem_f"] == pytest.approx(expected.scores["knowmem_f"], abs=1e-12)
    target = _eval(tiny_model_dir, corpus_dir, tmp_path / "eval-target")
    assert summary["scores"]["auc"] != target["scores"]["auc"]  # the fine-tuned half really acts


def test_whp_of_a_model_with_itself_is_that_model(tmp_path, tiny_model_dir, corpus_dir):
    """z - a ReLU(z - z) = z: a WHP checkpoint whose two halves are one model scores exactly as the model."""
    ckpt = write_whp_checkpoint(tmp_path / "run" / "alpha-8", tiny_model_dir, tiny_model_dir, 8.0)
    whp = _eval(ckpt, corpus_dir, tmp_path / "whp")
    plain = _eval(tiny_model_dir, corpus_dir, tmp_path / "plain")
    assert whp["scores"] == plain["scores"]


def test_run_directory_is_one_clear_error(tmp_path, corpus_dir, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "method": "whp",
                "config": {},
                "status": "complete",
                "checkpoints": [{"label": "alpha-1", "path": "alpha-1"}],
            }
        )
    )
    code = main(["eval", "--model", str(run), "--data", str(corpus_dir), "--out", str(tmp_path / "o"), *FLAGS])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "run directory" in err and "alpha-1" in err and len(err.splitlines()) == 1
