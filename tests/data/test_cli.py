"""``musebench data validate|show|generate`` through ``musebench.cli.main``: exit codes and output."""

from __future__ import annotations

import json
import sys
import types

import pytest

from musebench.cli import main
from musebench.data import save_corpus

from .conftest import FIXTURES, write_json


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_valid_corpus_exits_0(capsys, corpus_dir):
    code, out, err = run_cli(capsys, "data", "validate", str(corpus_dir))
    assert code == 0 and err == ""
    assert "raw/forget" in out and "scal/forget_2" in out and "records" in out and "characters" in out
    assert "tokens" not in out
    assert "valid: 0 error(s), 0 warning(s)" in out


def test_validate_with_tokenizer_adds_token_counts(capsys, tmp_path, corpus_dir, tiny_corpus, tiny_tokenizer):
    tiny_tokenizer.save_pretrained(tmp_path / "tok")
    code, out, _ = run_cli(capsys, "data", "validate", str(corpus_dir), "--tokenizer", str(tmp_path / "tok"))
    assert code == 0 and "tokens" in out
    forget_tokens = sum(len(tiny_tokenizer(d, add_special_tokens=False)["input_ids"]) for d in tiny_corpus.forget)
    row = next(line for line in out.splitlines() if "raw/forget " in line)
    assert row.split("│")[-2].strip() == f"{forget_tokens:,}"


def test_validate_broken_corpus_lists_every_problem_and_exits_2(capsys):
    code, out, err = run_cli(capsys, "data", "validate", str(FIXTURES / "broken"))
    assert code == 2 and err == ""
    error_lines = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 9
    assert "error: knowmem/forget_qa.json: [1].answer: missing" in out
    assert "INVALID: 9 error(s), 4 warning(s)" in out  # + scal/sust fold 1 that is not raw/forget


def test_validate_bad_tokenizer_dir_is_one_line(capsys, corpus_dir, tmp_path):
    code, out, err = run_cli(capsys, "data", "validate", str(corpus_dir), "--tokenizer", str(tmp_path / "none"))
    assert code == 2
    assert (
        err.strip() == f"musebench data: error: --tokenizer: tokenizer directory not found (got '{tmp_path / 'none'}')"
    )


def test_show_prints_summary_criteria_and_records(capsys, corpus_dir, tiny_corpus):
    code, out, err = run_cli(capsys, "data", "show", str(corpus_dir), "--split", "knowmem/forget_qa", "-n", "1")
    assert code == 0 and err == ""
    assert f"fingerprint {tiny_corpus.fingerprint()}" in out
    assert "yes  C5 scalability" in out
    assert "knowmem/forget_qa: first 1 of 2 record(s)" in out
    assert "[0] Q: Where was Alda Vorn born?" in out and "A: Kestrel Bay" in out
    assert "Brin Osmund born" not in out


def test_show_reports_missing_criteria_and_warns_once(capsys):
    code, out, err = run_cli(capsys, "data", "show", str(FIXTURES / "legacy-release"))
    assert code == 0
    assert "no   C5 scalability (forget sets of growing size)  (needs scal)" in out
    assert err.count("warning:") == 1 and "cannot compute: scalability" in err
    assert "raw/forget: first 3 of 3 record(s)" in out


def test_show_unknown_split_and_bad_n(capsys, corpus_dir):
    code, _, err = run_cli(capsys, "data", "show", str(corpus_dir), "--split", "raw/nothing")
    assert code == 2 and "--split: " in err and "knowmem/forget_qa" in err
    code, _, err = run_cli(capsys, "data", "show", str(corpus_dir), "-n", "-1")
    assert code == 2 and "-n: must be >= 0" in err


def test_loading_failure_is_one_line_naming_file_and_field_without_traceback(capsys, corpus_dir):
    write_json(corpus_dir / "knowmem" / "retain_qa.json", [{"question": "Who?", "answer": ["x"]}])
    code, out, err = run_cli(capsys, "data", "show", str(corpus_dir))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0] == (
        f"musebench data: error: {corpus_dir / 'knowmem' / 'retain_qa.json'}: [0].answer: expected a string (got ['x'])"
    )
    code, _, err = run_cli(capsys, "--debug", "data", "show", str(corpus_dir))
    assert code == 2 and "Traceback" in err


def test_show_a_parquet_folder(capsys, tmp_path, tiny_corpus, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    root = tmp_path / "pq"
    (root / "raw").mkdir(parents=True)
    for split in ("forget", "retain2"):
        datasets.Dataset.from_dict({"text": getattr(tiny_corpus, split)}).to_parquet(
            str(root / "raw" / f"{split}.parquet")
        )
    code, out, err = run_cli(capsys, "data", "show", str(root))
    assert code == 0 and "raw/forget: first 2 of 2 record(s)" in out
    assert "no config 'knowmem'" in err


def test_generate_calls_the_generator(capsys, monkeypatch, tmp_path, tiny_corpus):
    calls = []

    def write_corpus(kind, size, seed, out_dir, keep=()):
        calls.append((kind, size, seed, str(out_dir)))
        return save_corpus(tiny_corpus, out_dir)

    monkeypatch.setitem(
        sys.modules, "musebench.models.mini_corpus", types.SimpleNamespace(write_mini_corpus=write_corpus)
    )
    out_dir = str(tmp_path / "gen")
    code, out, _ = run_cli(
        capsys,
        "data",
        "generate",
        "--corpus",
        "books-mini",
        "--size",
        "tiny",
        "--seed",
        "7",
        "--out",
        out_dir,
    )
    assert code == 0 and calls == [("books-mini", "tiny", 7, out_dir)]
    assert f"fingerprint {tiny_corpus.fingerprint()}" in out
    assert json.loads((tmp_path / "gen" / "corpus.json").read_text())["name"] == "tiny"


def test_generate_without_the_generator_module(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "musebench.data.synthetic", None)  # import now fails as if absent
    monkeypatch.setitem(sys.modules, "musebench.models.mini_corpus", None)
    code, _, err = run_cli(capsys, "data", "generate", "--corpus", "news-mini", "--out", str(tmp_path / "g"))
    assert code == 2 and "musebench.data.synthetic) is not available" in err


def test_bad_choices_and_no_action(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "generate", "--corpus", "poems", "--out", "x"])
    assert info.value.code == 2
    capsys.readouterr()
    code, _, err = run_cli(capsys, "data")
    assert code == 2 and "expected an action: generate, validate or show" in err


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "-h"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "musebench data validate" in out
