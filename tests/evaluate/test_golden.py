"""Golden test: musebench gives the original MUSE scorer's numbers, per example.

``tests/fixtures/golden/muse-scorer`` holds a tiny pad-less Llama (BOS added, as Llama-2), a corpus in the
release layout whose privacy texts are up to ~2,500 tokens long, and ``expected.json``: what the original
scorer produced on them (see that directory's README). The engine (``evaluate()``), the ``musebench eval``
CLI and the naive scorer are each compared with it: generated texts, references and ROUGE-L exactly; per-text
mean NLL, NLL/lower, NLL/zlib and every Min-K% to 1e-5 relative; every AUC exactly; PrivLeak and the
aggregates. ``benchmarks/golden_agreement.py`` prints the per-criterion agreement table.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from musebench.cli import main
from musebench.data import MissingDataWarning, load_corpus
from musebench.evaluate import EvalSettings, evaluate
from musebench.evaluate.naive_scorer import naive_evaluate
from musebench.models.loading import load_model

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "muse-scorer"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))

# The scorer's settings (fixture README): every example of each *_icl file as a shot, 128 new tokens for
# VerbMem (reference cut to 128 ids, BOS counted), 32 for KnowMem, privacy texts whole, the News retrain AUC.
SETTINGS = EvalSettings(
    verbmem_max_new_tokens=128,
    verbmem_gt_max_tokens=128,
    knowmem_max_new_tokens=32,
    knowmem_num_shots=None,
    privleak_max_length=None,
    mink_k=40.0,
    bootstrap_samples=0,
)
RETRAIN_AUC = 0.4772
CLI_SETTINGS = [
    "--verbmem-max-new-tokens",
    "128",
    "--verbmem-gt-max-tokens",
    "128",
    "--knowmem-max-new-tokens",
    "32",
    "--knowmem-num-shots",
    "none",
    "--privleak-max-length",
    "none",
    "--mink-k",
    "40",
    "--bootstrap-samples",
    "0",
    "--retrain-auc",
    str(RETRAIN_AUC),
]
#: The original scorer's attack names -> musebench's.
ATTACKS = {
    "PPL": "nll",
    "PPL/lower": "lowercase",
    "PPL/zlib": "zlib",
    **{f"Min-{k}%": f"mink_{k}" for k in (5, 10, 20, 30, 40, 50, 60)},
}
CRITERIA = ("verbmem_f", "knowmem_f", "knowmem_r")
SPLITS = ("forget", "retain", "holdout")
REL = 1e-5


def engine_view(per_example: list[dict], privacy: dict, scores: dict) -> dict:
    """An ``EvalResult``'s rows, attack table and scores in the golden file's shape."""
    view = {crit: [r for r in per_example if r["criterion"] == crit] for crit in CRITERIA}
    view = {
        crit: {
            "reference": [r["reference"] for r in rows],
            "output": [r["output"] for r in rows],
            "rougeL_f1": [r["scores"]["rougeL_f1"] for r in rows],
            "mean": scores[crit],
        }
        for crit, rows in view.items()
    }
    texts = {
        s: sorted(
            (r for r in per_example if r["criterion"] == "privleak" and r["split"] == s), key=lambda r: r["index"]
        )
        for s in SPLITS
    }
    view["per_text"] = {
        s: [{"n_tokens": r["n_tokens"], **{k: r["scores"][v] for k, v in ATTACKS.items()}} for r in rows]
        for s, rows in texts.items()
    }
    view["auc"] = {
        f"{a}_{b}_{k}": privacy["attacks"][v]["auc"][f"{a}_vs_{b}"]
        for k, v in ATTACKS.items()
        for a, b in (("forget", "holdout"), ("forget", "retain"), ("retain", "holdout"))
    }
    view["privleak"] = scores["privleak"]
    return view


def oracle_view(out: dict) -> dict:
    """The naive scorer's output in the golden file's shape."""
    view = {
        crit: {
            "reference": out["references"][crit],
            "output": out["outputs"][crit],
            "rougeL_f1": out["rouge"][crit],
            "mean": out["scores"][crit],
        }
        for crit in CRITERIA
    }
    view["per_text"] = {
        s: [{"n_tokens": r["n_tokens"], **{k: r["scores"][v] for k, v in ATTACKS.items()}} for r in out["privacy"][s]]
        for s in SPLITS
    }
    view["auc"] = {
        f"{pair.replace('_vs_', '_')}_{k}": out["auc"][v][pair] for k, v in ATTACKS.items() for pair in out["auc"][v]
    }
    view["privleak"] = out["scores"]["privleak"]
    return view


def assert_equals_original(view: dict) -> None:
    for crit in CRITERIA:
        want = EXPECTED[crit]["per_example"]
        assert view[crit]["output"] == [w["output"] for w in want], crit
        assert view[crit]["reference"] == [w["reference"] for w in want], crit
        assert view[crit]["rougeL_f1"] == [w["rougeL_f1"] for w in want], crit
        assert view[crit]["mean"] == EXPECTED[crit]["mean_rougeL_x100"], crit
    for split in SPLITS:
        want = EXPECTED["privleak"]["per_text"][split]
        got = view["per_text"][split]
        assert [g["n_tokens"] for g in got] == [w["n_tokens"] for w in want], split
        for i, (g, w) in enumerate(zip(got, want)):
            for attack in ATTACKS:
                assert g[attack] == pytest.approx(w[attack], rel=REL, abs=0), (split, i, attack)
    assert view["auc"] == EXPECTED["privleak"]["auc"]
    assert view["privleak"] == pytest.approx(EXPECTED["privleak"]["privleak_pct"], rel=1e-12, abs=0)


@pytest.fixture(scope="module")
def golden_lm():
    return load_model(GOLDEN / "model")


@pytest.fixture(scope="module")
def golden_corpus():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)  # no scal/ sust/: C5 and C6 are not golden-tested
        return load_corpus(GOLDEN / "corpus")


@pytest.fixture(scope="module")
def engine_run(golden_lm, golden_corpus, tmp_path_factory):
    cache = tmp_path_factory.mktemp("golden-cache")
    result = evaluate(
        golden_lm.model,
        golden_lm.tokenizer,
        golden_corpus,
        SETTINGS,
        metrics="all",
        retrain_auc=RETRAIN_AUC,
        cache_dir=cache,
        progress=False,
    )
    return result, cache


def test_fixture_is_muse_shaped(golden_lm, golden_corpus):
    """What makes the fixture a test of the deviations: no pad token, BOS added, texts beyond 2,048 tokens."""
    tok = golden_lm.tokenizer
    assert tok.pad_token_id is None and tok("a")["input_ids"][0] == tok.bos_token_id
    assert golden_lm.model.get_input_embeddings().weight.shape[0] == golden_lm.model.config.vocab_size == 1755
    longest = max(t["n_tokens"] for s in SPLITS for t in EXPECTED["privleak"]["per_text"][s])
    assert longest > 2048
    assert all(len(icl) == 10 for icl in (golden_corpus.knowmem_forget_qa_icl, golden_corpus.knowmem_retain_qa_icl))
    assert RETRAIN_AUC == EXPECTED["privleak"]["retrain_auc_used"]


def test_engine_equals_original_scorer(engine_run):
    result, _ = engine_run
    assert_equals_original(engine_view(result.per_example, result.privacy, result.scores))
    assert result.scores["auc"] == EXPECTED["privleak"]["auc"]["forget_holdout_Min-40%"]
    assert result.provenance["knowmem_shots"]["knowmem_f"]["used"] == 10
    assert result.provenance["privleak_length"]["max_length"] is None


def test_cli_equals_original_scorer(engine_run, tmp_path):
    """``musebench eval`` with the scorer's settings: the same cache key as the API run, the same numbers."""
    _, cache = engine_run
    out = tmp_path / "eval"
    code = main(
        [
            "eval",
            "--model",
            str(GOLDEN / "model"),
            "--data",
            str(GOLDEN / "corpus"),
            *CLI_SETTINGS,
            "--metrics",
            "all",
            "--cache-dir",
            str(cache),
            "--out",
            str(out),
            "--threads",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "per_example.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary["provenance"]["requests_computed"] == 0  # same settings as the API run: a full cache hit
    assert_equals_original(engine_view(rows, summary["privacy"], summary["scores"]))


@pytest.mark.slow  # ~13 CPU s: HF generate one prompt at a time and batch-1 forwards, as the original
def test_naive_scorer_equals_original_scorer(golden_lm, golden_corpus):
    out = naive_evaluate(golden_lm.model, golden_lm.tokenizer, golden_corpus, SETTINGS, retrain_auc=RETRAIN_AUC)
    assert out["shots"] == {"knowmem_f": 10, "knowmem_r": 10}
    assert_equals_original(oracle_view(out))
