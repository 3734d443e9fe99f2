"""CLI start-up: only the chosen subcommand is imported, and nothing heavy before the work needs it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import contextlib, io, sys
from musebench import cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        cli.main({argv!r})
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "transformers", "datasets", "sklearn", "rouge_score", "nltk") if m in sys.modules)
commands = sorted(m for m in sys.modules if m.startswith("musebench.commands."))
print(heavy, commands, "{word}" in out.getvalue())
"""


def probe(argv, word):
    code = PROBE.format(argv=argv, word=word)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_top_level_help_imports_no_command_and_lists_them_all():
    assert probe(["--help"], "unlearn") == "[] [] True"


def test_subcommand_help_imports_only_that_command_and_no_torch():
    assert probe(["report", "--help"], "--out") == "[] ['musebench.commands.common', 'musebench.commands.report'] True"


def test_settings_flags_cost_transformers_but_not_torch():
    """A command with settings flags builds them with HfArgumentParser (transformers), never with torch."""
    assert probe(["eval", "--help"], "--retrain-auc") == (
        "['transformers'] ['musebench.commands.common', 'musebench.commands.eval', 'musebench.commands.flags'] True"
    )
