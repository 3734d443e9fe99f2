"""``musebench audit`` from the command line: outputs, exit codes for pipelines, and one-line refusals."""

from __future__ import annotations

import json

from musebench.cli import main

SMALL = [
    "--continuation-tokens",
    "12",
    "--prefix-tokens",
    "10",
    "--min-prefix-tokens",
    "4",
    "--chunks-per-doc",
    "2",
    "--cloze-per-doc",
    "2",
    "--cloze-shots",
    "2",
    "--cloze-max-new-tokens",
    "6",
    "--membership-max-length",
    "96",
    "--bootstrap-samples",
    "100",
    "--min-documents",
    "4",
    "--threads",
    "1",
    "--no-progress",
    "--device",
    "cpu",
]


def audit(*args) -> list[str]:
    return ["audit", *SMALL, *map(str, args)]


def test_leak_fails_the_pipeline_and_writes_the_audit(memorised_dir, audit_model_dir, doc_files, tmp_path, capsys):
    out = tmp_path / "audit"
    code = main(
        audit(
            "--model",
            memorised_dir,
            "--forget",
            doc_files / "forget_txt",
            "--holdout",
            doc_files / "holdout.jsonl",
            "--original",
            audit_model_dir,
            "--fail-on",
            "leak",
            "--out",
            out,
        )
    )
    assert code == 1
    assert "LEAK" in capsys.readouterr().out
    saved = json.loads((out / "audit.json").read_text())
    assert saved["verdict"] == "leak" and saved["original"]["source"] == str(audit_model_dir)
    # the reproduce line is a command that runs: the same flags, the same seed
    assert saved["reproduce"].startswith("musebench audit --model ") and "--seed 0" in saved["reproduce"]
    assert "--continuation-tokens 12" in saved["reproduce"]
    assert saved["settings"]["continuation_tokens"] == 12


def test_fail_on_reads_the_verdict(audit_model_dir, doc_files, tmp_path):
    """Too few documents to judge (--min-documents 100) is 'inconclusive': no leak, but not clean either."""
    common = (
        "--model",
        audit_model_dir,
        "--forget",
        doc_files / "forget.json",
        "--holdout",
        doc_files / "holdout.jsonl",
        "--probes",
        "membership",
        "--min-documents",
        "100",
    )
    assert main(audit(*common, "--fail-on", "leak", "--out", tmp_path / "a")) == 0
    assert main(audit(*common, "--fail-on", "distinguishable", "--out", tmp_path / "b")) == 1
    assert json.loads((tmp_path / "b" / "audit.json").read_text())["verdict"] == "inconclusive"


def _refused(capsys, args, *needles) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("musebench audit: error: "), err
    for needle in needles:
        assert str(needle) in err[0]


def test_bad_input_is_one_line_and_writes_nothing(audit_model_dir, doc_files, audit_docs, tmp_path, capsys):
    out = tmp_path / "out"
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            empty,
            "--holdout",
            doc_files / "holdout.jsonl",
            "--out",
            out,
        ),
        empty,
        "no forget documents",
    )
    overlap = tmp_path / "overlap.json"
    overlap.write_text(json.dumps(audit_docs["holdout"][:3] + [audit_docs["forget"][2]]))
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            doc_files / "forget.json",
            "--holdout",
            overlap,
            "--out",
            out,
        ),
        overlap,
        "also appear in the forget set",
    )
    _refused(
        capsys,
        audit("--model", audit_model_dir, "--forget", doc_files / "forget.json", "--out", out),
        "--holdout",
        "--reference",
    )
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            doc_files / "forget.json",
            "--holdout",
            doc_files / "holdout.jsonl",
            "--attacks",
            "rot13",
            "--out",
            out,
        ),
        "unknown attack",
    )
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            doc_files / "forget.json",
            "--holdout",
            doc_files / "holdout.jsonl",
            "--continuation-tokens",
            "0",
            "--out",
            out,
        ),
        "continuation_tokens",
    )
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            doc_files / "forget.json",
            "--holdout",
            doc_files / "holdout.jsonl",
            "--probes",
            "verbatim,vibes",
            "--out",
            out,
        ),
        "vibes",
    )
    assert not out.exists()


def test_a_foreign_out_directory_is_left_alone(audit_model_dir, doc_files, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not touch")
    _refused(
        capsys,
        audit(
            "--model",
            audit_model_dir,
            "--forget",
            doc_files / "forget.json",
            "--holdout",
            doc_files / "holdout.jsonl",
            "--out",
            out,
        ),
        out,
        "did not write (thesis.tex)",
    )
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
