"""Flags shared by every subcommand, so they are spelled and parsed the same way everywhere."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from musebench.errors import ConfigError, ModelError
from musebench.models.device import resolve_device, resolve_dtype  # noqa: F401  (re-exported for commands)
from musebench.models.dtypes import DTYPE_NAMES as DTYPES

#: Exit status of ``report`` / ``compare --fail-on-incomplete`` when a run has not finished (its page and
#: table are still written; 1 as ``audit --fail-on``: "done, but the condition you asked about holds").
INCOMPLETE_EXIT = 1


def add_fail_on_incomplete(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fail-on-incomplete",
        action="store_true",
        help=f"exit {INCOMPLETE_EXIT} when a run is still going or was interrupted (the output is "
        "written either way, its first line saying what is missing)",
    )


def add_out(p: argparse.ArgumentParser, required: bool = True, help: str = "output directory") -> None:
    p.add_argument("--out", required=required, help=help)


def seed_value(text: str) -> int:
    """A seed as numpy / torch take it: an integer in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**32, got {value}")
    return value


def add_seed(p: argparse.ArgumentParser, default: int = 0) -> None:
    p.add_argument("--seed", type=seed_value, default=default, help=f"random seed (default {default})")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps or auto (default auto)")
    p.add_argument(
        "--dtype", default="auto", choices=DTYPES, help="weights dtype: float32 on CPU, bfloat16 on GPU when 'auto'"
    )


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: all cores; set 1 when running processes side by side)",
    )


def set_threads(n: int | None) -> None:
    if n is not None:
        import torch

        if n < 1:
            raise ConfigError("must be >= 1", field="--threads", value=n)
        torch.set_num_threads(n)


def parse_csv(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def looks_local(name: str) -> bool:
    """Whether a ``--model`` value means a local directory rather than a hub name (``org/name``): it exists, is
    spelled as a path (``./``, ``../``, ``/``, ``~``, a trailing slash, two or more ``/``), its first part is a
    local directory (``models/targt``: a typo, not the hub organisation "models"), or the hub is switched off."""
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")) or name.endswith(("/", os.sep)):
        return True
    if name.count("/") > 1 or (os.sep != "/" and os.sep in name):
        return True
    if name.count("/") == 1 and Path(name.split("/")[0]).is_dir():
        return True
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def check_model_arg(name: str | None, flag: str = "--model") -> None:
    """Fail at once, offline, naming the path, when a local model directory is missing or holds no model; before
    any work (a typo never waits on hub retries). Hub names and logit wrappers (WHP / ULD) are checked on load."""
    if not name or not looks_local(name):
        return
    from musebench.models.loading import check_model_dir

    path = Path(name).expanduser()
    if not path.exists():
        hint = " (a hub model is named ORG/NAME; nothing was looked up)" if name.count("/") == 1 else ""
        raise ModelError(f"model directory does not exist{hint}", file=name, field=flag)
    from musebench.unlearn.edit.uld import is_logit_wrapper

    if is_logit_wrapper(path) or ((path / "run.json").is_file() and not (path / "config.json").is_file()):
        return  # a logit wrapper, or a run directory, whose loader names its checkpoints
    try:
        check_model_dir(path)
    except ModelError as err:
        raise ModelError(err.message, file=err.file, field=flag) from None
