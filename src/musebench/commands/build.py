"""musebench build (not implemented yet; filled by its own issue)."""

from __future__ import annotations

import argparse

from musebench.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise ConfigError("'musebench build' is not implemented yet")
