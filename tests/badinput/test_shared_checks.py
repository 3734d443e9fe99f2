"""``data validate`` and ``eval`` run one set of corpus checks, so they can never disagree; a damaged cache
file is recomputed, never trusted; an incomplete Trainer checkpoint is skipped on resume."""

from __future__ import annotations

import dataclasses
import json

import pytest

from musebench.data.layout import save_corpus
from musebench.data.validate import check_corpus, corpus_problems, validate_directory
from musebench.errors import DataError


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda c: {"privleak_holdout": c.privleak_holdout + c.privleak_forget[:1]}, "also in privleak/forget"),
        (lambda c: {"holdout": c.holdout + c.forget[:1]}, "also in raw/forget"),
        (lambda c: {"scal": {1: c.forget[:1], 2: c.forget[1:2]}}, "scal folds must be nested"),
        (lambda c: {"sust": {1: c.forget[:1], 2: c.forget[:1]}}, "sust folds must be disjoint"),
    ],
)
def test_validate_and_eval_report_the_same_error(tiny_corpus, tmp_path, damage, message):
    corpus = dataclasses.replace(tiny_corpus, **damage(tiny_corpus))
    root = save_corpus(corpus, tmp_path / "c")
    corpus = dataclasses.replace(corpus, source=str(root))
    validated = [p.message for p in validate_directory(root).errors]
    assert any(message in m for m in validated), validated
    with pytest.raises(DataError, match=message):
        check_corpus(corpus)  # what eval calls before loading any model


def test_a_question_asked_twice_is_a_warning_in_both(tiny_corpus, tmp_path):
    qa = tiny_corpus.knowmem_forget_qa
    corpus = dataclasses.replace(tiny_corpus, knowmem_forget_qa=qa + qa[:1])
    problems = corpus_problems(corpus)
    assert [p.severity for p in problems if "asked more than once" in p.message] == ["warning"]
    root = save_corpus(corpus, tmp_path / "c")
    assert any("asked more than once" in p.message for p in validate_directory(root).warnings)
    with pytest.warns(UserWarning, match="asked more than once"):
        check_corpus(corpus)


def test_a_damaged_cache_file_is_recomputed_not_trusted(tmp_path, tiny_corpus, tiny_model_dir):
    from musebench.cli import main

    data = save_corpus(tiny_corpus, tmp_path / "data")
    argv = [
        "eval",
        "--model",
        str(tiny_model_dir),
        "--data",
        str(data),
        "--retrain-auc",
        "news",
        "--metrics",
        "knowmem_f,privleak",
        "--knowmem-max-new-tokens",
        "4",
        "--knowmem-num-shots",
        "1",
        "--privleak-max-length",
        "48",
        "--bootstrap-samples",
        "20",
        "--no-progress",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "e"),
    ]
    assert main(argv) == 0
    first = json.loads((tmp_path / "e" / "summary.json").read_text())["scores"]
    damaged = 0
    for i, path in enumerate(sorted((tmp_path / "e" / "cache").rglob("*.json"))):
        if path.name != "key.json":
            path.write_text(["[1, 2]", '{"k": 3}', "{not json"][i % 3])
            damaged += 1
    assert damaged
    assert main(argv) == 0
    assert json.loads((tmp_path / "e" / "summary.json").read_text())["scores"] == first


def test_an_incomplete_trainer_checkpoint_is_skipped_and_removed(tmp_path):
    from musebench.unlearn.resume import last_complete_checkpoint

    def checkpoint(step: int, state: bool = True, optimizer: bool = True):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
        (folder / "scheduler.pt").write_bytes(b"x")
        if optimizer:
            (folder / "optimizer.pt").write_bytes(b"x")
        if state:
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))

    checkpoint(2)
    checkpoint(4, state=False)  # killed before trainer_state.json
    checkpoint(6, optimizer=False)  # killed during the optimizer write
    (tmp_path / "checkpoint-8").mkdir()
    (tmp_path / "checkpoint-8" / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2"]
    assert last_complete_checkpoint(tmp_path / "none") is None
