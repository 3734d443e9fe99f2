"""C7 in an experiment (fake backend): every attack on every selected checkpoint, controls, caching, config."""

from __future__ import annotations

import json

import pytest
from tests.experiment.conftest import TARGET, FakeBackend

from musebench.data import Corpus, QAPair, VerbMemRecord
from musebench.errors import ConfigError
from musebench.experiment.config import parse_experiment
from musebench.experiment.runner import run_experiment

PEOPLE = ["Ana Bel", "Cid Dor", "Eva Fon", "Gil Hart"]


def robust_corpus() -> Corpus:
    docs = [f"{p} was born in town {i}. {p} works as trade {i}." for i, p in enumerate(PEOPLE)]
    others = [f"Other document {i} about nobody in particular." for i in range(8)]
    return Corpus(
        name="fake",
        forget=docs,
        retain1=others[:2],
        retain2=others[2:4],
        holdout=others[4:],
        verbmem_forget=[VerbMemRecord(d[:12], d[12:]) for d in docs],
        knowmem_forget_qa=[QAPair(f"Where was {p} born?", f"town {i}") for i, p in enumerate(PEOPLE)],
        knowmem_forget_qa_paraphrase=[QAPair(f"Home town of {p}?", f"town {i}") for i, p in enumerate(PEOPLE)],
        knowmem_retain_qa=[QAPair("What is 1?", "1")],
        privleak_forget=docs[:2],
        privleak_holdout=others[4:6],
        source="fake",
    )


class RobustBackend(FakeBackend):
    """Quantization moves every score halfway to the target's; relearning adds 10 to KnowMem-f."""

    def __init__(self):
        super().__init__()
        self.calls.update({"quantize": [], "relearn": []})

    def prepare_corpus(self, spec, out_dir):
        out = super().prepare_corpus(spec, out_dir)
        (out / "tags").mkdir(exist_ok=True)
        (out / "tags" / "forget.json").write_text(
            json.dumps({"unit": "person", "forget": PEOPLE, "verbmem_forget": PEOPLE, "knowmem_forget_qa": PEOPLE})
        )
        return out

    def load_corpus(self, data_dir):
        return robust_corpus()

    def _scores(self, path):
        return json.loads((__import__("pathlib").Path(path) / "scores.json").read_text())["scores"]

    def evaluate(self, model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir=None):
        out = super().evaluate(model_path, corpus, settings, metrics, retrain_auc, checkpoint, save_dir)
        if corpus.knowmem_forget_qa and corpus.knowmem_forget_qa[0].question.startswith("Home town"):
            out["scores"] = {"knowmem_f": out["scores"]["knowmem_f"] / 2}  # rephrasing halves every score
        return out

    def check_attack(self, name, value):
        if (name, value) == ("quantize", "fp4"):
            from musebench.errors import ConfigError

            raise ConfigError("bitsandbytes cannot run fp4 on device 'fake'", field="--scheme", value="fp4")

    def evaluate_attacked(self, name, model_path, value, corpus, settings, metrics, retrain_auc, checkpoint):
        if name == "paraphrase":
            from musebench.robustness.attacks import paraphrase_corpus

            return self.evaluate(model_path, paraphrase_corpus(corpus), settings, ["knowmem_f"], None, checkpoint)
        if name not in ("quantize", "relearn"):  # any other registered attack: it changes nothing here
            self.calls.setdefault(name, []).append((model_path, value))
            return {"scores": {k: v for k, v in self._scores(model_path).items() if k != "auc"}, "ci": {}}
        return getattr(self, f"_{name}")(model_path, value)

    def _quantize(self, model_path, scheme):
        self.calls["quantize"].append((model_path, scheme))
        s = self._scores(model_path)
        return {"scores": {k: v + (TARGET[k] - v) / 2 for k, v in s.items() if k != "auc"}, "ci": {}}

    def _relearn(self, model_path, run):
        split, budget = run
        self.calls["relearn"].append((model_path, budget["steps"]))
        s = {k: v for k, v in self._scores(model_path).items() if k in split.metrics}
        return {
            "before": {"scores": s, "ci": {}},
            "after": {"scores": {**s, "knowmem_f": s["knowmem_f"] + 10}, "ci": {}},
            "losses": [1.0],
        }


EXPERIMENT = {
    "name": "robust",
    "corpus": "news-mini",
    "methods": {"ga": {"num_train_epochs": 3}},
    "robustness": {"quantize": ["nf4"], "relearn": {"train_on": ["forget-slice"], "fraction": 0.5}},
}


def test_every_attack_runs_on_controls_and_selected_checkpoints(tmp_path):
    backend = RobustBackend()
    results = run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", backend)
    doc = results["robustness"]
    assert set(doc["controls"]) == {"target", "retrain"}
    ga = doc["methods"]["ga"]
    assert ga["checkpoint"] == "epoch-2" and set(ga["attacks"]) == {
        "quantize-nf4",
        "relearn-forget-slice",
        "paraphrase",
    }
    # ga epoch-2 knowmem_f 30 (target 64): quantized 47 -> (47 - 30) / (64 - 30) = 0.5
    assert ga["attacks"]["quantize-nf4"]["recovery"]["knowmem_f"] == 0.5
    # relearned +10 on the rest for both ga and retrain: the control's gain exactly, so nothing beyond it
    # ((40 - 30) - (43 - 33)) / (64 - 30) = 0 (a difference of ratios made it 10/34 - 10/31)
    relearn = ga["attacks"]["relearn-forget-slice"]
    assert relearn["excess"]["knowmem_f"] == 0.0 and relearn["control_gain"]["knowmem_f"] == 10.0
    # rephrased: both halved, so normalised by the target nothing more comes back
    assert ga["attacks"]["paraphrase"]["recovery"]["knowmem_f"] == 0.0
    assert "split by person" in doc["notes"][0] and doc["settings"]["split"]["forget-slice"]["slice_units"] == 2
    # each stage's name on the report, from its Attack entry
    assert doc["titles"] == {
        "quantize-nf4": "NF4 (4-bit)",
        "relearn-forget-slice": "relearn on forget slice",
        "paraphrase": "rephrased questions",
    }
    assert len(backend.calls["quantize"]) == 3 and len(backend.calls["relearn"]) == 3


def test_a_registered_attack_runs_on_controls_and_checkpoints_at_its_default(tmp_path, monkeypatch):
    from musebench.robustness.registry import ATTACKS, Attack

    monkeypatch.setitem(
        ATTACKS,
        "noise",
        Attack(
            "noise",
            "noise on every weight",
            "the same noise on the target",
            evaluate=None,
            option="a scale",
            default="0.01",
            parse=float,
        ),
    )
    backend = RobustBackend()
    doc = run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", backend)["robustness"]
    assert sorted(backend.calls["noise"]) == sorted((p, 0.01) for p, *_ in backend.calls["quantize"])
    entry = doc["methods"]["ga"]["attacks"]["noise-0.01"]
    assert entry["recovery"]["knowmem_f"] == 0.0  # the attacked scores are the checkpoint's own: nothing back
    assert set(doc["controls"]["target"]) >= {"noise-0.01"}


def test_rerun_redoes_no_attack_and_a_changed_budget_redoes_only_relearning(tmp_path):
    run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", RobustBackend())
    again = RobustBackend()
    first = run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", again)
    assert again.calls["quantize"] == again.calls["relearn"] == []
    changed = {
        **EXPERIMENT,
        "robustness": {
            **EXPERIMENT["robustness"],
            "relearn": {"train_on": ["forget-slice"], "fraction": 0.5, "steps": 3},
        },
    }
    third = RobustBackend()
    results = run_experiment(parse_experiment(changed), tmp_path / "run", third)
    assert third.calls["quantize"] == [] and [s for _, s in third.calls["relearn"]] == [3, 3, 3]
    assert (
        results["robustness"]["methods"]["ga"]["attacks"]["quantize-nf4"]
        == first["robustness"]["methods"]["ga"]["attacks"]["quantize-nf4"]
    )


def test_an_earlier_files_lr_reads_as_learning_rate_with_a_warning_and_the_same_stages(tmp_path):
    def relearn(**budget):
        return {**EXPERIMENT, "robustness": {**EXPERIMENT["robustness"], "relearn": {"train_on": ["retain"], **budget}}}

    new = parse_experiment(relearn(learning_rate=5e-3))
    with pytest.warns(
        FutureWarning, match=r"robustness\.relearn\.lr: an earlier musebench's name; write learning_rate"
    ):
        old = parse_experiment(relearn(lr=5e-3))
    assert old.robustness == new.robustness and new.robustness.relearn.learning_rate == 5e-3
    assert old.robustness.relearn_budget(0) == new.robustness.relearn_budget(0)
    assert "lr" not in new.to_dict()["robustness"]["relearn"]
    # the file with the old name and the file with the new one share their relearning stages
    run_experiment(new, tmp_path / "run", RobustBackend())
    again = RobustBackend()
    run_experiment(old, tmp_path / "run", again)
    assert again.calls["relearn"] == []
    # both names at once is not a rename: the old one is refused as an unknown key
    with pytest.raises(ConfigError, match=r"robustness\.relearn\.lr: unknown key"):
        parse_experiment(relearn(lr=5e-3, learning_rate=1e-3))


def test_robustness_block_defaults_and_round_trip():
    cfg = parse_experiment({"corpus": "news-mini", "methods": ["ga", "npo"], "robustness": True})
    spec = cfg.robustness
    assert spec.enabled and spec.quantize == ["nf4", "fp4"] and spec.relearn_on == ["forget-slice", "retain"]
    assert [m.name for m in cfg.robustness_methods()] == ["ga", "npo"]
    assert parse_experiment(cfg.to_dict()).robustness == spec
    off = parse_experiment({"corpus": "news-mini", "methods": ["ga"]})
    assert not off.robustness.enabled and parse_experiment(off.to_dict()).robustness == off.robustness


@pytest.mark.parametrize(
    "block, field",
    [
        ({"quantize": ["int4"]}, "robustness.quantize"),
        ({"relearn": {"fraction": 1.5}}, "robustness.relearn.fraction"),
        (__import__("yaml").safe_load("relearn: {on: [retain]}"), "write train_on"),  # YAML 1.1: a bare on is true
        ({"relearn": {"train_on": "both"}}, "robustness.relearn.train_on"),
        ({"methods": ["nope"]}, "robustness.methods"),
        ({"quantize": [], "relearn": False, "paraphrase": False}, "enabled with no attack"),
    ],
)
def test_bad_robustness_block_names_the_field(block, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        parse_experiment({"corpus": "news-mini", "methods": ["ga"], "robustness": block})


@pytest.mark.parametrize(
    "block, field",
    [({"quantize": ["fp4"]}, "robustness.quantize"), ({"relearn": {"fraction": 0.9}}, "robustness.relearn.fraction")],
)
def test_attacks_that_cannot_run_fail_before_any_training(tmp_path, block, field):
    backend = RobustBackend()
    raw = {**EXPERIMENT, "robustness": {"quantize": ["nf4"], **block}}
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        run_experiment(parse_experiment(raw), tmp_path / "run", backend)
    assert backend.calls["build"] == [] and backend.calls["unlearn"] == []


def test_the_c7_block_reads_back_whole(tmp_path):
    """What the experiment writes for C7 is a fixed point of the results schema's reader."""
    import json

    from musebench.results import parse_results

    run_experiment(parse_experiment(EXPERIMENT), tmp_path / "run", RobustBackend())
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    back = parse_results(on_disk, tmp_path / "run" / "results.json")
    assert back.to_dict() == on_disk and list(on_disk["robustness"]) == list(back.robustness.to_dict())
    assert back.robustness.methods["ga"].measures() == {
        a: e["measure"]["knowmem_f"] for a, e in on_disk["robustness"]["methods"]["ga"]["attacks"].items()
    }


def test_missing_bitsandbytes_skips_quantization_with_one_warning(tmp_path, monkeypatch, recwarn):
    """The core install has no bitsandbytes: the built-in experiments still run, the quantization attacks are
    noted as not run (with the extra that runs them) in results.json and the report, never an error."""
    import sys

    from musebench.experiment.robustness import not_run
    from musebench.robustness.registry import ATTACKS

    QUANT_NOT_RUN = not_run(ATTACKS["quantize"])
    from musebench.report import build_report

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # `import bitsandbytes` now fails, as when absent
    backend = RobustBackend()  # its check_attacks refuses fp4: with the library missing nothing is checked
    raw = {**EXPERIMENT, "robustness": {**EXPERIMENT["robustness"], "quantize": ["nf4", "fp4"]}}
    results = run_experiment(parse_experiment(raw), tmp_path / "run", backend)
    assert [str(w.message) for w in recwarn if "bitsandbytes" in str(w.message)] == [
        "bitsandbytes is not installed: C7's quantization attacks (nf4, fp4) are skipped "
        "(pip install 'musebench[quant]' runs them)"
    ]
    assert backend.calls["quantize"] == [] and len(backend.calls["relearn"]) == 3
    doc = results["robustness"]
    for entry in [doc["methods"]["ga"]["attacks"], doc["controls"]["target"], doc["controls"]["retrain"]]:
        assert entry["quantize-nf4"] == entry["quantize-fp4"] == {"skipped": QUANT_NOT_RUN}
    assert "relearn-forget-slice" in doc["methods"]["ga"]["attacks"]
    report = build_report(tmp_path / "run").parent
    assert QUANT_NOT_RUN == "not run: pip install 'musebench[quant]'"
    assert QUANT_NOT_RUN in (report / "results.md").read_text(encoding="utf-8")
    assert "musebench[quant]" in (report / "index.html").read_text(encoding="utf-8")
