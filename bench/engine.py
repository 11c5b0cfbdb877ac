"""Engine throughput: training tokens per second for RNN, LSTM and GRU, with and without the trace.

    python bench/engine.py            a table
    python bench/engine.py --json     the table, then one JSON object as the last line
    python bench/engine.py --quick    a short smoke run

Setting: vocabulary 65 (Tiny Shakespeare's characters), one-hot input, one layer, language-model head,
T = 64, shapes (H=128, B=32) and (H=256, B=64), float32 and float64. One step = forward, loss, BPTT,
global-norm clipping at 5, an SGD update. "trace on" also builds the app's trace every step (per-step
gradient norms, the last-step gradient of one row, read-only views) and the W_hh spectrum every
SPECTRAL_EVERY steps, as the app does. When PyTorch is installed the same steps run in PyTorch
(nn.RNN/LSTM/GRU, nn.Linear head, cross-entropy, clip_grad_norm_, SGD) and the ratio is reported.

How it is timed, and why: each contender runs in its own worker process (PyTorch's OpenMP threads and
NumPy's OpenBLAS threads spin-wait after work and would steal each other's cores in one process), and
the workers take turns in blocks of SPECTRAL_EVERY steps (torch, off, on, torch, off, on, ...), with a
short pause between blocks so spinning threads go idle. This machine's speed drifts by 20-30% over
minutes; alternating blocks make the drift hit every contender alike, so the ratios hold even when the
absolute figures wander. Each figure is the median over blocks, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rnnviz.engine import cells  # noqa: E402
from rnnviz.engine.buffers import BufferPool  # noqa: E402
from rnnviz.engine.clipping import ClipConfig  # noqa: E402
from rnnviz.engine.config import ModelConfig, init_params  # noqa: E402
from rnnviz.engine.optim import OptimConfig, Optimizer  # noqa: E402
from rnnviz.engine.runtime import Runtime  # noqa: E402
from rnnviz.engine.spectral import spectral_stats  # noqa: E402
from rnnviz.engine.step import train_step  # noqa: E402
from rnnviz.engine.trace import build_trace  # noqa: E402

V, T = 65, 64
SHAPES = [(128, 32), (256, 64)]
CELLS = list(cells.CELLS)
SPECTRAL_EVERY = 100
TARGETS = {"rnn": 0.8, "lstm": 0.6, "gru": 1.0}  # rnnviz (trace on) / PyTorch at H=128, B=32, float32


def rnnviz_step(cell: str, H: int, B: int, dtype: str, trace: bool):
    cfg = ModelConfig(cell=cell, vocab_size=V, hidden_size=H, dtype=dtype)
    rng = np.random.default_rng(0)
    params = init_params(cfg, rng)
    opt = Optimizer(OptimConfig(kind="sgd", lr=0.01))
    clip = ClipConfig("norm", 5.0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    counter = [0]
    runtime = Runtime(pool=BufferPool())

    def step():
        old = dict(params)
        r = train_step(params, cfg, opt, x, y, clip=clip, runtime=runtime)
        if trace:
            spectrum = spectral_stats(old, cfg) if counter[0] % SPECTRAL_EVERY == 0 else None
            build_trace(
                old, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip, spectrum=spectrum
            )
        counter[0] += 1

    return step


def torch_step(cell: str, H: int, B: int, dtype: str):
    import torch

    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    torch.manual_seed(0)
    rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](V, H).to(tdtype)
    head = torch.nn.Linear(H, V).to(tdtype)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01)
    x = torch.randint(0, V, (T, B))
    y = torch.randint(0, V, (T, B))
    eye = torch.eye(V, dtype=tdtype)

    def step():
        out, _ = rnn(eye[x])  # one-hot input, as rnnviz
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    return step


def worker(spec: str) -> int:
    """Worker process: build one stepper, then for each line "N" on stdin run N steps and print seconds."""
    kind, cell, H, B, dtype = spec.split(",")
    H, B = int(H), int(B)
    step = torch_step(cell, H, B, dtype) if kind == "torch" else rnnviz_step(cell, H, B, dtype, kind == "on")
    for line in sys.stdin:
        n = int(line)
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        print(time.perf_counter() - t0, flush=True)
    return 0


class Worker:
    def __init__(self, spec: str):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", spec], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, n: int) -> float:
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker died (exit code {self.proc.wait()})")
        return float(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def measure(specs: dict[str, str], blocks: int, n_steps: int, pause: float) -> dict[str, float]:
    """Median seconds per step for each worker, timed in alternating blocks of ``n_steps``."""
    workers = {name: Worker(spec) for name, spec in specs.items()}
    try:
        for w in workers.values():
            w.run(3)  # warm-up: imports done, buffers and thread pools in place
        samples: dict[str, list[float]] = {name: [] for name in workers}
        for _ in range(blocks):
            for name, w in workers.items():
                time.sleep(pause)
                samples[name].append(w.run(n_steps) / n_steps)
        return {name: statistics.median(v) for name, v in samples.items()}
    finally:
        for w in workers.values():
            w.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--quick", action="store_true", help="short smoke run (figures are rough)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--cells", default=",".join(CELLS), help="comma-separated subset of rnn,lstm,gru")
    ap.add_argument("--hidden", default=",".join(str(h) for h, _ in SHAPES), help="subset of the H values")
    ap.add_argument("--dtypes", default="float32,float64", help="subset of float32,float64")
    ap.add_argument("--blocks", type=int, default=5, help="timed blocks per contender")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    blocks, n_steps, pause = (1, 3, 0.0) if args.quick else (args.blocks, SPECTRAL_EVERY, 0.3)

    torch_version = None
    if not args.no_torch:
        try:
            import torch

            torch_version = torch.__version__
        except ImportError:
            pass

    rows = []
    for H, B in [(h, b) for h, b in SHAPES if str(h) in args.hidden.split(",")]:
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                specs = {"trace_off": f"off,{cell},{H},{B},{dtype}", "trace_on": f"on,{cell},{H},{B},{dtype}"}
                if torch_version:
                    specs["torch"] = f"torch,{cell},{H},{B},{dtype}"
                row = {"cell": cell, "H": H, "B": B, "T": T, "V": V, "dtype": dtype}
                for name, sec in measure(specs, blocks, n_steps, pause).items():
                    row[name] = B * T / sec
                row["trace_overhead"] = row["trace_off"] / row["trace_on"] - 1
                if torch_version:
                    row["ratio_trace_on"] = row["trace_on"] / row["torch"]
                    row["ratio_trace_off"] = row["trace_off"] / row["torch"]
                rows.append(row)
                print(format_row(row), flush=True)

    verdicts = {}
    if torch_version:
        for r in rows:
            if r["H"] == 128 and r["dtype"] == "float32":
                target = TARGETS[r["cell"]]
                verdicts[r["cell"]] = {
                    "ratio": round(r["ratio_trace_on"], 3),
                    "target": target,
                    "met": r["ratio_trace_on"] >= target,
                }
        if verdicts:
            print("targets (H=128, B=32, float32, trace on, rnnviz / PyTorch):", verdicts)
    result = {
        "benchmark": "engine",
        "unit": "tokens/s",
        "numpy": np.__version__,
        "torch": torch_version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "rows": rows,
        "targets": verdicts,
    }
    if args.json:
        print(json.dumps(result))
    return 0


def format_row(r) -> str:
    s = (
        f"{r['cell']:>4} H={r['H']:<3} B={r['B']:<2} {r['dtype']}: trace off {r['trace_off']:>9,.0f}  "
        f"trace on {r['trace_on']:>9,.0f}  ({100 * r['trace_overhead']:+.1f}%)"
    )
    if "torch" in r:
        s += f"  torch {r['torch']:>9,.0f}  ratio {r['ratio_trace_on']:.2f}"
    return s


if __name__ == "__main__":
    sys.exit(main())
