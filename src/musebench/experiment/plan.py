"""What an experiment will cost before it runs: stages, unlearning steps, evaluations, tokens, GPU-hours.

Counts come from the experiment file (methods, epochs / alphas, batch shape, folds, checkpoint mode) and
the corpus sizes (the published release's, from MUSE-SPEC, for a hub corpus; measured from the files for a
local one). Time comes from FLOPs: a training token costs 6N (forward + backward), a frozen reference or an
evaluation prefill token 2N, at a throughput ``Rates`` states; greedy decoding is bound by memory
bandwidth, so it is counted in decode steps. The default rates are ASSUMPTIONS for one H100-class GPU in
bf16 (printed with the plan); ``benchmarks/gpu_unlearn_check.py`` measures them on the GPU at hand and
writes a rates file that ``musebench plan --rates FILE`` reads. Method cost factors (in forward passes per
forget token) agree with the measured per-method rates of ``benchmarks/unlearn_speed.md`` to ~20 %.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError
from musebench.evaluate.settings import EvalSettings

#: The published release's sizes (MUSE-SPEC): documents and characters of the News forget set; 100 records per
#: criterion split; privacy texts ~2,048 tokens; the scal folds grow by one forget set each, sust folds disjoint.
RELEASE = {
    "muse-bench/MUSE-News": {"forget_docs": 889, "forget_chars": 3.3e6, "verbmem": 100, "qa": 100, "privleak": 100},
    "muse-bench/MUSE-Books": {"forget_docs": 4, "forget_chars": 4.3e6, "verbmem": 100, "qa": 100, "privleak": 100},
}
CHARS_PER_TOKEN = 4.0  # Llama-2 BPE on English news prose; used only where no tokenizer is at hand


@dataclass
class Rates:
    """Throughput of ONE GPU. Defaults: assumed H100-class bf16 figures, replaced by measured ones from a file."""

    flops_per_s: float = 4.0e14  # sustained dense bf16 FLOP/s in training/prefill (~40 % of 989 TFLOP/s)
    memory_bandwidth: float = 2.5e12  # bytes/s reached when decoding (weights read once per decode step)
    decode_batch: int = 64  # rows decoded together
    bytes_per_param: float = 2.0  # bf16
    source: str = "assumed (H100-class bf16); measure with benchmarks/gpu_unlearn_check.py --rates-out FILE"

    @classmethod
    def from_file(cls, path: str | Path) -> Rates:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            known = {k: data[k] for k in asdict(cls()) if k in data}
            return cls(**{**known, "source": f"measured ({path})"})
        except (OSError, json.JSONDecodeError, TypeError) as err:
            raise ConfigError(f"cannot read rates: {err}", file=str(path), field="--rates") from err


@dataclass
class CorpusSize:
    forget_tokens: float
    verbmem: int = 100
    qa: int = 100  # per split (forget, retain)
    privleak: int = 100  # per split (forget, holdout)
    fold_tokens: dict[str, list[float]] = field(default_factory=dict)  # scal / sust: tokens of each fold
    source: str = ""
    #: scal / sust: whether each fold holds exactly the forget set (the release's fold 1): a request on it from
    #: the target is the main request, run once (``experiment.checkpoints``: stages keyed by content)
    same_as_forget: dict[str, list[bool]] = field(default_factory=dict)
    privleak_tokens: float = 2048.0  # mean tokens of a privacy text (the release's: MUSE-SPEC)


@dataclass
class Request:
    """One unlearning request (a method on a forget split) and the evaluations it triggers."""

    stage: str
    method: str
    forget_tokens: float
    steps: int
    train_tokens: float
    checkpoints: int
    evaluations: int  # selection-only evaluations (upper bound: every checkpoint) + the full one(s)
    full_evaluations: int
    gpu_s: float = 0.0
    after: str | None = None  # the request this one starts from (C6)
    same_as: str | None = None  # the main request this one is (no work of its own)


def parse_model_size(text: str) -> float:
    """'7b', '1.3B', '350m', '7e9' -> parameters."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmbt]?)\s*", str(text).lower())
    if not m:
        raise ConfigError("expected a parameter count such as 7b, 1.3b, 350m", field="--model-size", value=text)
    return float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2)]


def corpus_size(cfg) -> CorpusSize:
    """Sizes of the experiment's corpus without loading a model: the release's, or measured from files."""
    spec = cfg.corpus
    if spec.hub:
        known = RELEASE.get(spec.hub)
        if known is None:
            raise ConfigError(
                "no sizes known for this hub corpus; plan a local copy (corpus.path)",
                file=cfg.source_file,
                field="corpus.hub",
                value=spec.hub,
            )
        tokens = known["forget_chars"] / CHARS_PER_TOKEN
        return CorpusSize(
            tokens,
            known["verbmem"],
            known["qa"],
            known["privleak"],
            {"scal": [k * tokens for k in (1, 2, 3, 4)], "sust": [tokens] * 4},
            source=f"release sizes of {spec.hub} (MUSE-SPEC), {CHARS_PER_TOKEN:g} chars/token",
            same_as_forget={key: [True, False, False, False] for key in ("scal", "sust")},  # the News release
        )
    if spec.generate:
        from musebench.data.synthetic import generate_corpus

        corpus = generate_corpus(spec.generate.kind, spec.generate.size, spec.generate.seed)
    else:
        from musebench.data import load_corpus

        corpus = load_corpus(spec.path)

    def tokens(docs) -> float:
        return sum(len(d) for d in docs) / CHARS_PER_TOKEN

    privacy = list(corpus.privleak_forget)
    return CorpusSize(
        tokens(corpus.forget),
        len(corpus.verbmem_forget),
        len(corpus.knowmem_forget_qa),
        len(privacy),
        {
            "scal": [tokens(corpus.scal[k]) for k in sorted(corpus.scal)],
            "sust": [tokens(corpus.sust[k]) for k in sorted(corpus.sust)],
        },
        source=f"measured from the corpus files, {CHARS_PER_TOKEN:g} chars/token",
        privleak_tokens=tokens(privacy) / max(1, len(privacy)),
        same_as_forget={
            key: [folds[k] == corpus.forget for k in sorted(folds)]
            for key, folds in (("scal", corpus.scal), ("sust", corpus.sust))
        },
    )


def _request(stage: str, spec, fields: dict, tokens: float, gpus: int, eval_mode: str, after=None) -> Request:
    from musebench.unlearn.config import config_from_mapping

    config = config_from_mapping(fields)  # the method's defaults filled in
    max_len, batch = config.max_len, config.per_device_train_batch_size
    accum = config.gradient_accumulation_steps
    windows = math.ceil(tokens / max(1, max_len - 1))
    per_step = batch * accum * gpus
    epochs = int(config.num_train_epochs)
    steps = epochs * math.ceil(windows / per_step)
    checkpoints = len(config.alphas) if config.spec.sweeps_alphas else epochs
    lazy = eval_mode == "selection"
    return Request(
        stage,
        spec.method,
        tokens,
        steps,
        steps * per_step * max_len,
        checkpoints,
        evaluations=checkpoints + (1 if lazy else 0),
        full_evaluations=1 if lazy else checkpoints,
        after=after,
    )


def _method(name: str):
    from musebench.unlearn import METHODS

    return METHODS[name] if name in METHODS else None


def forwards_per_token(name: str) -> float:
    """Forward-pass equivalents per forget token (``Method.train_passes``: forward+backward = 3, a frozen
    reference forward = 1, a retain term its own forward+backward (3) and for KL a reference forward on the
    retain batch (1)); a method that states none is priced like the dearest built-in (NPO_KLR)."""
    from musebench.unlearn import METHODS

    method = _method(name)
    if method is not None and method.train_passes is not None:
        return method.train_passes
    return max(METHODS[n].train_passes or 0 for n in METHODS.built_in_names())


def eval_gpu_s(size: CorpusSize, params: float, rates: Rates, settings: EvalSettings, full: bool) -> float:
    """One evaluation under the experiment's resolved settings: prefill FLOPs at the training throughput,
    decode steps at memory bandwidth. PrivLeak texts are whole unless ``privleak_max_length`` cuts them."""
    prompt, gen = 1024, settings.verbmem_max_new_tokens
    shots = 10 if settings.knowmem_num_shots is None else settings.knowmem_num_shots  # None: every example given
    qa_prompt, qa_gen = shots * 48 + 24, settings.knowmem_max_new_tokens
    priv_len = min(size.privleak_tokens, settings.privleak_max_length or math.inf)
    prefill = size.qa * qa_prompt * (2 if full else 1)
    decode_rows = [(size.qa, qa_gen)] * (2 if full else 1)
    if full:
        prefill += size.verbmem * prompt + 2 * size.privleak * priv_len * 2  # privacy texts and their lower twins
        decode_rows.append((size.verbmem, gen))
    step_s = params * rates.bytes_per_param / rates.memory_bandwidth
    decode = sum(math.ceil(rows / rates.decode_batch) * new for rows, new in decode_rows) * step_s
    return 2 * params * prefill / rates.flops_per_s + decode


def plan_experiment(cfg, params: float, gpus: int, rates: Rates, size: CorpusSize | None = None) -> dict[str, Any]:
    """Every request of ``cfg`` with its steps, tokens and GPU-seconds, and the totals and wall time."""
    size = size or corpus_size(cfg)
    settings = cfg.eval.settings
    full_eval = eval_gpu_s(size, params, rates, settings, full=True)
    select_eval = eval_gpu_s(size, params, rates, settings, full=False)
    requests: list[Request] = []
    for spec in cfg.methods:
        requests.append(
            _request(
                f"methods/{spec.name}", spec, cfg.unlearn_fields(spec), size.forget_tokens, gpus, cfg.eval.checkpoints
            )
        )
    for key, follow in (("scal", cfg.scalability), ("sust", cfg.sustainability)):
        folds = follow.folds or list(range(1, len(size.fold_tokens.get(key, [])) + 1))
        for spec in cfg.follow_up_methods(follow):
            previous = None
            for i, k in enumerate(folds, start=1):
                tokens = size.fold_tokens[key][k - 1] if k - 1 < len(size.fold_tokens.get(key, [])) else 0
                name = f"{key}/{spec.name}/" + (f"fold-{k}" if key == "scal" else f"request-{i}")
                request = _request(
                    name,
                    spec,
                    cfg.unlearn_fields(spec),
                    tokens,
                    gpus,
                    follow.eval_checkpoints,
                    after=previous if key == "sust" else None,
                )
                from_target = key == "scal" or i == 1
                if from_target and k - 1 < len(size.same_as_forget.get(key, [])) and size.same_as_forget[key][k - 1]:
                    # the main request: its checkpoints are taken, nothing is trained or scored again
                    request = replace(
                        request,
                        steps=0,
                        train_tokens=0.0,
                        evaluations=0,
                        full_evaluations=0,
                        same_as=f"methods/{spec.name}",
                    )
                requests.append(request)
                previous = name
    for r in requests:
        method = _method(r.method)
        train = forwards_per_token(r.method) * 2 * params * r.train_tokens / rates.flops_per_s
        evals = (r.evaluations - r.full_evaluations) * select_eval + r.full_evaluations * full_eval
        r.gpu_s = train + evals * (method.eval_models if method else 1)  # WHP runs target and fine-tuned model
    references = 2 * full_eval  # target and retrain
    total_s = references + sum(r.gpu_s for r in requests)
    chains: dict[str, float] = {}
    for r in requests:  # C6 requests wait for the previous one; everything else is independent
        chains[r.stage] = r.gpu_s + (chains[r.after] if r.after else 0.0)
    critical = references / 2 + max(chains.values(), default=0.0)  # on one GPU per stage
    return {
        "requests": requests,
        "gpu_hours": total_s / 3600,
        # every stage data-parallel on all GPUs, one after another (accelerate launch ... run)
        "wall_hours_data_parallel": total_s / gpus / 3600,
        # independent stages side by side, one GPU each (run --executor ray): bounded by the C6 chain
        "wall_hours_stages": max(total_s / gpus, critical) / 3600,
        "critical_hours": critical / 3600,
        "eval_minutes": {"full": full_eval / 60, "selection": select_eval / 60},
        "unlearn_steps": sum(r.steps for r in requests),
        "train_tokens": sum(r.train_tokens for r in requests),
        "evaluations": 2 + sum(r.evaluations for r in requests),
        "stages": 2 + sum(1 + r.evaluations for r in requests),
        "size": size,
        "rates": rates,
        "params": params,
        "gpus": gpus,
    }
