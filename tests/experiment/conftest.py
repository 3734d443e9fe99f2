"""A fake backend: every model is a directory holding the scores its evaluation must return.

Unlearning writes one checkpoint directory per epoch whose ``scores.json`` follows a scripted KnowMem-forget
curve, so the selection rule, caching and C5/C6 chaining are tested without training anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musebench.data import Corpus, QAPair, VerbMemRecord

TARGET = {"verbmem_f": 60.0, "knowmem_f": 64.0, "knowmem_r": 55.0, "auc": 0.05}
RETRAIN = {"verbmem_f": 20.0, "knowmem_f": 33.0, "knowmem_r": 54.0, "auc": 0.48}
#: knowmem_f after each epoch, per method; knowmem_r falls by 10 per epoch from 50.
CURVES = {"ga": [40.0, 30.0, 10.0], "npo": [50.0, 45.0, 40.0], "tv": [60.0, 32.0, 20.0, 5.0]}


def fake_corpus() -> Corpus:
    docs = [f"Document number {i} talks about subject {i} at length." for i in range(12)]
    qa = [QAPair(f"What is {i}?", str(i)) for i in range(4)]
    return Corpus(
        name="fake",
        forget=docs[:4],
        retain1=docs[4:6],
        retain2=docs[6:8],
        holdout=docs[8:],
        verbmem_forget=[VerbMemRecord(docs[0][:10], docs[0][10:])],
        knowmem_forget_qa=qa[:2],
        knowmem_retain_qa=qa[2:],
        privleak_forget=docs[:2],
        privleak_holdout=docs[8:10],
        scal={1: docs[:1], 2: docs[:2], 3: docs[:3], 4: docs[:4]},
        sust={1: docs[0:1], 2: docs[1:2], 3: docs[2:3], 4: docs[3:4]},
        scal_qa={k: [QAPair(f"Scal {k}?", str(k))] for k in range(1, 5)},
        sust_qa={k: [QAPair(f"Sust {k}?", str(k))] for k in range(1, 5)},
        source="fake",
    )


def _write_model(path: Path, scores: dict, **extra) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "scores.json").write_text(json.dumps({"scores": scores, **extra}))
    return path


class FakeBackend:
    def __init__(self, curves=None, fail_eval_at: str | None = None):
        self.curves = curves or CURVES
        self.fail_eval_at = fail_eval_at  # raise (a "crash") when evaluating a path ending with this
        self.calls: dict[str, list] = {"prepare": [], "build": [], "evaluate": [], "unlearn": [], "report": []}

    def prepare_corpus(self, spec, out_dir):
        self.calls["prepare"].append(spec)
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir

    def load_corpus(self, data_dir):
        return fake_corpus()

    def validate_method(self, method, fields):
        return [] if method in ("ga", "npo", "tv") else [f"unknown method '{method}'"]

    def build_model(self, data_dir, role, out_dir, recipe, seed, base=None):
        self.calls["build"].append(role)
        self.calls.setdefault("build_base", []).append(base)
        return _write_model(out_dir / role, TARGET if role == "target" else RETRAIN)

    def evaluate(self, model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir=None):
        self.calls["evaluate"].append((model_path, metrics, checkpoint))
        if self.fail_eval_at and str(model_path).endswith(self.fail_eval_at):
            self.fail_eval_at = None
            raise RuntimeError("simulated crash")
        scores = json.loads((Path(model_path) / "scores.json").read_text())["scores"]
        if retrain_auc is not None:
            scores["privleak"] = (scores["auc"] - retrain_auc) / retrain_auc * 100
        if metrics is not None:
            keep = set(metrics) | ({"auc"} if "privleak" in metrics else set())  # as the real evaluate
            scores = {k: v for k, v in scores.items() if k in keep}
        return {"scores": scores, "ci": {k: [v - 1, v + 1] for k, v in scores.items()}}

    def unlearn(self, model_path, corpus, fields, out_dir, forget_split, reference_path, resume):
        self.calls["unlearn"].append(
            {
                "model": str(model_path),
                "reference": reference_path,
                "split": forget_split,
                "method": fields["method"],
                "resume": resume,
                "out_dir": str(out_dir),
            }
        )
        start = json.loads((Path(model_path) / "scores.json").read_text())["scores"]
        shift = start["knowmem_f"] - TARGET["knowmem_f"]  # chained requests start lower
        ckpts = []
        for epoch, kf in enumerate(self.curves[fields["method"]], start=1):
            scores = {
                "verbmem_f": kf / 2,
                "knowmem_f": kf + shift,
                "knowmem_r": 50.0 - 10 * epoch,
                "auc": 0.3 + 0.05 * epoch,
            }
            ckpts.append({"label": f"epoch-{epoch}", "path": str(_write_model(out_dir / f"epoch-{epoch}", scores))})
        return ckpts

    def count_tokens(self, model_path, texts):
        return sum(len(t.split()) for t in texts)

    def build_report(self, run_dir):
        self.calls["report"].append(run_dir)

    def versions(self):
        return {"musebench": "test"}


@pytest.fixture
def fake_backend():
    return FakeBackend()


@pytest.fixture
def make_backend():
    return FakeBackend


@pytest.fixture
def corpus_factory():
    return fake_corpus


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSEBENCH_CACHE", str(tmp_path / "cache"))
