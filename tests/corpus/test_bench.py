"""bench/corpus.py runs headless and ends with one JSON object (the figures themselves are not tested)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "corpus.py"


def test_bench_runs_and_prints_json_last():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "0.05", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["benchmark"] == "corpus"
    assert [r["case"] for r in summary["results"]] == ["load", "char", "word"]
    assert all(r["seconds"] >= 0 and r["peak_mb"] >= 0 for r in summary["results"])
    assert summary["results"][1]["tokens"] == int(0.05 * 2**20)
    assert "seconds" in out.splitlines()[0]
