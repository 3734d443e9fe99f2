"""Run one bad-input case and classify what happened (shared by the test and the closing-note table)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

from badinput_cases import Case


@dataclass
class Outcome:
    rc: int | None
    error_lines: list[str]
    traceback: str | None
    written: list[str]  # paths the command created
    lost: list[str]  # paths that were there before and that the command changed or removed
    first_line: str = ""  # the first line the command printed (stdout, else stderr)
    hang: bool = False  # an isolated case that ran past its time limit

    @property
    def clean(self) -> bool:
        return (
            self.rc == 2
            and len(self.error_lines) == 1
            and self.traceback is None
            and not self.written
            and not self.lost
        )


#: Limits of an isolated case (one that hung before): wall seconds and address space.
HANG_S = 60
MEMORY_BYTES = 3 << 30


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (-1, 0)
        for p in sorted(root.rglob("*"))
    }


def workspace(pristine: Path, root: Path) -> dict:
    ws = {
        "root": root,
        "data": root / "data",
        "model": root / "model",
        "other": root / "other",
        "out": root / "out",
        "tmp": root / "tmp",
    }
    for name in ("data", "model", "other"):
        shutil.copytree(pristine / name, ws[name])
    ws["tmp"].mkdir()
    return ws


def run_case(case: Case, pristine: Path, root: Path) -> Outcome:
    """Damage a fresh workspace, run the command in-process, report rc, error lines, traceback, writes."""
    from musebench.cli import main

    ws = workspace(pristine, root)
    case.damage(ws)
    argv = case.argv(ws)
    before = snapshot(root)
    err, out = io.StringIO(), io.StringIO()
    rc, tb, hang = None, None, False
    cwd = os.getcwd()
    os.chdir(ws["tmp"])  # a relative --out (".") lands in the workspace, never in the checkout
    try:
        if case.isolated:
            rc, stdout, stderr, hang = _isolated(argv, ws["tmp"])
            out.write(stdout)
            err.write(stderr)
        else:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                rc = main(argv)
    except SystemExit as exit_:  # argparse
        rc = exit_.code if isinstance(exit_.code, int) else 1
    except Exception:  # noqa: BLE001  (a traceback is exactly what the suite counts)
        tb = traceback.format_exc()
    finally:
        os.chdir(cwd)
        held = ws.get("_release")
        if held is not None:
            held.__exit__(None, None, None)
    after = snapshot(root)
    if held is not None:  # the test's own claim wrote the mark and lock before the snapshot (and its release
        # re-writes the mark with what it wrote)
        after = {k: v for k, v in after.items() if k in before}
        after.update({k: v for k, v in before.items() if k.endswith(".musebench")})
    written = sorted(k for k in after if k not in before)
    lost = sorted(k for k in before if before[k] != after.get(k))
    text = err.getvalue()
    lines = [line for line in text.splitlines() if "error:" in line]
    lines += [line for line in out.getvalue().splitlines() if line.startswith("error:")]  # data validate's list
    if "Traceback (most recent call last)" in text and tb is None:
        tb = text
    printed = [line for line in out.getvalue().splitlines() if line.strip()] or [
        line for line in text.splitlines() if line.strip()
    ]
    return Outcome(rc, lines, tb, written, lost, printed[0] if printed else "", hang)


def _isolated(argv: list[str], cwd: Path) -> tuple[int | None, str, str, bool]:
    """Run the CLI in a child process under ``HANG_S`` seconds and ``MEMORY_BYTES`` of address space."""
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "musebench.cli", *argv],
            cwd=cwd,
            env=env,
            text=True,
            capture_output=True,
            timeout=HANG_S,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        return None, timeout.stdout or "", timeout.stderr or "", True
    return done.returncode, done.stdout, done.stderr, False


def make_pristine(root: Path) -> Path:
    """A tiny news-mini corpus, a random 1-layer Llama on its tokenizer, and a model with another tokenizer."""
    import torch

    from musebench.models.loading import load_tokenizer
    from musebench.models.mini_corpus import write_mini_corpus as write_corpus
    from musebench.models.tiny import TinyLlamaSpec, build_tiny_llama
    from musebench.models.tokenizer import train_tokenizer

    data = write_corpus("news-mini", "tiny", 0, root / "data")
    tok = load_tokenizer(data / "tokenizer")
    spec = TinyLlamaSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    torch.manual_seed(0)
    model = build_tiny_llama(tok, spec, seed=0)
    model.save_pretrained(root / "model", safe_serialization=True)
    tok.save_pretrained(root / "model")
    other_tok = train_tokenizer(["a completely different text for another vocabulary"] * 4, vocab_size=120)
    other = build_tiny_llama(other_tok, spec, seed=0)
    other.save_pretrained(root / "other", safe_serialization=True)
    other_tok.save_pretrained(root / "other")
    return root
