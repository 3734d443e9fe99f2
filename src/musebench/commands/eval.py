"""Evaluate a model on the MUSE criteria: VerbMem, KnowMem (forget / retain), PrivLeak and the
membership-inference suite, with bootstrap 95% CIs. Writes OUT/summary.json and OUT/per_example.jsonl.

PrivLeak needs the retrain model's AUC: measure it with --retrain DIR (cached), or give it with
--retrain-auc X (or 'news' / 'books' for the release constants 0.4772 / 0.5393). Without either,
PrivLeak is reported as unavailable. Results are cached under --cache-dir (default OUT/cache): an
interrupted run resumes; --force recomputes.

Launched with several processes (``accelerate launch -m musebench.cli eval ...`` or ``torchrun
--nproc_per_node N -m musebench.cli eval ...``), the requests are split across the processes, gathered on
every one, and only the main process writes: the same summary.json / per_example.jsonl as one process.
"""

from __future__ import annotations

import argparse
import contextlib
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
from musebench.errors import ConfigError

EXAMPLES = """examples:
  musebench eval --model models/target --data data/news-mini --retrain models/retrain --out eval/target
  musebench eval --model muse-bench/MUSE-News_target --data muse-bench/MUSE-News --retrain-auc news --out eval/t
  musebench eval --model runs/npo/epoch-3 --data data/news-mini --metrics knowmem_f,knowmem_r --out eval/npo3
  musebench eval --model runs/whp/alpha-4 --data data/news-mini --retrain-auc 0.49 --out eval/whp4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model directory or hub name (safetensors)")
    p.add_argument("--data", required=True, help="corpus directory or hub dataset name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--retrain", help="retrain model directory: its AUC is measured and used for PrivLeak")
    group.add_argument("--retrain-auc", help="retrain AUC for PrivLeak: a number, or 'news' / 'books'")
    p.add_argument("--reference", help="reference model (same tokenizer) for the NLL-ratio attack")
    p.add_argument(
        "--metrics",
        help="comma list of verbmem_f,knowmem_f,knowmem_r,privleak,privacy, or 'all' "
        "(default: the four MUSE criteria the corpus has data for; 'privacy', the "
        "membership-attack suite, adds a lower-cased forward per text and Min-K%%++)",
    )
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help="result cache (default OUT/cache)")
    p.add_argument("--force", action="store_true", help="recompute instead of reusing cached results")
    p.add_argument("--trust-remote-code", action="store_true", help="allow models with custom code")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="only the first N items of every split (smoke test; recorded, never a full score)",
    )
    add_out(p)
    add_device(p)
    add_threads(p)


def settings_flags():
    """``EvalSettings``' fields as flags (``--verbmem-max-new-tokens 64``, ``--seed``, ``--batch-size``...)."""
    from musebench.commands.flags import SettingsFlags
    from musebench.evaluate.settings import EvalSettings

    return SettingsFlags(EvalSettings)


def parents() -> list[argparse.ArgumentParser]:
    return [settings_flags().parser]


#: Files whose presence proves an --out holds a musebench evaluation.
RESULT_FILES = ("summary.json",)
KIND = "evaluation"  # the kind its --out is marked with (musebench.io.KINDS)


def check_same_tokenizer(tokenizer, other, flag: str, path: str) -> None:
    """The NLL-ratio attack compares per-token log-probs: both models must cut text into the same tokens."""
    from musebench.errors import ModelError

    if tokenizer.get_vocab() != other.get_vocab():
        raise ModelError(
            "its tokenizer differs from the model's (the per-token log-probs would not line up)", file=path, field=flag
        )


def build_settings(args: argparse.Namespace, data: str):
    """Paper defaults, then a mini corpus's budgets, then the settings flags given (``--set`` too, deprecated)."""
    from dataclasses import replace

    from musebench.evaluate.settings import EvalSettings

    flags = settings_flags()
    base = EvalSettings()
    if Path(data).is_dir():
        from musebench.data.synthetic import MINI_EVAL_SETTINGS, read_synthetic_meta

        meta = read_synthetic_meta(data)
        if meta and meta.get("size") in MINI_EVAL_SETTINGS:
            base = replace(base, **MINI_EVAL_SETTINGS[meta["size"]])
    return replace(base, **{**flags.from_pairs(args.set), **flags.given(args)})


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from musebench.data import load_corpus
    from musebench.data.validate import check_corpus
    from musebench.evaluate.result import render_table
    from musebench.evaluate.settings import resolve_retrain_auc
    from musebench.evaluate.sharding import init_from_environment, sharded_evaluation
    from musebench.io import check_output_dir, output_dir

    check_output_dir(args.out, kind=KIND, force=args.force)  # an unusable --out fails before compute
    check_model_arg(args.model)  # a mistyped local path fails now, offline, before any work
    check_model_arg(args.retrain, "--retrain")
    if args.cache_dir:
        check_output_dir(args.cache_dir, flag="--cache-dir", force=True)
    set_threads(args.threads)

    settings = build_settings(args, args.data)
    metrics = parse_csv(args.metrics) or None
    if args.retrain_auc is not None:
        resolve_retrain_auc(args.retrain_auc)  # fail before loading anything
    shard, device = init_from_environment(resolve_device(args.device))
    dtype = resolve_dtype(args.dtype, device)
    out = Path(args.out)
    cache_dir = Path(args.cache_dir) if args.cache_dir else out / "cache"
    if args.limit is not None and args.limit < 1:
        raise ConfigError("must be >= 1", field="--limit", value=args.limit)
    corpus = load_corpus(args.data)
    if args.limit is not None:
        corpus = corpus.head(args.limit)
    from musebench.evaluate.engine import resolve_metrics

    check_corpus(corpus, resolve_metrics(corpus, metrics))  # the checks 'data validate' makes, before any model
    main = shard.is_main
    progress = not args.no_progress and main
    console = Console(stderr=True, quiet=not main)
    # one writer per --out: the main process holds its lock (the other shards write nothing there)
    claim = output_dir(out, kind=KIND, force=args.force) if main else contextlib.nullcontext()
    with claim:
        with sharded_evaluation(shard):
            result = _evaluate(args, corpus, settings, metrics, device, dtype, cache_dir, progress, console)
        if not main:
            return 0
        result.save(out)
    limited = f" (first {args.limit} items per split: smoke test)" if args.limit is not None else ""
    Console().print(render_table(result, title=f"MUSE evaluation of {args.model} on {corpus.name}{limited}"))
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"wrote {out / 'summary.json'} and {out / 'per_example.jsonl'}")
    return 0


def _evaluate(args, corpus, settings, metrics, device, dtype, cache_dir, progress, console):
    from musebench.evaluate import evaluate, measure_retrain_auc
    from musebench.unlearn import load_unlearned

    retrain_auc = args.retrain_auc
    if args.retrain:
        retrain = load_unlearned(args.retrain, device, dtype, trust_remote_code=args.trust_remote_code)
        retrain_auc = measure_retrain_auc(
            retrain.model, retrain.tokenizer, corpus, settings, cache_dir, progress=progress, force=args.force
        )
        console.print(f"retrain AUC (measured, {args.retrain}): {retrain_auc:.4f}")
        del retrain
    reference = None
    # any checkpoint musebench writes: a model directory, an epoch or alpha directory, a WHP directory
    # (whp.json: target + fine-tuned model combined at the logits); the command layer joins unlearn and evaluate
    loaded = load_unlearned(args.model, device, dtype, trust_remote_code=args.trust_remote_code)
    if args.reference:
        ref = load_unlearned(args.reference, device, dtype, trust_remote_code=args.trust_remote_code)
        check_same_tokenizer(loaded.tokenizer, ref.tokenizer, "--reference", args.reference)
        reference = ref.model
    result = evaluate(
        loaded.model,
        loaded.tokenizer,
        corpus,
        settings,
        metrics=metrics,
        retrain_auc=retrain_auc,
        cache_dir=cache_dir,
        progress=progress,
        reference_model=reference,
        force=args.force,
    )
    result.provenance["model_source"] = str(args.model)
    result.provenance["data_source"] = str(args.data)
    if args.limit is not None:
        result.provenance["limit"] = args.limit
        result.notes.append(
            f"--limit {args.limit}: only the first {args.limit} items of every split were scored; "
            "a smoke test, not a MUSE result"
        )
    if args.retrain:
        result.privacy["retrain_auc_source"] = f"measured ({args.retrain})"
    return result
