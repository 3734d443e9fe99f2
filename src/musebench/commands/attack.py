"""Attack an unlearned model (criterion C7): does the forgetting survive quantization, relearning, rephrasing?

One subcommand per attack of musebench.robustness.registry.ATTACKS:

  quantize    load it with bitsandbytes int8 / NF4 / FP4 (transformers' BitsAndBytesConfig) and evaluate C1-C4
  relearn     fine-tune it briefly on a slice of the forget set (or retain text), measure the rest
  paraphrase  KnowMem on the rephrased forget questions (knowmem/forget_qa_paraphrase.json)
  any other registered attack: its --option, scored plain and attacked, beside the controls given

With --target (and --retrain) the same attack runs on them as controls and the recovery ratio
(attacked - unlearned) / (target - unlearned) is reported per criterion; relearning reports it beyond the
retrain model's (what the slice teaches a model that never saw the forget set). Writes OUT/robustness.json
(atomically, once everything is measured).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musebench.commands.common import add_device, add_out, add_threads, parse_csv, set_threads

EXAMPLES = """examples:
  musebench attack quantize --model runs/npo/epoch-3 --data data/news-mini --scheme nf4 \\
      --target models/target --retrain models/retrain --out attacks/npo-nf4
  musebench attack relearn --model runs/npo/epoch-3 --data data/news-mini --relearn-on forget-slice \\
      --fraction 0.25 --steps 10 --learning-rate 1e-3 --target models/target --retrain models/retrain --out attacks/npo-rl
  musebench attack paraphrase --model runs/npo/epoch-3 --data data/news-mini --target models/target --out a/p
"""

RESULT_FILE = "robustness.json"
KIND = "attack"  # the kind its --out is marked with (musebench.io.KINDS)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="the unlearned model: a model directory or checkpoint")
    p.add_argument("--data", required=True, help="corpus directory or hub dataset name")
    p.add_argument("--target", help="target model: the same attack as a control, and recovery ratios")
    p.add_argument("--retrain", help="retrain model: the same attack as a control (and the PrivLeak AUC)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help=argparse.SUPPRESS)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--force",
        action="store_true",
        help=f"replace the earlier {RESULT_FILE} in --out (a user's files there are kept either way)",
    )
    add_out(p)
    add_device(p)
    add_threads(p)


def relearn_flags():
    """``RelearnRun``'s fields as flags; its batch is ``--train-batch-size`` (``--batch-size`` is the
    evaluation's) and its seed the command's ``--seed``."""
    from musebench.commands.flags import SettingsFlags
    from musebench.robustness.relearn import RelearnRun

    return SettingsFlags(RelearnRun, skip=("seed",), rename={"batch_size": "train_batch_size"})


def quantize_flags():
    """``QuantizeAttack``'s fields as flags (``--scheme``)."""
    from musebench.commands.flags import SettingsFlags
    from musebench.robustness.quantize import QuantizeAttack

    return SettingsFlags(QuantizeAttack)


def _settings_flags(name: str):
    """The flags of an attack whose settings are a dataclass of its own (the others take ``--option``)."""
    return {"quantize": quantize_flags, "relearn": relearn_flags}.get(name)


def _metrics_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", help="comma list (default: every criterion the corpus has data for)")


def _option_flag(p: argparse.ArgumentParser, attack) -> None:
    """A registered attack's ``NAME:OPTION`` as ``--option`` (its default: the registry entry's)."""
    if attack.option:
        p.add_argument("--option", default=attack.default, help=f"{attack.option} (default {attack.default})")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from musebench.commands.eval import settings_flags
    from musebench.robustness.registry import ATTACKS

    evaluation = settings_flags().parser
    sub = p.add_subparsers(dest="attack", metavar="ATTACK", required=True)
    for attack in ATTACKS.values():
        own = _settings_flags(attack.name)
        parents = [own().parser, evaluation] if own is not None else [evaluation]
        sp = sub.add_parser(attack.name, help=attack.summary, parents=parents)
        if own is None:
            _option_flag(sp, attack)
        if attack.measured_as == "quantize":  # scored on the plain probes: the criteria to score are a choice
            _metrics_flag(sp)
        _common(sp)


def _check_model(path: str | None, flag: str) -> None:
    """A local model must have weights before anything runs (a hub name is checked when loaded)."""
    from musebench.commands.common import check_model_arg

    check_model_arg(path, flag)


def _out_rules(args) -> dict:
    """--out: an attack's directory (musebench.io.check_output_dir); its result replaced only with --force."""
    return {"kind": KIND, "force": args.force, "writes": (RESULT_FILE,), "results": (RESULT_FILE,)}


def _settings(args, corpus_dir: str):
    from musebench.commands.eval import build_settings

    return build_settings(args, corpus_dir)


def run(args: argparse.Namespace) -> int:
    from musebench.data import load_corpus
    from musebench.models.device import resolve_device, resolve_dtype

    set_threads(args.threads)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    from musebench.io import check_output_dir, output_dir

    out = check_output_dir(args.out, **_out_rules(args))
    from musebench.robustness.registry import ATTACKS

    attack = ATTACKS[args.attack]
    if args.attack == "quantize":
        value = _quantize_settings(args).scheme
    else:
        value = attack.value(getattr(args, "option", None), "--option")
    if attack.check is not None:
        attack.check(value, device)  # e.g. bitsandbytes able to run the scheme here, before anything loads
    for path, flag in ((args.model, "--model"), (args.target, "--target"), (args.retrain, "--retrain")):
        _check_model(path, flag)
    settings = _settings(args, args.data)
    corpus = load_corpus(args.data)
    runner = {"quantize": _quantize, "relearn": _relearn, "paraphrase": _paraphrase}.get(args.attack)
    with output_dir(out, **_out_rules(args)):  # one writer per --out: the lock is held until the result is in
        if runner is None:
            return _attack(args, attack, value, corpus, settings, device, dtype, out)
        return runner(args, corpus, settings, device, dtype, out)


def _quantize_settings(args):
    from dataclasses import replace

    from musebench.robustness.quantize import QuantizeAttack

    return replace(QuantizeAttack(), **quantize_flags().given(args))


def _models(args) -> list[tuple[str, str]]:
    return [
        (role, path)
        for role, path in (("target", args.target), ("retrain", args.retrain), ("unlearned", args.model))
        if path
    ]


def _finish(out: Path, doc: dict, title: str, rows: list[tuple[str, str, dict]], notes: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from musebench.io import atomic_write_json

    atomic_write_json(out / RESULT_FILE, doc)
    table = Table(title=title)
    keys = sorted({k for _, _, scores in rows for k in scores})
    for header in ["model", "measure", *keys]:
        table.add_column(header)
    for model, what, scores in rows:
        table.add_row(model, what, *[_fmt(scores.get(k)) for k in keys])
    Console().print(table)
    err = Console(stderr=True)
    for note in notes:
        err.print(f"note: {note}")
    err.print(f"wrote {out / RESULT_FILE}")
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if abs(value) < 2 else f"{value:.1f}"


def _retrain_auc(args, corpus, settings, device, dtype, progress) -> float | None:
    if not args.retrain or not corpus.privleak_forget:
        return None
    from musebench.robustness.attacks import plain_scores

    scores = plain_scores(args.retrain, corpus, settings, ["privleak"], None, device, dtype, progress)["scores"]
    return scores.get("auc")


def _quantize(args, corpus, settings, device, dtype, out: Path) -> int:
    from musebench.robustness.attacks import plain_scores
    from musebench.robustness.registry import ATTACKS
    from musebench.robustness.summary import summarise

    progress = not args.no_progress
    scheme = _quantize_settings(args).scheme
    from musebench.criteria import CRITERION_SCORES

    metrics = parse_csv(args.metrics) or [m for m in CRITERION_SCORES if m in corpus.criteria()]
    auc = _retrain_auc(args, corpus, settings, device, dtype, progress)
    full, quant = {}, {}
    for role, path in _models(args):
        full[role] = plain_scores(path, corpus, settings, metrics, auc, device, dtype, progress)
        quant[role] = ATTACKS["quantize"].evaluate(
            path,
            corpus,
            settings,
            scheme,
            metrics=metrics,
            retrain_auc=auc,
            device=device,
            dtype=dtype,
            progress=progress,
        )
    attack = f"quantize-{scheme}"
    runs = {role: {attack: quant[role]} for role in quant}
    runs["method"] = runs.pop("unlearned")
    summary = summarise(
        runs,
        {"method": {"scores": full["unlearned"]["scores"]}},
        full.get("target", {}).get("scores", {}),
        full.get("retrain", {}).get("scores", {}),
    )
    entry = summary["methods"]["method"]["attacks"][attack]
    notes = [] if args.target else ["no --target: recovery ratios need the target model's scores"]
    rows = [(role, "full precision", full[role]["scores"]) for role in full]
    rows += [(role, scheme, quant[role]["scores"]) for role in quant]
    if args.target:
        rows.append(("unlearned", "recovery", entry["recovery"]))
    doc = {
        "attack": "quantize",
        "scheme": scheme,
        "model": args.model,
        "target": args.target,
        "retrain": args.retrain,
        "data": args.data,
        "retrain_auc": auc,
        "full_precision": full,
        "quantized": quant,
        "recovery": entry["recovery"] if args.target else None,
        "notes": notes,
    }
    return _finish(out, doc, f"quantization attack ({scheme}) on {corpus.name}", rows, notes)


def _relearn(args, corpus, settings, device, dtype, out: Path) -> int:
    from dataclasses import replace

    from musebench.robustness import load_tags, split_forget
    from musebench.robustness.registry import ATTACKS
    from musebench.robustness.relearn import RelearnRun
    from musebench.robustness.summary import summarise

    attack = replace(RelearnRun(), **relearn_flags().given(args))
    budget = attack.budget(settings.seed)
    data_dir = args.data if Path(args.data).is_dir() else None
    split = split_forget(corpus, load_tags(data_dir, corpus), attack.fraction, attack.relearn_on, settings.seed)
    progress = not args.no_progress
    name = f"relearn-{attack.relearn_on}"
    runs = {
        role: {
            name: ATTACKS["relearn"].evaluate(
                path, corpus, settings, (split, budget), device=device, dtype=dtype, progress=progress
            )
        }
        for role, path in _models(args)
    }
    runs["method"] = runs.pop("unlearned")
    before = runs["method"][name]["before"]["scores"]
    summary = summarise(runs, {"method": {"scores": before}}, {}, {})
    entry = summary["methods"]["method"]["attacks"][name]
    notes = [split.note]
    if not args.target:
        notes.append("no --target: recovery ratios need the target model's scores on the rest")
    if not args.retrain:
        notes.append("no --retrain: recovery is not corrected by what the slice teaches a model that never saw it")
    rows = []
    for role, result in runs.items():
        role = "unlearned" if role == "method" else role
        rows += [(role, "before", result[name]["before"]["scores"]), (role, "after", result[name]["after"]["scores"])]
    if args.target:
        rows.append(("unlearned", "recovery", entry["recovery"]))
        if "excess" in entry:
            rows.append(("retrain", "recovery (control)", entry["control_recovery"]))
            rows.append(("unlearned", "beyond control", entry["excess"]))
    measured = {("unlearned" if r == "method" else r): v[name] for r, v in runs.items()}
    doc = {
        "attack": "relearn",
        "relearn_on": attack.relearn_on,
        "fraction": attack.fraction,
        "budget": budget.to_dict(),
        "model": args.model,
        "target": args.target,
        "retrain": args.retrain,
        "data": args.data,
        "split": split.describe(),
        "runs": measured,
        "recovery": entry.get("recovery") if args.target else None,
        "control_recovery": entry.get("control_recovery"),
        "beyond_control": entry.get("excess"),
        "notes": notes,
    }
    title = f"relearning attack ({attack.relearn_on}, {attack.steps} steps) on {corpus.name}"
    return _finish(out, doc, title, rows, notes)


def _paraphrase(args, corpus, settings, device, dtype, out: Path) -> int:
    from musebench.robustness.attacks import paraphrase_corpus, plain_scores
    from musebench.robustness.recovery import paraphrase_recovery
    from musebench.robustness.registry import ATTACKS

    para = paraphrase_corpus(corpus)
    progress = not args.no_progress
    scores = {}
    for role, path in _models(args):
        orig = plain_scores(path, corpus, settings, ["knowmem_f"], None, device, dtype, progress)["scores"]
        reph = ATTACKS["paraphrase"].evaluate(
            path, corpus, settings, None, device=device, dtype=dtype, progress=progress
        )["scores"]
        scores[role] = {"knowmem_f": orig["knowmem_f"], "knowmem_f_paraphrase": reph["knowmem_f"]}
    recovery = None
    if args.target:
        t, u = scores["target"], scores["unlearned"]
        recovery = paraphrase_recovery(
            u["knowmem_f_paraphrase"], t["knowmem_f_paraphrase"], u["knowmem_f"], t["knowmem_f"]
        )
    notes = [] if args.target else ["no --target: the recovery ratio needs the target model's scores"]
    rows = [(role, "KnowMem-f", s) for role, s in scores.items()]
    if recovery is not None:
        rows.append(("unlearned", "recovery", {"knowmem_f_paraphrase": recovery}))
    doc = {
        "attack": "paraphrase",
        "model": args.model,
        "target": args.target,
        "retrain": args.retrain,
        "data": args.data,
        "questions": len(para.knowmem_forget_qa),
        "scores": scores,
        "recovery": recovery,
        "notes": notes,
    }
    return _finish(out, doc, f"rephrased questions on {corpus.name}", rows, notes)


def _attack(args, attack, value, corpus, settings, device, dtype, out: Path) -> int:
    """Any other registered attack: the model (and the controls given) scored plain and under the attack,
    with C7's recovery ratios where the target is given (``robustness.summary``)."""
    from musebench.robustness.attacks import plain_scores
    from musebench.robustness.summary import summarise

    progress = not args.no_progress
    metrics = parse_csv(args.metrics) or None
    plain, attacked = {}, {}
    for role, path in _models(args):
        plain[role] = plain_scores(path, corpus, settings, metrics, None, device, dtype, progress)
        attacked[role] = attack.evaluate(
            path, corpus, settings, value, metrics=metrics, device=device, dtype=dtype, progress=progress
        )
    stage = attack.stage(str(value) if value is not None else "")
    runs = {("method" if role == "unlearned" else role): {stage: r} for role, r in attacked.items()}
    summary = summarise(
        runs,
        {"method": {"scores": plain["unlearned"]["scores"]}},
        plain.get("target", {}).get("scores", {}),
        plain.get("retrain", {}).get("scores", {}),
    )
    entry = summary["methods"]["method"]["attacks"][stage]
    notes = [] if args.target else ["no --target: recovery ratios need the target model's scores"]
    rows = [(role, "plain", plain[role]["scores"]) for role in plain]
    rows += [(role, stage, attacked[role]["scores"]) for role in attacked]
    if args.target:
        rows.append(("unlearned", "recovery", entry["recovery"]))
    doc = {
        "attack": attack.name,
        "option": value,
        "model": args.model,
        "target": args.target,
        "retrain": args.retrain,
        "data": args.data,
        "plain": plain,
        "attacked": attacked,
        "recovery": entry.get("recovery") if args.target else None,
        "notes": notes,
    }
    return _finish(out, doc, f"{attack.name} attack ({value}) on {corpus.name}", rows, notes)
