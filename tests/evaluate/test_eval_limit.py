"""``musebench eval --limit N``: the first N items of every split, recorded so it never looks like a full score."""

from __future__ import annotations

import json

from musebench.cli import main
from musebench.data import save_corpus

SMALL = [
    "--verbmem-max-new-tokens",
    "4",
    "--knowmem-max-new-tokens",
    "4",
    "--privleak-max-length",
    "32",
    "--bootstrap-samples",
    "10",
    "--threads",
    "1",
    "--no-progress",
    "--retrain-auc",
    "news",
]


def test_corpus_head_keeps_first_items_and_icl_examples(tiny_corpus):
    small = tiny_corpus.head(1)
    assert small.forget == tiny_corpus.forget[:1] and small.privleak_holdout == tiny_corpus.privleak_holdout[:1]
    assert small.knowmem_forget_qa == tiny_corpus.knowmem_forget_qa[:1]
    assert small.knowmem_forget_qa_icl == tiny_corpus.knowmem_forget_qa_icl  # prompt examples, not scored items
    assert all(small.scal[k] == tiny_corpus.scal[k][:1] for k in tiny_corpus.scal)
    assert len(tiny_corpus.verbmem_forget) > 1 and len(small.verbmem_forget) == 1
    assert small.fingerprint() != tiny_corpus.fingerprint()  # never served from the full run's cache


def test_eval_limit_scores_n_items_and_says_so(tiny_model_dir, tiny_corpus, tmp_path, capsys):
    data = save_corpus(tiny_corpus, tmp_path / "corpus")
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_model_dir),
                "--data",
                str(data),
                "--out",
                str(out),
                "--limit",
                "1",
                "--metrics",
                "all",
                *SMALL,
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["limit"] == 1
    assert any("--limit 1" in note and "not a MUSE result" in note for note in summary["notes"])
    rows = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    per_split: dict[tuple, int] = {}
    for row in rows:
        key = (row["criterion"], row.get("split"))
        per_split[key] = per_split.get(key, 0) + 1
    assert per_split == {
        ("verbmem_f", None): 1,
        ("knowmem_f", None): 1,
        ("knowmem_r", None): 1,
        ("privleak", "forget"): 1,
        ("privleak", "retain"): 1,
        ("privleak", "holdout"): 1,
    }
    assert "smoke test" in capsys.readouterr().out


def test_eval_limit_below_one_is_rejected(tiny_model_dir, tmp_path, capsys):
    code = main(
        [
            "eval",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--limit",
            "0",
            *SMALL,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--limit" in err and len(err.splitlines()) == 1
