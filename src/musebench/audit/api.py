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
    attack_suite,
    change,
    leaking_documents,
    overall,
    probe_stats,
)
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
    """A C7 attack: ``make(model, texts)`` returns the attacked copy (an ``AuditModel``) of the audited model.

    ``trains_on(n_forget_docs)``, when set, names the forget documents the attack trains on (``texts`` are
    theirs); they are left out of the attacked model's probes, which then measure only what it did not see.
    """

    name: str
    description: str
    make: Callable[[AuditModel, list[str]], AuditModel]
    trains_on: Callable[[int], list[int]] | None = None


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

    def probe(m: AuditModel, label: str, probe_set: ProbeSet = probes) -> Measurement:
        result = measure(
            m.model, m.tokenizer, probe_set, settings, cache_dir=cache_dir, label=label, progress=progress
        )
        timing[label] = result.seconds
        return result

    main = probe(model, "model")
    rows = [{"model": "model", **r} for r in main.rows]
    ref = None
    if reference is not None:
        # the reference model answers the forget probes (paired mode) and, with a holdout, the reference ratio
        ref = probe(reference, "reference")
        rows += [{"model": "reference", **r} for r in ref.rows]
    stats = probe_stats(main, settings, ref)
    verdict = overall(stats)
    audit = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "verdict": verdict,
        "verdict_text": VERDICT_TEXT[verdict],
        "model_verdict": verdict,  # before any attack
        "rule": RULE,
        "never_seen_level": (
            "holdout documents (same probes)"
            if holdout is not None
            else f"reference model {reference.source} (same forget probes, paired by document)"
        ),
        "probes": {k: s.to_dict() for k, s in stats.items()},
        "membership_suite": attack_suite(main, settings, ref),
        "leaking_documents": leaking_documents(main, stats, ref if holdout is None else None),
        "original": None,
        "attacks": [],
    }
    if original is not None:
        before = probe(original, "original")
        rows += [{"model": "original", **r} for r in before.rows]
        before_stats = probe_stats(before, settings, ref)
        audit["original"] = {
            "source": original.source,
            "verdict": overall(before_stats),
            "probes": {k: s.to_dict() for k, s in before_stats.items()},
            "change": change(main, before, settings),
        }
    for attack in attacks or []:
        t0 = time.perf_counter()
        trained = attack.trains_on(len(forget)) if attack.trains_on else []
        attacked = attack.make(model, [forget.documents[i] for i in trained])
        timing[f"attack:{attack.name}:make"] = time.perf_counter() - t0
        got = probe(attacked, f"attack-{attack.name}", probes.without("forget", trained))
        rows += [{"model": f"attack:{attack.name}", **r} for r in got.rows]
        attack_stats = probe_stats(got, settings, ref)
        audit["attacks"].append(
            {
                "name": attack.name,
                "description": attack.description,
                "trained_on_docs": trained,
                "verdict": overall(attack_stats),
                "probes": {k: s.to_dict() for k, s in attack_stats.items()},
            }
        )
        del attacked
    leaked_under = [a["name"] for a in audit["attacks"] if a["verdict"] == "leak"]
    if verdict != "leak" and leaked_under:
        audit["verdict"] = "leak"
        audit["verdict_text"] = (
            f"LEAK UNDER ATTACK ({', '.join(leaked_under)}): the model itself is "
            f"{verdict.replace('_', ' ')}, but the attacked copy recognisably knows the documents"
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

    from musebench.audit.render import render_html, render_markdown
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
        (tmp / "audit.md").write_text(render_markdown(audit), encoding="utf-8")
        (tmp / "audit.html").write_text(render_html(audit), encoding="utf-8")
        (tmp / "audit.json").write_text(
            json.dumps(audit, indent=2, ensure_ascii=False, default=float) + "\n", encoding="utf-8"
        )
    return out
