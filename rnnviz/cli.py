"""Command line: `rnnviz` opens the app; subcommands do headless work (filled in by later issues)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description="Watch a from-scratch NumPy RNN, LSTM or GRU learn.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    build_parser().parse_args(argv)
    print("rnnviz: the app is not built yet.", file=sys.stderr)
    return 1
