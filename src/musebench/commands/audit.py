"""Audit a model against a takedown request: no retrain model and no hand-written questions needed.

Probes are generated from the documents to remove (DOCS: a .txt / .json / .jsonl file or a folder of .txt):
verbatim continuations (ROUGE-L, exact 50-token extraction), cloze questions from their own sentences
(dates, numbers, names blanked; exact match, ROUGE-L) and membership inference (Min-K% and the suite).
The never-seen level is the same probes on --holdout documents the model never saw, or, without them, a
--reference model that never saw the forget documents. --original adds the before/after change, --attacks
reruns the probes on quantized / briefly relearned copies. Writes OUT/audit.html, audit.md, audit.json,
probes.jsonl and outputs.jsonl (all or nothing). Exit 0; 1 when --fail-on is met; 2 on bad input.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from musebench.commands.common import (
    add_device,
    add_out,
    add_threads,
    check_model_arg,
    parse_csv,
    resolve_device,
    resolve_dtype,
    set_threads,
)
from musebench.errors import ConfigError, DataError

EXAMPLES = """examples:
  musebench audit --model runs/npo/epoch-3 --forget takedown/ --holdout similar.jsonl --out audit/npo3
  musebench audit --model runs/npo/epoch-3 --forget docs.json --holdout unseen.json --original models/t \\
      --attacks quantize:nf4,relearn:10 --fail-on leak --out audit/npo3
  musebench audit --model my-model --forget docs.txt --reference base-model --out audit/mine
"""

#: the evaluation knobs an audit takes from the command line (``AuditSettings.eval``), and their flags' names
EVAL_FLAGS = ("mink_k", "bootstrap_samples", "batch_size", "memory_budget_gb", "privleak_max_length", "seed")
EVAL_RENAMES = {"privleak_max_length": "membership_max_length"}


def settings_flags():
    """The probe knobs (``AuditSettings``) and the evaluation's (``AuditSettings.eval``) as flags."""
    from musebench.audit.settings import AuditSettings, audit_evaluation
    from musebench.commands.flags import SettingsFlags
    from musebench.evaluate.settings import EvalSettings

    return (
        SettingsFlags(AuditSettings, skip=("probes", "eval")),
        SettingsFlags(EvalSettings, only=EVAL_FLAGS, rename=EVAL_RENAMES, defaults=audit_evaluation()),
    )


def parents() -> list[argparse.ArgumentParser]:
    return [flags.parser for flags in settings_flags()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="the model to audit: a directory, hub name or unlearning checkpoint")
    p.add_argument(
        "--forget",
        required=True,
        metavar="DOCS",
        help='the documents to remove (.json / .jsonl objects may name their unit: "group", "person" or "source")',
    )
    p.add_argument("--holdout", metavar="DOCS", help="similar documents the model never saw (the never-seen level)")
    p.add_argument(
        "--units-from",
        metavar="CORPUS_DIR",
        help="a corpus directory whose tags/units.json names the person of each document (the mini "
        "corpora write it): whole people are resampled, not documents",
    )
    p.add_argument("--original", metavar="MODEL", help="the model before unlearning: adds the before/after change")
    p.add_argument(
        "--reference",
        metavar="MODEL",
        help="a model that never saw the forget documents: the never-seen level without --holdout; with "
        "--holdout every document is taken relative to it (corrects a shifted holdout), and it is the "
        "relearning attack's control",
    )
    p.add_argument("--attacks", help="comma list of quantize[:int8|nf4|fp4], relearn[:STEPS]")
    p.add_argument("--probes", help="comma list of verbatim, knowledge, membership (default: all three)")
    p.add_argument(
        "--fail-on",
        choices=("leak", "distinguishable"),
        help="exit 1 on a leak (or on anything but 'indistinguishable from unseen')",
    )
    p.add_argument("--cache-dir", help="cache of model outputs (default: none); must lie outside --out")
    p.add_argument("--trust-remote-code", action="store_true", help="allow models with custom code")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the earlier audit in --out (a user's files there are kept either way)",
    )
    add_out(p)
    add_device(p)
    add_threads(p)


def build_settings(args: argparse.Namespace):
    from dataclasses import replace

    from musebench.audit import AuditSettings
    from musebench.audit.settings import audit_evaluation

    probe_flags, eval_flags = settings_flags()
    overrides = probe_flags.given(args)
    probes = parse_csv(args.probes)
    if probes:
        overrides["probes"] = tuple(p.lower() for p in probes)
    return AuditSettings(**overrides, eval=replace(audit_evaluation(), **eval_flags.given(args)))


def reproduce_command(args: argparse.Namespace, seed: int) -> str:
    from musebench.commands.flags import UNSET

    parts = ["musebench", "audit"]
    for flag in (
        "model",
        "forget",
        "holdout",
        "original",
        "reference",
        "attacks",
        "probes",
        "fail_on",
        *(dest for flags in settings_flags() for dest in flags.names if dest != "seed"),
        "out",
    ):
        value = getattr(args, flag, None)
        if value is not None and value is not UNSET:
            parts += ["--" + flag.replace("_", "-"), str(value)]
    parts += ["--seed", str(seed)]
    return shlex.join(parts)


def _load(path: str, device, dtype, args):
    from musebench.audit import AuditModel
    from musebench.unlearn import load_unlearned

    if args.trust_remote_code:
        from musebench.models.loading import load_model

        loaded = load_model(path, device, dtype, trust_remote_code=True)
    else:
        loaded = load_unlearned(path, device, dtype)
    return AuditModel(loaded.model, loaded.tokenizer, str(path))


def run(args: argparse.Namespace) -> int:

    from musebench.audit import check_overlap, load_documents
    from musebench.audit.api import check_out, claim_out
    from musebench.audit.attacks import parse_attacks

    set_threads(args.threads)
    settings = build_settings(args)
    out = check_out(args.out, force=args.force)
    for name, flag in ((args.model, "--model"), (args.original, "--original"), (args.reference, "--reference")):
        check_model_arg(name, flag)  # a mistyped local path fails now, offline, before any work
    if args.cache_dir and Path(args.cache_dir).resolve().is_relative_to(out.resolve()):
        raise ConfigError(
            "must lie outside --out (the audit directory is replaced as a whole)",
            field="--cache-dir",
            value=args.cache_dir,
        )
    if not args.holdout and not args.reference:
        raise ConfigError("the never-seen level needs --holdout DOCS or --reference MODEL", field="--holdout")
    forget = load_documents(args.forget, "forget")
    holdout = load_documents(args.holdout, "holdout") if args.holdout else None
    if args.units_from:
        forget, holdout = _with_units(args.units_from, forget, holdout)
    if holdout is not None:
        check_overlap(forget, holdout)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    attacks = parse_attacks(parse_csv(args.attacks), str(device), settings.eval.seed)
    with claim_out(out, force=args.force):  # one audit per --out at a time: the lock is held throughout
        return _audit(args, settings, forget, holdout, attacks, device, dtype, out)


def _with_units(corpus_dir: str, forget, holdout):
    from musebench.audit.documents import with_units
    from musebench.data import load_corpus

    units = load_corpus(corpus_dir).text_units()
    if not units:
        raise DataError("the corpus names no units (no tags/units.json)", file=corpus_dir, field="--units-from")
    return (
        with_units(forget, units, corpus_dir),
        with_units(holdout, units, corpus_dir) if holdout is not None else None,
    )


def _audit(args, settings, forget, holdout, attacks, device, dtype, out: Path) -> int:
    from rich.console import Console

    from musebench.audit import run_audit
    from musebench.audit.api import save_audit

    console = Console(stderr=True)
    model = _load(args.model, device, dtype, args)
    original = _load(args.original, device, dtype, args) if args.original else None
    reference = _load(args.reference, device, dtype, args) if args.reference else None
    audit, rows = run_audit(
        model,
        forget,
        holdout,
        settings,
        original=original,
        reference=reference,
        attacks=attacks,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        command=reproduce_command(args, settings.eval.seed),
    )
    save_audit(audit, rows, out)
    Console().print(f"[bold]{audit['verdict_text']}[/bold]")
    for s in audit["probes"].values():
        console.print(
            f"  {s['label']}: forget {s['forget']:.3g} vs never seen {s['unseen']:.3g} -> "
            f"{s['status'].replace('_', ' ')}"
        )
    for a in audit["attacks"]:
        console.print(f"  attack {a['name']}: {a['verdict'].replace('_', ' ')}")
    console.print(f"wrote {out / 'audit.html'}, audit.md and audit.json ({audit['timing_s']['total']:.1f} s)")
    if args.fail_on == "leak" and audit["verdict"] == "leak":
        return 1
    if args.fail_on == "distinguishable" and audit["verdict"] != "indistinguishable":
        return 1
    return 0
