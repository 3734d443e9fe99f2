"""Training speed of every unlearning method: optimizer steps/s and trained tokens/s.

    python benchmarks/unlearn_speed.py --threads 1                      # random mini-size Llama, news-mini
    python benchmarks/unlearn_speed.py --model models/target --data data/news-mini --threads 1

Without ``--model`` the model is a randomly initialised Llama of the mini benchmark's default size (the
``default`` build recipe: hidden 256, 4 layers) on the generated ``news-mini`` corpus (speed does not depend
on what the weights have learned). Each method runs through ``run_unlearning`` exactly as the CLI does, for
``--warmup + --steps`` optimizer steps; the clock covers the measured steps only (start of a step to start
of the next, so loading, the first compiled step and saving are excluded). Tokens/s counts the real
(non-padding) forget tokens of each batch plus the retain tokens when the method trains on retain text;
reference-model forward passes are work, but are not counted as tokens. Rates are given per wall-clock
second and per CPU second of the benchmark process: with one torch thread the second is what an idle core
would do, and stays meaningful when other jobs share the CPU. ``task_vector`` rows are the forget
fine-tune (the only training Task Vector and WHP do) and the per-alpha edit + save; the ``uld`` row is the
training of ULD's assistant (the target cut to its first quarter of layers; its only training). Methods of
installed plugins are measured by name like the built-ins.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Not measured by default: ULD's assistant is measured as ``uld``; Task Vector and WHP train only ``finetune``.
NOT_MEASURED = ("uld_assistant", "task_vector", "whp")


def registered_methods() -> list[str]:
    """Every method that trains, built-in or from an installed plugin (the default of ``--methods``)."""
    from musebench.unlearn import METHODS as REGISTRY

    return [name for name in REGISTRY if name not in NOT_MEASURED and (REGISTRY[name].is_trainer or name == "uld")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model directory (default: a random mini-size Llama)")
    p.add_argument("--data", help="corpus directory (default: the generated news-mini corpus)")
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated methods (default: every registered method "
        "that trains; 'finetune' = the Task Vector / WHP fine-tune, 'uld' = ULD's assistant)",
    )
    p.add_argument("--steps", type=int, default=8, help="measured optimizer steps per method")
    p.add_argument("--warmup", type=int, default=2, help="optimizer steps run before the clock starts")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-len", type=int, default=256, help="tokens per window, BOS included")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the CPU is shared)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workdir", help="keep models and runs here (default: a temporary directory)")
    return p.parse_args(argv)


def random_mini_target(data_dir: Path, out: Path) -> Path:
    """A randomly initialised Llama of the mini default recipe's size, with the corpus's tokenizer."""
    from musebench.models.loading import load_tokenizer
    from musebench.models.recipe import recipe_for
    from musebench.models.tiny import build_tiny_llama

    tokenizer = load_tokenizer(data_dir / "tokenizer")
    model = build_tiny_llama(tokenizer, recipe_for("default").spec(), seed=0)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


class StepClock:
    """Wraps ``UnlearnTrainer.training_step``: records when each step starts and how many tokens it trains."""

    def __init__(self):
        self.starts: list[float] = []
        self.cpu_starts: list[float] = []
        self.tokens: list[int] = []
        self.count_retain = False
        self.last_inputs = None

    def install(self):
        from musebench.unlearn.trainer import UnlearnTrainer

        original = UnlearnTrainer.training_step
        clock = self

        def timed(trainer, model, inputs, *args, **kwargs):
            # one micro-batch is one entry, even when a trainer calls the base step more than once on it (NPO-SAM
            # with a retain term: the forget pass at the perturbed weights, then the retain pass)
            if inputs is not clock.last_inputs:
                clock.last_inputs = inputs
                clock.starts.append(time.perf_counter())
                clock.cpu_starts.append(time.process_time())
                n = int(inputs["forget_attention_mask"].sum())
                if clock.count_retain and "retain_attention_mask" in inputs:
                    n += int(inputs["retain_attention_mask"].sum())
                clock.tokens.append(n)
            return original(trainer, model, inputs, *args, **kwargs)

        UnlearnTrainer.training_step = timed
        return original

    def reset(self, count_retain: bool):
        self.starts, self.cpu_starts, self.tokens, self.count_retain = [], [], [], count_retain
        self.last_inputs = None

    def rates(self, warmup: int) -> dict[str, float]:
        """Steps and tokens per second over steps ``warmup .. n-2`` (an interval ends where the next step starts),
        per wall-clock second and per CPU second of this process (the latter is stable on a shared machine)."""
        starts, cpu, tokens = self.starts[warmup:], self.cpu_starts[warmup:], self.tokens[warmup:]
        if len(starts) < 2:
            raise SystemExit("too few steps measured; raise --steps")
        wall, cpu_s = starts[-1] - starts[0], cpu[-1] - cpu[0]
        steps, n_tokens = len(starts) - 1, sum(tokens[:-1])
        return {
            "steps_s": steps / wall,
            "tokens_s": n_tokens / wall,
            "steps_cpu_s": steps / cpu_s,
            "tokens_cpu_s": n_tokens / cpu_s,
        }


def bench_method(method, model_dir, corpus, args, clock, work: Path) -> dict:
    from musebench.unlearn import METHODS as REGISTRY
    from musebench.unlearn import config_for, run_unlearning

    name = method
    if method == "uld":  # ULD trains only its assistant, the target cut to its first layers
        from musebench.unlearn.edit.uld import write_assistant_start

        model_dir = write_assistant_start(model_dir, work / "uld-assistant-start", None)
        method = "uld_assistant"
    spec = REGISTRY[method]
    clock.reset(count_retain=spec.uses_retain_text)
    config = config_for(
        method,
        num_train_epochs=1000,
        max_steps=args.warmup + args.steps,
        learning_rate=1e-5,
        per_device_train_batch_size=args.batch_size,
        max_len=args.max_len,
        use_cpu=args.device == "cpu",
        progress=False,
    )
    run_unlearning(model_dir, corpus, config, work / method)
    return {
        "method": name,
        **clock.rates(args.warmup),
        "retain": spec.retain if not spec.reads_retain_text else "own term",
        "reference": spec.needs_reference,
    }


def bench_task_vector_edit(model_dir, finetuned_dir, work: Path, repeats: int = 2) -> float:
    """Seconds to write one Task Vector checkpoint (edit in place, save, read back and verify)."""
    from musebench.unlearn.edit.finetune import load_target_like
    from musebench.unlearn.edit.task_vector import TaskVectorEditor

    target, finetuned = load_target_like(model_dir, finetuned_dir)
    editor = TaskVectorEditor(target.model, finetuned.model)
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        editor.save(2.0**k, work / f"tv-alpha-{k}", tokenizer=target.tokenizer)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from musebench.data import load_corpus

    tmp = tempfile.TemporaryDirectory(prefix="unlearn-speed-") if not args.workdir else None
    work = Path(args.workdir or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    if args.data:
        data_dir = Path(args.data)
    else:
        from musebench.models.mini_corpus import write_mini_corpus as write_corpus

        data_dir = work / "news-mini"
        if not data_dir.is_dir():
            write_corpus("news-mini", "default", 0, data_dir)
    model_dir = Path(args.model) if args.model else work / "random-target"
    if not args.model and not (model_dir / "config.json").is_file():
        random_mini_target(data_dir, model_dir)
    corpus = load_corpus(data_dir)

    clock = StepClock()
    clock.install()
    rows = []
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else registered_methods()
    for method in methods:
        print(f"... {method}", file=sys.stderr, flush=True)
        rows.append(bench_method(method, model_dir, corpus, args, clock, work))
    edit_s = None
    if "finetune" in methods:
        ft_dirs = sorted((work / "finetune").glob("step-*")) + sorted((work / "finetune").glob("epoch-*"))
        if ft_dirs:
            edit_s = bench_task_vector_edit(model_dir, ft_dirs[-1], work)

    from musebench.models.loading import load_model

    n_params = sum(p.numel() for p in load_model(model_dir).model.parameters())
    print(
        f"\nmodel: {'random mini-size Llama' if not args.model else args.model} ({n_params / 1e6:.1f}M "
        f"parameters); data: {args.data or 'generated news-mini (default size)'}; batch {args.batch_size} x "
        f"{args.max_len} tokens; {args.steps} measured steps after {args.warmup}; device {args.device}, "
        f"torch threads {args.threads}; torch {torch.__version__}, {platform.processor() or platform.machine()}\n"
    )
    print("| method | retain term | reference model | steps/s | tokens/s | steps/CPU-s | tokens/CPU-s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        name = {
            "finetune": "task_vector / whp (forget fine-tune)",
            "uld": "uld (assistant: the first quarter of the layers)",
        }.get(r["method"], r["method"])
        print(
            f"| {name} | {r['retain']} | {'yes' if r['reference'] else 'no'} | {r['steps_s']:.2f} | "
            f"{r['tokens_s']:.0f} | {r['steps_cpu_s']:.2f} | {r['tokens_cpu_s']:.0f} |"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average during the run: {load:.1f} on {os.cpu_count()} CPUs")
    if edit_s is not None:
        print(f"\nTask Vector edit + save + verify: {edit_s:.2f} s per alpha")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
