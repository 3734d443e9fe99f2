"""``run_audit``: probe a model with the documents of a takedown request and judge the answers.

No retrain model and no hand-written questions are needed: probes come from the documents
(``probes``), the never-seen level from holdout documents or a reference model (``verdict``). Optional:
the model before unlearning (``original``: the before/after change) and attacked copies of the model
(``attacks``: the same probes on a quantized or briefly relearned model).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musebench.audit.documents import DocumentSet, check_overlap
from musebench.audit.measure import Measurement, measure
from musebench.audit.probes import ProbeSet, build_probes, probe_rows
from musebench.audit.settings import AuditSettings
from musebench.audit.verdict import (
    RULE,
    VERDICT_TEXT,
    _raw_stats,
    attack_suite,
    calibrate,
    change,
    leaking_documents,
    needed,
    overall,
    probe_stats,
)
from musebench.console import format_duration, stage_line
from musebench.errors import ConfigError, ModelError
from musebench.versions import package_versions

SCHEMA_VERSION = 1
KIND = "musebench-audit"


@dataclass
class AuditModel:
    """A model to probe: weights, tokenizer and where it came from (a directory or hub name)."""

    model: object
    tokenizer: object
    source: str


@dataclass
class Attack:
    """A C7 attack: ``make(model, texts)`` returns the attacked copy (an ``AuditModel``) of a model.

    ``trains_on(documents)``, when set, splits a document set into the documents the attack trains on and
    the documents it probes afterwards (no unit and no word 8-gram shared with the trained ones). Such an
    attack gets a control: the same attack on the never-seen side (``run_audit``).
    """

    name: str
    description: str
    make: Callable[[AuditModel, list[str]], AuditModel]
    trains_on: Callable[[DocumentSet], tuple[list[int], list[int]]] | None = None


def _same_tokenizer(a: AuditModel, b: AuditModel, flag: str) -> None:
    """Token budgets (50-token continuations) only compare between models that share a vocabulary."""

    def vocab(m: AuditModel):
        t = m.tokenizer
        return t.get_vocab(), t.bos_token_id, t.eos_token_id

    if vocab(a) != vocab(b):
        raise ModelError(
            "uses a different vocabulary than --model; the probes' token budgets would not compare",
            file=b.source,
            field=flag,
        )


def run_audit(
    model: AuditModel,
    forget: DocumentSet,
    holdout: DocumentSet | None = None,
    settings: AuditSettings | None = None,
    *,
    original: AuditModel | None = None,
    reference: AuditModel | None = None,
    attacks: list[Attack] | None = None,
    cache_dir=None,
    progress: bool = True,
    command: str | None = None,
) -> tuple[dict, list[dict]]:
    """The audit (the content of ``audit.json``) and one output row per probe and model."""
    settings = settings or AuditSettings()
    start = time.perf_counter()
    if holdout is None and reference is None:
        raise ConfigError(
            "the never-seen level needs --holdout DOCS (documents the model never saw) or "
            "--reference MODEL (a model that never saw the forget documents)",
            field="--holdout",
        )
    if holdout is not None:
        check_overlap(forget, holdout)
    for other, flag in ((original, "--original"), (reference, "--reference")):
        if other is not None:
            _same_tokenizer(model, other, flag)
    probes = build_probes(model.tokenizer, forget, holdout, settings)
    timing: dict[str, float] = {"probes": time.perf_counter() - start}
    # in a log, a line per stage (the loops inside add one every ~30 s of work: musebench.console)
    say = stage_line if progress else (lambda text: None)
    say(
        f"audit: probes built from {len(forget)} forget"
        + (f" and {len(holdout)} holdout" if holdout is not None else "")
        + " documents, resampled by "
        + ("unit" if forget.groups is not None else "document")
    )

    def probe(m: AuditModel, label: str, probe_set: ProbeSet = probes) -> Measurement:
        result = measure(m.model, m.tokenizer, probe_set, settings, cache_dir=cache_dir, label=label, progress=progress)
        timing[label] = result.seconds
        say(
            f"audit/{label}: probes answered in {format_duration(result.seconds)} "
            f"({format_duration(time.perf_counter() - start)} elapsed)"
        )
        return result

    groups = {"forget": forget.groups, "holdout": holdout.groups if holdout is not None else None}
    main = probe(model, "model")
    rows = [{"model": "model", **r} for r in main.rows]
    ref = None
    if reference is not None:
        # the reference model answers the same probes: paired by document without a holdout; with one, every
        # document is taken relative to it (a holdout shifted for both models cancels out)
        ref = probe(reference, "reference")
        rows += [{"model": "reference", **r} for r in ref.rows]
    stats = _raw_stats(main, settings, ref, groups, "model")
    families = [stats]
    attack_entries = []
    for attack in attacks or []:
        t0 = time.perf_counter()
        entry, attack_stats, attack_rows = _run_attack(
            attack, model, reference, forget, holdout, probes, ref, groups, settings, probe
        )
        timing[f"attack:{attack.name}"] = time.perf_counter() - t0
        say(f"audit/attack {attack.name}: done in {format_duration(timing[f'attack:{attack.name}'])}")
        rows += attack_rows
        families.append(attack_stats)
        attack_entries.append((entry, attack_stats))
    calibrate(families, settings)  # Holm over every probe of the model and of every attacked copy
    model_verdict = overall(stats)
    verdict = overall(*families)
    units = needed(*families)
    audit = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "verdict": verdict,
        "verdict_text": VERDICT_TEXT[verdict]
        + (
            f" (about {units} units a side would let the equivalence test decide)"
            if verdict == "inconclusive" and units
            else ""
        ),
        "model_verdict": model_verdict,  # before any attack (same family-wise correction)
        "rule": RULE,
        "units_needed": units,
        "units": {
            "forget": forget.units(),
            "holdout": holdout.units() if holdout is not None else None,
            "by": "group" if forget.groups is not None else "document",
        },
        "never_seen_level": _never_seen(holdout, reference),
        "probes": {k: s.to_dict() for k, s in stats.items()},
        "membership_suite": attack_suite(main, settings, ref),
        "leaking_documents": leaking_documents(main, stats, ref if holdout is None else None),
        "original": None,
        "attacks": [],
    }
    if original is not None:
        before = probe(original, "original")
        rows += [{"model": "original", **r} for r in before.rows]
        before_stats = probe_stats(before, settings, ref, groups, "original")
        audit["original"] = {
            "source": original.source,
            "verdict": overall(before_stats),
            "probes": {k: s.to_dict() for k, s in before_stats.items()},
            "change": change(main, before, settings),
        }
    for entry, attack_stats in attack_entries:
        entry["verdict"] = overall(attack_stats)
        entry["probes"] = {k: s.to_dict() for k, s in attack_stats.items()}
        audit["attacks"].append(entry)
    leaked_under = [a["name"] for a in audit["attacks"] if a["verdict"] == "leak"]
    if model_verdict != "leak" and leaked_under:
        audit["verdict"] = "leak"
        audit["verdict_text"] = (
            f"LEAK UNDER ATTACK ({', '.join(leaked_under)}): the model itself is "
            f"{model_verdict.replace('_', ' ')}, but the attacked copy recognisably knows the documents beyond "
            "what the same attack teaches a never-seen control"
        )
    audit["leaked_under_attack"] = leaked_under
    timing["total"] = time.perf_counter() - start
    audit.update(
        {
            "choices": probes.choices(settings),
            "settings": settings.to_dict(),
            "models": {
                "model": _model_info(model),
                **({"original": _model_info(original)} if original else {}),
                **({"reference": _model_info(reference)} if reference else {}),
            },
            "reproduce": command,
            "timing_s": {k: round(v, 3) for k, v in timing.items()},
            "provenance": {
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "packages": package_versions(),
            },
            "generated_probes": len(probe_rows(probes)),
        }
    )
    audit["_probe_rows"] = probe_rows(probes)
    return audit, rows


def _never_seen(holdout, reference) -> str:
    if holdout is not None and reference is not None:
        return (
            f"holdout documents, each taken relative to the reference model {reference.source} (model minus "
            "reference per document; membership: NLL ratio): a holdout shifted for both models cancels out"
        )
    if holdout is not None:
        return "holdout documents (same probes)"
    return f"reference model {reference.source} (same forget probes, paired by document)"


def _texts(docs: DocumentSet, idx: list[int]) -> list[str]:
    return [docs.documents[i] for i in idx]


def _only(probes: ProbeSet, role: str, keep: list[int]) -> ProbeSet:
    """``probes`` with only ``keep`` of ``role`` and nothing of the other roles."""
    out = probes
    for r, rp in probes.roles.items():
        drop = [d for d in rp.doc_indices() if r != role or d not in set(keep)]
        out = out.without(r, drop)
    return out


def _run_attack(
    attack: Attack,
    model: AuditModel,
    reference: AuditModel | None,
    forget: DocumentSet,
    holdout: DocumentSet | None,
    probes: ProbeSet,
    ref: Measurement | None,
    groups,
    settings,
    probe,
) -> tuple[dict, dict, list[dict]]:
    """One attack on the model and on its control; the attacked copy's probe statistics (uncalibrated).

    Without training (quantization) the attacked copy answers every probe, the holdout included (its own
    never-seen level). A relearning attack trains on part of the forget documents and is probed on the rest;
    its control is the same attack on the never-seen side: the reference model relearned on the same
    documents (paired on the probed rest), else the model relearned on as many holdout documents and probed
    on the rest of the holdout. The statistic is the attacked model's excess over its attacked control.
    """
    name = f"attack-{attack.name}"
    entry = {"name": attack.name, "description": attack.description}
    if attack.trains_on is None:
        attacked = attack.make(model, [])
        got = probe(attacked, name)
        del attacked
        entry["control"] = "the never-seen level under the same attack (the attacked copy answers it too)"
        stats = _raw_stats(got, settings, ref, groups, name)
        return entry, stats, [{"model": f"attack:{attack.name}", **r} for r in got.rows]
    f_slice, f_rest = attack.trains_on(forget)
    entry["trained_on_docs"], entry["probed_docs"] = f_slice, f_rest
    attacked = attack.make(model, _texts(forget, f_slice))
    got = probe(attacked, name, _only(probes, "forget", f_rest))
    del attacked
    rows = [{"model": f"attack:{attack.name}", **r} for r in got.rows]
    if reference is not None:
        control = attack.make(reference, _texts(forget, f_slice))
        ctrl = probe(control, f"{name}-control", _only(probes, "forget", f_rest))
        del control
        entry["control"] = (
            f"the reference model {reference.source} under the same attack (same relearned "
            "documents), paired on the probed documents"
        )
        stats = _raw_stats(got, settings, ctrl, groups, name)
    else:
        h_slice, h_rest = attack.trains_on(holdout)
        control = attack.make(model, _texts(holdout, h_slice))
        ctrl = probe(control, f"{name}-control", _only(probes, "holdout", h_rest))
        del control
        entry["control"] = (
            f"the model under the same attack on {len(h_slice)} holdout documents, probed on "
            f"{len(h_rest)} other holdout documents (what relearning similar text teaches)"
        )
        entry["control_trained_on_docs"], entry["control_probed_docs"] = h_slice, h_rest
        joined = Measurement(
            per_doc={"forget": got.per_doc.get("forget", {}), "holdout": ctrl.per_doc.get("holdout", {})},
            membership={
                k: v
                for k, v in (("forget", got.membership.get("forget")), ("holdout", ctrl.membership.get("holdout")))
                if v
            },
        )
        stats = _raw_stats(joined, settings, None, groups, name)
    rows += [{"model": f"attack:{attack.name}:control", **r} for r in ctrl.rows]
    return entry, stats, rows


def _model_info(m: AuditModel) -> dict:
    from musebench.evaluate.fingerprint import model_fingerprint

    return {"source": m.source, "fingerprint": model_fingerprint(m.model)}


#: What an audit writes into its --out (a user's file of one of these names is never overwritten).
AUDIT_FILES = ("audit.json", "audit.md", "audit.html", "probes.jsonl", "outputs.jsonl")


def _out_rules(force: bool) -> dict:
    return {"kind": "audit", "force": force, "writes": AUDIT_FILES, "results": ("audit.json",)}


def check_out(out: str | Path, force: bool = False) -> Path:
    """``--out`` must be new, empty, or an audit's directory (an earlier audit is replaced only with
    ``force``); a user's files in it are kept, never overwritten (``musebench.io.check_output_dir``)."""
    from musebench.io import check_output_dir

    return check_output_dir(out, **_out_rules(force))


def claim_out(out: str | Path, force: bool = False):
    """The audit's output directory, checked, locked and marked for the block (``musebench.io.output_dir``)."""
    from musebench.io import output_dir

    return output_dir(out, **_out_rules(force))


def write_audit(audit: dict, rows: list[dict], out: str | Path, force: bool = False) -> Path:
    """Write audit.json, audit.md, audit.html, probes.jsonl, outputs.jsonl: all of them or none."""
    with claim_out(out, force) as claimed:
        return save_audit(audit, rows, claimed)


def save_audit(audit: dict, rows: list[dict], out: Path) -> Path:
    """``write_audit`` into a directory the caller has claimed (``claim_out``)."""
    import json

    from musebench.audit.render import audit_page, render_html, render_markdown
    from musebench.io import atomic_directory, kept_entries

    audit = dict(audit)
    probe_jsonl = audit.pop("_probe_rows", [])
    with atomic_directory(out, keep=kept_entries(out)) as tmp:  # a user's files in it stay
        (tmp / "probes.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in probe_jsonl), encoding="utf-8"
        )
        (tmp / "outputs.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False, default=float) + "\n" for r in rows), encoding="utf-8"
        )
        page = audit_page(audit)  # built once, rendered twice
        (tmp / "audit.md").write_text(render_markdown(page), encoding="utf-8")
        (tmp / "audit.html").write_text(render_html(page), encoding="utf-8")
        (tmp / "audit.json").write_text(
            json.dumps(audit, indent=2, ensure_ascii=False, default=float) + "\n", encoding="utf-8"
        )
    return out
