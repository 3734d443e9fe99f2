"""ULD, unlearning from logit difference (Ji et al. 2024, arXiv 2406.08607): a logit wrapper beside WHP.

The objectives are reversed: instead of making the target forget, a small *assistant* model is trained to
REMEMBER the forget text (NLL on forget) and to FORGET the retain text (a flat, uniform next-token
distribution on it: ``losses.uniform_kl``). The unlearned model is the logit difference

    z = z_target − α · z_assistant                                   (``losses.uld_logits``)

which lowers what the assistant remembers and, where the assistant is flat, shifts every logit alike (no
change). The assistant is built as in the paper from the target itself: its first ``layers`` decoder
layers with the target's embeddings, final norm and LM head (so it shares the tokenizer), then trained
(all of its weights, or a LoRA adapter with ``lora_r``). Like WHP nothing is trained per α: each α is a
small ``alpha-<α>/uld.json`` (``{"method": "uld", "target", "assistant", "alpha"}``) that
:func:`load_uld` turns into a wrapper under the evaluation model contract (``uld_model.ULDModel``, with
WHP's pair cache), so it decodes through the engine's one path.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from musebench.errors import ConfigError
from musebench.io import atomic_directory, atomic_write_json
from musebench.unlearn.config import check_integer, check_number
from musebench.unlearn.edit.config import EditConfig

__all__ = ["ULDConfig", "is_logit_wrapper", "load_uld", "read_uld_checkpoint", "run_uld", "write_uld_checkpoint"]

logger = logging.getLogger(__name__)

#: ULD's alphas when none are given: the paper subtracts the assistant with a weight of at most 1 (its
#: reference eval scripts use 0.8 on TOFU and 0.7 on Harry Potter); Task Vector / WHP's powers of two up to
#: 512 would erase everything.
ULD_ALPHAS = (0.2, 0.4, 0.6, 0.8, 1.0)
#: The relative-top plausibility filter of ULD's reference code (``top_logit_filter`` in its
#: configs/model_mode/uld.yaml, on in every eval script): the assistant is subtracted only on tokens the
#: target finds plausible.
ULD_TOP_LOGIT_FILTER = 0.1
#: The assistant's retain weight in the reference code (configs/unlearn_loss/remember+uniform.yaml).
ULD_RETAIN_WEIGHT = 5.0


def default_layers(num_layers: int) -> int:
    """The assistant's depth when ``layers`` is not given: a quarter of the target's layers, at least 1."""
    return max(1, num_layers // 4)


@dataclass
class ULDConfig(EditConfig):
    """The ULD assistant (Ji et al. 2024) as its reference code runs it: alphas <= 1, retain weight 5, the
    relative-top plausibility filter 0.1."""

    alphas: list[float] = field(
        default_factory=lambda: list(ULD_ALPHAS),
        metadata={"help": "strengths the assistant's logits are subtracted with, one checkpoint each"},
    )
    layers: int | None = field(
        default=None,
        metadata={
            "help": "decoder layers of the target the assistant keeps (its first ones; default: a quarter of the "
            "target's, at least 1)"
        },
    )
    retain_weight: float = field(
        default=ULD_RETAIN_WEIGHT,
        metadata={
            "help": "weight of the assistant's retain term KL(uniform || p) against its forget NLL (default 5: the "
            "reference code's remember+uniform.yaml)"
        },
    )
    top_logit_filter: float = field(
        default=ULD_TOP_LOGIT_FILTER,
        metadata={
            "help": "relative-top plausibility filter: the assistant is subtracted only where the target's "
            "probability is at least this share of its top token's (0 = off; default 0.1: the reference "
            "code's uld.yaml)"
        },
    )

    def __post_init__(self):
        f = self.top_logit_filter
        self.reject(
            check_integer(self, "layers", 1, optional=True),
            check_number(self, "retain_weight", 0),
            None
            if not isinstance(f, bool) and isinstance(f, (int, float)) and 0 <= f < 1
            else ("top_logit_filter", f, "must be a number in [0, 1) (0 = off)"),
        )
        super().__post_init__()


ULD_FILE = "uld.json"
#: Files that make a checkpoint directory a two-model logit wrapper (WHP, ULD), not one set of weights.
LOGIT_WRAPPER_FILES = ("whp.json", ULD_FILE)
ASSISTANT_START = "assistant-start"
ASSISTANT_RUN = "assistant"
START_FILE = "uld_start.json"  # what the untrained assistant was cut from


def is_logit_wrapper(path: str | Path) -> bool:
    """A WHP or ULD checkpoint: two models combined at the logits (cannot be relearned, chained or merged)."""
    return any((Path(path) / name).is_file() for name in LOGIT_WRAPPER_FILES)


def write_uld_checkpoint(
    out_dir: str | Path,
    target: str | Path,
    assistant: str | Path,
    alpha: float,
    top_logit_filter: float = ULD_TOP_LOGIT_FILTER,
) -> Path:
    """One ULD checkpoint directory (``uld.json`` only; the weights stay where they are)."""
    from musebench.unlearn.edit.whp import _portable_path

    out = Path(out_dir)
    with atomic_directory(out) as tmp:
        atomic_write_json(
            tmp / ULD_FILE,
            {
                "method": "uld",
                "target": _portable_path(target, out),
                "assistant": _portable_path(assistant, out),
                "alpha": float(alpha),
                "top_logit_filter": float(top_logit_filter),
            },
        )
    return out


def read_top_logit_filter(path: str | Path) -> float:
    """The checkpoint's plausibility filter; one written before the filter existed gets the reference's."""
    value = json.loads((Path(path) / ULD_FILE).read_text(encoding="utf-8")).get(
        "top_logit_filter", ULD_TOP_LOGIT_FILTER
    )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(
            "must be a number in [0, 1)", file=Path(path) / ULD_FILE, field="top_logit_filter", value=value
        )
    return float(value)


def read_uld_checkpoint(path: str | Path) -> tuple[str, str, float]:
    """``(target, assistant, alpha)`` of a ULD checkpoint, local paths resolved against its directory."""
    from musebench.unlearn.edit.whp import read_pair_checkpoint

    return read_pair_checkpoint(path, ULD_FILE, "ULD", "assistant", alpha_field="alpha")


def load_uld(path: str | Path, device: str = "cpu", dtype=None):
    """A ULD checkpoint as a ``LoadedModel`` whose ``.model`` is a ``ULDModel`` (target's tokenizer)."""
    from musebench.models.loading import LoadedModel, load_model
    from musebench.unlearn.edit.uld_model import ULDModel

    target_path, assistant_path, alpha = read_uld_checkpoint(path)
    target = load_model(target_path, device=device, dtype=dtype)
    assistant = load_model(assistant_path, device=device, dtype=dtype)
    model = ULDModel(target.model, assistant.model, alpha, read_top_logit_filter(path))
    return LoadedModel(model=model.eval(), tokenizer=target.tokenizer, name=str(path))


def write_assistant_start(model_dir, out: Path, layers: int | None) -> Path:
    """The untrained assistant: the target cut to its first ``layers`` decoder layers, saved once."""
    from musebench.models.loading import load_model
    from musebench.unlearn.edit.uld_model import truncate_layers

    made_from = {"model": str(model_dir), "uld_layers": layers}  # the key earlier runs wrote
    record = out / START_FILE
    if (out / "config.json").is_file() and record.is_file() and json.loads(record.read_text()) == made_from:
        return out
    loaded = load_model(model_dir, device="cpu")
    total = loaded.model.config.num_hidden_layers
    keep = default_layers(total) if layers is None else layers
    if not 1 <= keep <= total:
        raise ConfigError(
            f"the target has {total} decoder layers; the assistant keeps 1 to {total}", field="layers", value=layers
        )
    truncate_layers(loaded.model, keep)
    with atomic_directory(out) as tmp:
        loaded.model.save_pretrained(tmp, safe_serialization=True)
        loaded.tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / START_FILE, made_from)
    return out


def run_uld(model_dir, corpus, config, out_dir, forget_split: str = "forget", reference_dir=None, resume: bool = False):
    """Build the assistant from the target, train it with the reversed objectives (method ``uld_assistant``,
    ``training.train`` as every gradient method), then write one ``alpha-<α>/uld.json`` per α of ``config.alphas``.

    ``reference_dir`` is unused (ULD has no reference model); accepted for the common signature. A
    finished run with the same config is returned as it is when resuming; an interrupted assistant
    training resumes from its last Trainer checkpoint.
    """
    import time

    from musebench.unlearn.config import Checkpoint
    from musebench.unlearn.edit.course import alpha_label, previous_edit_run, write_edit_run
    from musebench.unlearn.edit.finetune import barrier, is_main_process
    from musebench.unlearn.record import read_run
    from musebench.unlearn.training import train

    if is_logit_wrapper(model_dir):
        raise ConfigError(
            "ULD cannot start from a WHP / ULD checkpoint (its weights are two models); start from a model directory",
            file=model_dir,
        )
    if not corpus.retain1:
        raise ConfigError(
            f"ULD's assistant needs retain text but corpus '{corpus.name}' has no retain1 documents", field="retain1"
        )
    out_dir = Path(out_dir)
    if (done := previous_edit_run(out_dir, config, resume)) is not None:
        return done
    started = time.monotonic()
    start = out_dir / ASSISTANT_START
    if is_main_process():
        write_assistant_start(model_dir, start, config.layers)
    barrier()
    assistant_config = dataclasses.replace(config, method="uld_assistant")
    assistant_dir = out_dir / ASSISTANT_RUN
    previous = read_run(assistant_dir)
    reuse = (
        previous is not None
        and previous.status == "complete"
        and previous.checkpoints
        and previous.config == assistant_config.to_dict()
    )
    run = (
        previous
        if reuse
        else train(
            start,
            corpus,
            assistant_config,
            assistant_dir,
            forget_split=forget_split,
            resume=resume or previous is not None,
        )
    )
    final = run.checkpoints[-1].path
    checkpoints = [Checkpoint(alpha_label(a), out_dir / alpha_label(a)) for a in config.alphas]
    result = None
    if is_main_process():
        for alpha, ckpt in zip(config.alphas, checkpoints):
            write_uld_checkpoint(ckpt.path, model_dir, final, alpha, config.top_logit_filter)
        result = write_edit_run(
            out_dir,
            config,
            model_dir,
            corpus,
            forget_split,
            final,
            checkpoints,
            run.history,
            time.monotonic() - started,
        )
    barrier()
    return result if result is not None else read_run(out_dir)
