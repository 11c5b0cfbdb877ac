"""Engine throughput: training tokens per second for RNN, LSTM and GRU, with and without the trace.

    python bench/engine.py            a table
    python bench/engine.py --json     the table, then one JSON object as the last line
    python bench/engine.py --quick    fewer repetitions (a smoke run)

Setting: vocabulary 65 (Tiny Shakespeare's characters), one-hot input, one layer, language-model head,
T = 64, shapes (H=128, B=32) and (H=256, B=64), float32 and float64. One step = forward, loss, BPTT,
global-norm clipping at 5, an SGD update. "trace on" also builds the app's trace every step (per-step
gradient norms, the last-step gradient of one row, read-only views) and the W_hh spectrum every 50
steps, as the app does. When PyTorch is installed the same steps run in PyTorch (nn.RNN/LSTM/GRU,
nn.Linear head, cross-entropy, clip_grad_norm_, SGD) in the same process, and the ratio is reported.
Each figure is the median over repeated timed blocks after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rnnviz.engine.clipping import ClipConfig  # noqa: E402
from rnnviz.engine.config import ModelConfig, init_params  # noqa: E402
from rnnviz.engine.optim import OptimConfig, Optimizer  # noqa: E402
from rnnviz.engine.spectral import spectral_stats  # noqa: E402
from rnnviz.engine.step import train_step  # noqa: E402
from rnnviz.engine.trace import build_trace  # noqa: E402

V, T = 65, 64
SHAPES = [(128, 32), (256, 64)]
CELLS = ["rnn", "lstm", "gru"]
SPECTRAL_EVERY = 50


def time_blocks(step, n_steps: int, blocks: int) -> float:
    """Median seconds per step over ``blocks`` timed blocks of ``n_steps`` (after two warm-up steps)."""
    step()
    step()
    per_step = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(n_steps):
            step()
        per_step.append((time.perf_counter() - t0) / n_steps)
    return statistics.median(per_step)


def rnnviz_step(cell: str, H: int, B: int, dtype: str, trace: bool):
    cfg = ModelConfig(cell=cell, vocab_size=V, hidden_size=H, dtype=dtype)
    rng = np.random.default_rng(0)
    params = init_params(cfg, rng)
    opt = Optimizer(OptimConfig(kind="sgd", lr=0.01))
    clip = ClipConfig("norm", 5.0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    counter = [0]

    def step():
        old = dict(params)
        r = train_step(params, cfg, opt, x, y, clip=clip)
        if trace:
            spectrum = spectral_stats(old, cfg) if counter[0] % SPECTRAL_EVERY == 0 else None
            build_trace(old, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip, spectrum=spectrum)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--quick", action="store_true", help="short run (smoke test)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--cells", default=",".join(CELLS), help="comma-separated subset of rnn,lstm,gru")
    ap.add_argument("--hidden", default=",".join(str(h) for h, _ in SHAPES), help="subset of the H values")
    ap.add_argument("--dtypes", default="float32,float64", help="subset of float32,float64")
    args = ap.parse_args(argv)
    blocks, budget = (1, 0.3) if args.quick else (5, 1.0)

    try:
        if args.no_torch:
            raise ImportError
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None

    rows = []
    for H, B in [(h, b) for h, b in SHAPES if str(h) in args.hidden.split(",")]:
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                row = {"cell": cell, "H": H, "B": B, "T": T, "V": V, "dtype": dtype}
                for trace in (False, True):
                    step = rnnviz_step(cell, H, B, dtype, trace)
                    t0 = time.perf_counter()
                    step()
                    n = max(3, int(budget / max(time.perf_counter() - t0, 1e-4)))
                    sec = time_blocks(step, n, blocks)
                    row["trace_on" if trace else "trace_off"] = B * T / sec
                row["trace_overhead"] = row["trace_off"] / row["trace_on"] - 1
                if torch_version:
                    step = torch_step(cell, H, B, dtype)
                    t0 = time.perf_counter()
                    step()
                    n = max(3, int(budget / max(time.perf_counter() - t0, 1e-4)))
                    row["torch"] = B * T / time_blocks(step, n, blocks)
                    row["ratio_trace_on"] = row["trace_on"] / row["torch"]
                    row["ratio_trace_off"] = row["trace_off"] / row["torch"]
                rows.append(row)
                print(format_row(row), flush=True)

    targets = {"rnn": 0.8, "lstm": 0.6, "gru": 1.0}
    verdicts = {}
    if torch_version:
        for r in rows:
            if r["H"] == 128 and r["dtype"] == "float32":
                verdicts[r["cell"]] = {"ratio": round(r["ratio_trace_on"], 3), "target": targets[r["cell"]],
                                       "met": r["ratio_trace_on"] >= targets[r["cell"]]}
        print("targets (H=128, B=32, float32, trace on):", verdicts)
    result = {
        "benchmark": "engine",
        "unit": "tokens/s",
        "numpy": np.__version__,
        "torch": torch_version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rows": rows,
        "targets": verdicts,
    }
    if args.json:
        print(json.dumps(result))
    return 0


def format_row(r) -> str:
    s = (f"{r['cell']:>4} H={r['H']:<3} B={r['B']:<2} {r['dtype']}: trace off {r['trace_off']:>9,.0f}  "
         f"trace on {r['trace_on']:>9,.0f}  (+{100 * r['trace_overhead']:.1f}%)")
    if "torch" in r:
        s += f"  torch {r['torch']:>9,.0f}  ratio {r['ratio_trace_on']:.2f}"
    return s


if __name__ == "__main__":
    sys.exit(main())
