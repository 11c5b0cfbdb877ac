"""Benchmark: load and tokenise big text files, seconds and peak memory (not a test).

Builds files of the requested sizes (default 10 and 100 MB) by repeating Tiny Shakespeare in a
temporary folder, then measures, each in a fresh Python process so figures do not leak between cases:

- ``load``: ``load_text`` alone;
- ``char``: ``load_text`` + ``encode_corpus(text, "char")``;
- ``word``: ``load_text`` + ``encode_corpus(text, "word")`` (default 10,000-token cap).

Peak memory is ``ru_maxrss`` at the end minus ``ru_maxrss`` after the imports, i.e. how far the
case pushed the process's high-water mark above an idle interpreter with NumPy loaded. Linux keeps
``ru_maxrss`` across ``exec``, so a worker starts with its parent's high-water mark: this parent
therefore never imports NumPy and writes the files in small pieces, staying below a worker's
baseline (checked: ``baseline_mb`` in the results must exceed ``parent_peak_mb``).

    python bench/corpus.py                  # a table
    python bench/corpus.py --json           # the table, then one JSON object as the last line
    python bench/corpus.py --sizes 1 10     # other sizes, in MB (2**20 bytes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = ("load", "char", "word")
MB = 2**20


def run_case(case: str, path: str) -> dict:
    """Runs inside the worker process: one case on one file, figures as a dict."""
    import gc
    import time

    import numpy as np

    from rnnviz.corpus import encode_corpus, load_text

    gc.collect()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    loaded = load_text(path)
    tokens = vocab_size = None
    if case != "load":
        vocab, ids = encode_corpus(loaded.text, case)
        tokens, vocab_size = len(ids), vocab.size
        assert ids.dtype == vocab.dtype and int(np.max(ids)) < vocab.size
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kb  # Linux: kilobytes
    return {
        "case": case,
        "baseline_mb": round(baseline_kb / 1024, 1),
        "numpy": np.__version__,
        "file_mb": round(loaded.n_bytes / MB, 1),
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_kb / 1024, 1),
        "peak_per_file": round(peak_kb * 1024 / loaded.n_bytes, 2),
        "tokens": tokens,
        "vocab": vocab_size,
    }


def make_file(folder: Path, size_mb: float) -> Path:
    """A file of exactly ``size_mb`` MB made of repeated Tiny Shakespeare (ASCII), written one copy
    at a time so this process stays small (see the module docstring)."""
    from importlib.resources import files  # not rnnviz.corpus: that would import NumPy here

    unit = (files("rnnviz.data") / "tinyshakespeare.txt").read_bytes()
    path = folder / f"shakespeare-{size_mb:g}mb.txt"
    remaining = int(size_mb * MB)
    with open(path, "wb") as f:
        while remaining > 0:
            f.write(unit[:remaining])
            remaining -= len(unit)
    return path


def measure(path: Path, case: str) -> dict:
    worker = [sys.executable, os.path.abspath(__file__), "--worker", case, str(path)]
    out = subprocess.run(worker, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    header = f"{'file':>8}  {'case':<5} {'seconds':>8} {'peak MB':>8} {'peak/file':>9} {'tokens':>12} {'vocab':>6}"
    rows = [header, "-" * len(header)]
    for r in results:
        tokens = f"{r['tokens']:,}" if r["tokens"] is not None else "-"
        vocab = str(r["vocab"]) if r["vocab"] is not None else "-"
        rows.append(
            f"{r['file_mb']:>6} MB  {r['case']:<5} {r['seconds']:>8.2f} {r['peak_mb']:>8.1f} "
            f"{r['peak_per_file']:>8.2f}x {tokens:>12} {vocab:>6}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 100], help="file sizes in MB")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_case(*args.worker)))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-") as tmp:
        for size in args.sizes:
            path = make_file(Path(tmp), size)
            for case in args.cases:
                results.append(measure(path, case))
                print(table(results[-1:]).splitlines()[-1] if len(results) > 1 else table(results), flush=True)
            path.unlink()
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if any(r["baseline_mb"] <= parent_peak_mb for r in results):
        print(
            f"warning: this process peaked at {parent_peak_mb:.0f} MB, above a worker's baseline; peaks are understated"
        )
    machine = {
        "python": platform.python_version(),
        "numpy": results[0]["numpy"],
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    print(f"\nPython {machine['python']}, NumPy {machine['numpy']}, {machine['cpus']} CPUs, {machine['platform']}")
    if args.json:
        summary = {
            "benchmark": "corpus",
            "machine": machine,
            "parent_peak_mb": round(parent_peak_mb, 1),
            "results": results,
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
