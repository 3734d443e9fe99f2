"""The ``musebench`` command line: a thin dispatcher over ``musebench.commands``.

Each subcommand lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int`` (and
``parents()``: its settings flags, made from the settings dataclasses by ``commands/flags.py``).
User errors (``MusebenchError``) print one line and exit 2; ``--debug`` shows the traceback.
Start-up stays small: only the chosen subcommand's module is imported (``musebench --help`` imports none),
and those modules import torch / transformers inside ``run``, when the work needs them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
import warnings

from musebench import __version__
from musebench.errors import MusebenchError
from musebench.io import storage_failure

#: subcommand -> (module under musebench.commands, one-line help). Order is the help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data", "generate, validate or show a MUSE corpus"),
    "build": ("build", "train the target / retrain models of a corpus"),
    "unlearn": ("unlearn", "run an unlearning method on a model"),
    "eval": ("eval", "evaluate a model on the six MUSE criteria"),
    "attack": ("attack", "attack an unlearned model: quantization, relearning, rephrased questions (C7)"),
    "report": ("report", "rebuild the HTML/Markdown report of a run directory"),
    "compare": ("compare", "show two runs side by side"),
    "leaderboard": ("leaderboard", "rank methods over several runs or seeds on one offline HTML page"),
    "run": ("run", "run a whole MUSE experiment from a YAML file"),
    "demo": ("demo", "run the built-in experiment on the embedded mini benchmark"),
    "ls": ("ls", "list the unlearning methods, metrics and built-in experiments"),
    "plan": ("plan", "estimate an experiment's stages, steps, tokens and GPU-hours before running it"),
    "audit": ("audit", "audit a model against a takedown request (no retrain model, no QA needed)"),
}


EPILOG = """examples:
  musebench demo --quick                      # the whole benchmark on the embedded mini corpus
  musebench data generate --corpus news-mini --out data/news-mini
  musebench data validate data/news-mini
  musebench build target --data data/news-mini --out models/
  musebench eval --model models/target --data data/news-mini --retrain models/retrain --out eval/target
  musebench unlearn --model models/target --data data/news-mini --method npo_gdr --out runs/npo_gdr
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose flag errors are one line (and exit 2) like every other musebench error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def chosen_command(argv: list[str] | None) -> str | None:
    """The subcommand named on the command line (the first word that is one), if any."""
    for word in sys.argv[1:] if argv is None else argv:
        if word in COMMANDS:
            return word
    return None


def build_parser(only: str | None = None, *, all_commands: bool = True) -> argparse.ArgumentParser:
    """The parser; with ``all_commands=False`` only ``only``'s module is imported and given its arguments."""
    parser = OneLineParser(
        prog="musebench",
        description="Machine unlearning for language models, measured six ways (MUSE).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"musebench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if not all_commands and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"musebench.commands.{module_name}")
        p = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=getattr(module, "EXAMPLES", None),
            parents=module.parents() if hasattr(module, "parents") else [],  # settings flags (commands/flags.py)
            add_help=not getattr(module, "TAKES_OPTIONS", False),  # such a command's --help also lists the options
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _takes_options=getattr(module, "TAKES_OPTIONS", False))
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """User-facing warnings (missing corpus parts, ...) as one line, without the source line Python adds.

    A library's deprecation notice is for its developers, not a musebench user: Python's default filters hide
    it, and where a caller shows it anyway (``-W always``, a test runner) it is dropped here rather than printed
    as a musebench warning."""
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
        return
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    if not sys.stderr.isatty():  # a log file: no redrawn Hugging Face bars (weights loading, shard writing)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # bitsandbytes (the quant extra; transformers imports it when installed, already while `unlearn` builds its
    # HfArgumentParser flags) logs at import that an optional kernels package is missing on CPU; musebench users
    # only need to see its errors
    verbose = any(a in ("-v", "--verbose") for a in (sys.argv[1:] if argv is None else argv))
    logging.getLogger("bitsandbytes").setLevel(logging.INFO if verbose else logging.ERROR)
    parser = build_parser(chosen_command(argv), all_commands=False)
    args, options = parser.parse_known_args(argv)
    if options and not getattr(args, "_takes_options", False):
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    args.options = options  # a method config's flags (``unlearn``), parsed by its HfArgumentParser
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    shown_before = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _one_line_warning
    try:
        return int(args._run(args) or 0)
    except MusebenchError as err:
        if args.debug:
            traceback.print_exc()
        print(f"musebench {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except RecursionError:  # a hostile input nested thousands of levels deep, met outside the parsers
        if args.debug:
            traceback.print_exc()
        print(
            f"musebench {args.command}: error: an input is nested too deeply to read (thousands of levels); "
            "check the files given (--debug shows where)",
            file=sys.stderr,
        )
        return 2
    except Exception as err:  # a full disk or a denied file is one line; anything else re-raised
        failure = storage_failure(err)
        if failure is None:
            raise
        if args.debug:
            traceback.print_exc()
        what, file = failure
        where = f"{file}: " if file else (f"{args.out}: " if getattr(args, "out", None) else "")
        hint = (
            "nothing half-written was kept (free space and re-run: finished work resumes)"
            if what.startswith("cannot write")
            else "make it readable (or writable) for this user"
        )
        print(f"musebench {args.command}: error: {where}{what}; {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"musebench {args.command}: interrupted; finished stages are kept and a re-run resumes", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown_before  # main() called in-process (tests, notebooks) leaves no global behind


if __name__ == "__main__":
    sys.exit(main())
