"""The benchmarks run headless and end with one JSON object (their figures are not tested: timings
never decide whether a test passes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run(*args, timeout=300):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, check=True, timeout=timeout, env=env
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_engine_benchmark_smoke():
    result = run(
        BENCH / "engine.py",
        "--quick",
        "--no-torch",
        "--cells",
        "gru",
        "--hidden",
        "128",
        "--dtypes",
        "float32",
        "--json",
    )
    assert result["benchmark"] == "engine" and result["quick"]
    (row,) = result["rows"]
    assert row["cell"] == "gru" and row["trace_on"] > 0 and row["trace_off"] > 0


def test_gui_benchmark_smoke():
    result = run(BENCH / "gui.py", "--seconds", "3", "--rounds", "1", "--round-seconds", "1", "--json")
    assert result["benchmark"] == "gui"
    assert result["gui_tokens_per_s"] > 0 and result["headless_tokens_per_s"] > 0
    assert set(result["refreshes_per_s"]) == {"heatmap", "text", "softmax", "gradients"}
    count, size, budget = result["history_steps_mb_budget"]
    assert count > 0 and 0 < size <= budget


def test_compare_benchmark_smoke():
    result = run(
        BENCH / "compare.py",
        "--rounds",
        "1",
        "--slice-seconds",
        "0.2",
        "--cases",
        "exploding (vanilla RNN 128)",
        "--json",
    )
    assert result["benchmark"] == "compare" and result["target_ratio"] == 2.2
    (case,) = result["cases"].values()
    # no timing relation asserted (a loaded machine reorders 0.2 s slices): the numbers exist and are sane
    assert case["single_ms"] > 0 and case["lockstep_ms"] > 0 and case["vs_separate"] > 0


def test_serve_benchmark_smoke():
    result = run(BENCH / "serve.py", "--seconds", "0.5", "--tokens", "20", "--json")
    assert result["benchmark"] == "serve" and result["server_exit_code"] == 0
    assert [r["endpoint"] for r in result["rows"]] == ["/generate", "/predict"]
    for row in result["rows"]:
        assert row["requests"] > 0 and row["errors"] == 0 and row["health_requests"] > 0
    assert all(v is None or v > 0 for v in result["rss_mb"].values())


def test_classes_benchmark_smoke():
    result = run(BENCH / "classes.py", "--steps", "3", "--seeds", "0", "--json")
    assert result["benchmark"] == "classes" and len(result["rows"]) == 3
    for row in result["rows"]:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["classes_below_20pct"] <= 18
