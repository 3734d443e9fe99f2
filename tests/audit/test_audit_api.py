"""run_audit end to end on the tiny model: a memorising model is flagged, a model against itself is not,
the before/after change is measured, and the output is complete and reproducible."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from musebench.audit import DocumentSet, run_audit, write_audit
from musebench.audit.api import Attack
from musebench.errors import ConfigError


@pytest.fixture(scope="module")
def docs(audit_docs):
    return DocumentSet("forget.json", tuple(audit_docs["forget"])), DocumentSet(
        "holdout.json", tuple(audit_docs["holdout"])
    )


@pytest.fixture(scope="module")
def memorised_audit(memorised_model, random_model, docs, settings):
    forget, holdout = docs
    return run_audit(
        memorised_model,
        forget,
        holdout,
        settings,
        original=random_model,
        progress=False,
        command="musebench audit ...",
    )


def test_a_model_that_memorised_the_forget_documents_leaks(memorised_audit):
    audit, _ = memorised_audit
    probes = audit["probes"]
    assert audit["verdict"] == "leak"
    assert probes["verbatim_rougeL"]["status"] == "leak"
    assert probes["verbatim_rougeL"]["forget"] > probes["verbatim_rougeL"]["unseen"] + 30
    assert probes["verbatim_exact"]["forget"] > 0
    assert probes["membership"]["status"] == "leak" and probes["membership"]["forget"] < 0.2
    # the documents that leak most come with the model's extraction of them
    top = audit["leaking_documents"][0]
    assert top["excess"] > 0 and top["verbatim_example"]["output"]


def test_before_after_change_is_paired_by_document(memorised_audit):
    audit, _ = memorised_audit
    change = audit["original"]["change"]["verbatim_rougeL"]
    assert change["after"] - change["before"] == pytest.approx(change["change"])
    assert change["change"] > 20 and change["change_ci"][0] > 0  # memorising raised it, significantly
    assert audit["original"]["verdict"] != "leak"  # the random model before "training" leaked nothing


def test_a_model_against_itself_as_reference_is_indistinguishable(random_model, docs, settings):
    forget, _ = docs
    # 8 documents: too few units for the equivalence test (10 by default): inconclusive, naming what it needs
    audit, _ = run_audit(random_model, forget, None, settings, reference=random_model, progress=False)
    assert audit["verdict"] == "inconclusive" and audit["units_needed"] == 10  # zero-width CIs: only the floor
    assert {s["status"] for s in audit["probes"].values()} <= {"inconclusive", "uninformative"}
    audit, rows = run_audit(
        random_model, forget, None, replace(settings, min_units_equivalence=8), reference=random_model, progress=False
    )
    assert audit["verdict"] == "indistinguishable"
    for stat in audit["probes"].values():
        assert stat["excess"] == pytest.approx(0.0, abs=1e-12)
        if stat["status"] != "uninformative":  # a probe both models score 0 on everywhere is left out
            assert stat["excess_ci"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert audit["probes"]["membership"]["forget"] == pytest.approx(1.0)  # NLL ratio of a model to itself
    assert {r["model"] for r in rows} == {"model", "reference"}


def test_audit_is_deterministic_given_the_seed(memorised_model, random_model, docs, settings, memorised_audit):
    forget, holdout = docs
    again, _ = run_audit(
        memorised_model,
        forget,
        holdout,
        settings,
        original=random_model,
        progress=False,
        command="musebench audit ...",
    )
    first, _ = memorised_audit
    assert again["probes"] == first["probes"] and again["choices"] == first["choices"]


def test_an_attack_reruns_the_probes_on_the_rest_of_the_forget_set(memorised_model, random_model, docs, settings):
    """An attack handing back the memorising model turns a clean model's verdict into 'leak under attack'."""
    forget, holdout = docs
    trained = [0, 1, 2]
    attack = Attack(
        "swap",
        "returns the memorising model",
        lambda m, texts: memorised_model,
        trains_on=lambda d: (trained, [i for i in range(len(d)) if i not in trained]),
    )
    audit, rows = run_audit(random_model, forget, holdout, settings, attacks=[attack], progress=False)
    assert audit["model_verdict"] != "leak" and audit["verdict"] == "leak"
    assert audit["leaked_under_attack"] == ["swap"] and audit["verdict_text"].startswith("LEAK UNDER ATTACK")
    attacked = audit["attacks"][0]
    assert attacked["trained_on_docs"] == trained
    assert attacked["probes"]["verbatim_rougeL"]["n_forget"] == len(forget) - len(trained)
    assert not {r["doc"] for r in rows if r["model"] == "attack:swap" and r["role"] == "forget"} & set(trained)


def test_relearning_is_judged_against_the_same_attack_on_the_never_seen_side(
    random_model, memorised_model, holdout_memorised_model, docs, settings
):
    """A model that never saw the documents, relearned on half of them, learns what they share with the other
    half (people, phrasing): a fake relearning that memorises whichever side it is given. Against the
    unattacked holdout that looked like a leak ("LEAK UNDER ATTACK" for a retrain model); against the same
    attack on the holdout side (the control) it is not one."""
    from musebench.audit.attacks import relearn_split

    forget, holdout = docs

    def make(model, texts):
        return memorised_model if texts[0] in forget.documents else holdout_memorised_model

    attack = Attack(
        "relearn-like", "memorises whichever side it relearns", make, trains_on=lambda d: relearn_split(d, 0)
    )
    audit, rows = run_audit(random_model, forget, holdout, settings, attacks=[attack], progress=False)
    entry = audit["attacks"][0]
    assert entry["control"].startswith("the model under the same attack on 4 holdout documents")
    assert entry["verdict"] != "leak" and audit["leaked_under_attack"] == [] and audit["verdict"] != "leak"
    assert {r["model"] for r in rows} >= {"attack:relearn-like", "attack:relearn-like:control"}


def test_needs_a_never_seen_level(random_model, docs, settings):
    with pytest.raises(ConfigError, match="--holdout"):
        run_audit(random_model, docs[0], None, settings, progress=False)


def test_written_audit_is_complete(memorised_audit, tmp_path):
    audit, rows = memorised_audit
    out = write_audit(audit, rows, tmp_path / "audit")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".musebench",
        ".musebench.lock",
        "audit.html",
        "audit.json",
        "audit.md",
        "outputs.jsonl",
        "probes.jsonl",
    ]  # the mark (kind audit) and the lock every writer takes
    assert json.loads((out / ".musebench").read_text())["kind"] == "audit"
    saved = json.loads((out / "audit.json").read_text())
    assert saved["kind"] == "musebench-audit" and saved["verdict"] == "leak" and "_probe_rows" not in saved
    assert saved["choices"]["knowledge"]["shots_from"] == "holdout"
    md = (out / "audit.md").read_text()
    assert (
        md.index("Verdict: LEAK")
        < md.index("## Probes")
        < md.index("## Documents that leak most")
        < md.index("## Reproduce")
    )
    html = (out / "audit.html").read_text()
    assert "Content-Security-Policy" in html and "data:image/png;base64," in html and "<script" not in html
    assert len((out / "probes.jsonl").read_text().splitlines()) == saved["generated_probes"]


def test_write_refuses_a_foreign_directory(memorised_audit, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match=r"did not write \(notes.txt\)"):
        write_audit(*memorised_audit, foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    # a previous audit's directory is replaced only with force; a user's note added there is kept
    out = write_audit(*memorised_audit, tmp_path / "again")
    with pytest.raises(ConfigError, match="--force"):
        write_audit(*memorised_audit, out)
    (out / "notes.txt").write_text("mine")
    write_audit(*memorised_audit, out, force=True)
    assert (out / "audit.json").is_file() and (out / "notes.txt").read_text() == "mine"


def test_a_logged_audit_prints_a_line_per_stage_and_its_loops_heartbeat(
    random_model, docs, settings, capsys, monkeypatch
):
    """stderr is not a terminal under capsys: the stages and (with a 0 s heartbeat) every loop's steps print."""
    from musebench.audit.attacks import parse_attacks

    monkeypatch.setenv("MUSEBENCH_PROGRESS_SECONDS", "0")
    forget, holdout = docs
    run_audit(
        random_model,
        forget,
        holdout,
        replace(settings, probes=("verbatim", "membership")),
        attacks=parse_attacks(["relearn:2"], "cpu"),
        progress=True,
    )
    lines = capsys.readouterr().err.splitlines()
    assert "audit: probes built from 8 forget and 8 holdout documents, resampled by document" in lines
    assert any(line.startswith("audit/model: probes answered in ") for line in lines)
    assert any(line.startswith("audit/relearn:2: 1/2 steps") for line in lines)  # the attack's training steps
    assert any(line.startswith("eval audit-verbatim-model: ") for line in lines)  # the generation loop's heartbeat
    assert any(line.startswith("audit/attack relearn:2: done in ") for line in lines)
    quiet = run_audit(random_model, forget, holdout, replace(settings, probes=("membership",)), progress=False)
    assert quiet and not any(line.startswith("audit") for line in capsys.readouterr().err.splitlines())
