"""Serving: concurrent clients against `rnnviz serve`, all on loopback, for a fixed time.

    python bench/serve.py               20 s per endpoint, a table
    python bench/serve.py --json        ... then one JSON object as the last line
    python bench/serve.py --seconds 5   a shorter run

The server is `rnnviz serve` in a process of its own on a free 127.0.0.1 port, serving the default
model (character LSTM, H = 128, one layer, float32, Tiny Shakespeare's 65 characters), trained for
a few steps only: how fast a step runs does not depend on how well the model has learnt. For
--seconds each, --clients threads (8) send requests back to back, each on its own keep-alive
connection: first POST /generate (200 tokens, temperature 0.8, top-k 10, a new seed each time), then
POST /predict (a 100-character line, top 10). Meanwhile one more client asks GET /health every 50 ms.

Reported per endpoint: requests per second, latency p50 / p99, errors (anything but a 200; must be
0), and /health's latency under that load; the server's resident memory (VmRSS, Linux) after a
warm-up, after each phase and at the end, whose growth should be flat. The bench then stops the
server with SIGINT, as Ctrl-C would, and reports its exit code (0: a clean stop).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)

from rnnviz.corpus import bundled_corpus, load_text  # noqa: E402
from rnnviz.training import TrainConfig, Trainer, save_trainer  # noqa: E402

HEALTH_EVERY_S = 0.05


def make_checkpoint(path: str, steps: int) -> str:
    trainer = Trainer(TrainConfig(dtype="float32"))
    for _ in range(steps):
        trainer.train_step()
    trainer.evaluate(max_batches=2)
    save_trainer(trainer, path)
    return path


def start_server(checkpoint: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(ROOT))  # this checkout's rnnviz
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "serve", checkpoint, "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    for line in proc.stdout:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return proc, found.group(1)
    raise RuntimeError(f"rnnviz serve did not start (exit code {proc.wait()})")


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return kb / 1024
    except (OSError, StopIteration):
        return None


def client(url: str, path: str, body, deadline: float, latencies: list, errors: list) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                ok = c.post(path, json=body(i)).status_code == 200
            except httpx.HTTPError:
                ok = False
            (latencies if ok else errors).append(time.perf_counter() - t0)
            i += 1


def prober(url: str, stop: threading.Event, latencies: list, errors: list) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        while not stop.wait(HEALTH_EVERY_S):
            t0 = time.perf_counter()
            try:
                ok = c.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            (latencies if ok else errors).append(time.perf_counter() - t0)


def phase(url: str, path: str, body, clients: int, seconds: float) -> dict:
    """``clients`` threads against ``path`` for ``seconds``, /health probed meanwhile."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    err: list[list[float]] = [[] for _ in range(clients)]
    health, health_err, stop = [], [], threading.Event()
    probe = threading.Thread(target=prober, args=(url, stop, health, health_err))
    probe.start()
    t0 = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(url, path, body, t0 + seconds, lat[i], err[i])) for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    stop.set()
    probe.join()
    ms = 1e3 * np.array([x for row in lat for x in row])
    hms = 1e3 * np.array(health)
    return {
        "endpoint": path, "clients": clients, "seconds": elapsed, "requests": int(ms.size),
        "requests_per_s": ms.size / elapsed, "p50_ms": float(np.percentile(ms, 50)) if ms.size else None,
        "p99_ms": float(np.percentile(ms, 99)) if ms.size else None,
        "errors": sum(len(row) for row in err) + len(health_err), "health_requests": int(hms.size),
        "health_p50_ms": float(np.percentile(hms, 50)) if hms.size else None,
        "health_p99_ms": float(np.percentile(hms, 99)) if hms.size else None,
    }  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds per endpoint (default 20)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=200, help="tokens per /generate request (default 200)")
    ap.add_argument("--checkpoint", help="serve this checkpoint instead of a freshly trained default model")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)

    text = load_text(bundled_corpus()).text
    line = text[1000:1100]  # 100 characters of the corpus, for /predict
    bodies = {
        "/generate": lambda i: {"seed_text": "ROMEO:", "num_tokens": args.tokens, "temperature": 0.8, "top_k": 10,
                                "seed": i},
        "/predict": lambda i: {"text": line, "top_k": 10},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or make_checkpoint(os.path.join(tmp, "default.npz"), steps=10)
        proc, url = start_server(checkpoint)
        watchdog = threading.Timer(4 * args.seconds + 120, proc.kill)  # the bench stops whatever happens
        watchdog.start()
        try:
            for path, body in bodies.items():  # warm-up: every code path once, the thread pool started
                phase(url, path, body, args.clients, min(1.0, args.seconds))
            rss = {"after_warmup": rss_mb(proc.pid)}
            rows = []
            for path, body in bodies.items():
                rows.append(phase(url, path, body, args.clients, args.seconds))
                rss[f"after_{path.strip('/')}"] = rss_mb(proc.pid)
            proc.send_signal(signal.SIGINT)
            exit_code = proc.wait(timeout=30)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
    out = {
        "benchmark": "serve", "cpus": os.cpu_count(), "python": platform.python_version(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "tokens_per_generate": args.tokens,
        "rows": rows, "rss_mb": rss, "server_exit_code": exit_code,
    }  # fmt: skip
    print(f"{'endpoint':<11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'/health p50':>13}{'p99 ms':>9}")
    for r in rows:
        print(
            f"{r['endpoint']:<11}{r['requests_per_s']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}"
            f"{r['health_p50_ms']:>13.1f}{r['health_p99_ms']:>9.1f}"
        )
    print("server RSS MB: " + ", ".join(f"{k} {v:.1f}" for k, v in rss.items() if v is not None))
    print(f"server exit code after SIGINT: {exit_code}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
