"""BLAS threads for a training process that shares its cores with a window (no Qt here).

The app's window needs about a third of a core. On 2 cores the training process is started with two
BLAS threads and then runs on one, except inside ``Runtime.wide_context`` (``rnnviz.engine.runtime``):
the few large products over a whole batch (the weight gradients of W_hh and W_xh, input projections),
where the second thread saves 15-37% (W_hh's gradient, LSTM H=128, B=32, T=64: 2.8 against 3.3 ms
with a stand-in for the window busy a third of the time, 2.2 against 3.5 ms without). Everywhere else
a second thread is woken for a product too small to repay it, and whenever the window holds the
other core the product waits for it: under that load the gradient norms took 0.74 ms on two threads
against 0.12 on one (means of 300), the head's products 0.61-0.65 against 0.47-0.55. Idle threads sleep at once
(OPENBLAS_THREAD_TIMEOUT), so they take nothing from the window between the products using them.

Measured with bench/gui.py (panels live; three short runs each, in turns, within the hour): this
layout trains at 0.83-0.91 of headless; the one before it (two threads for everything but the time
loops) 0.76-0.79; one thread throughout 0.73-0.79; two throughout was clearly worst (66-70k tokens/s
against 77.5k, an earlier engine).
"""

from __future__ import annotations

import os
from contextlib import contextmanager


def blas_controllers() -> list:
    """threadpoolctl's handles on the BLAS libraries NumPy loaded; empty where it has none it can steer
    (threadpoolctl missing, or older than 3.5, which cannot see NumPy 2's bundled OpenBLAS)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]


def narrow_blas():
    """Put this process's BLAS on one thread now and return a ``wide_context`` that gives the large
    products the threads it had (see the module docstring); None (change nothing) where no BLAS
    library can be steered."""
    blas = blas_controllers()
    if not blas:
        return None
    threads = [c.num_threads for c in blas]
    for c in blas:
        c.set_num_threads(1)

    @contextmanager
    def wide():
        for c, n in zip(blas, threads, strict=True):
            c.set_num_threads(n)
        try:
            yield
        finally:
            for c in blas:
                c.set_num_threads(1)

    return wide


def engine_blas_threads(cpus: int | None = None, steerable: bool | None = None) -> tuple[int, bool]:
    """``(threads, split)``: BLAS threads for the training process, and whether it runs on one of them
    except for the large products (see the module docstring). With 3 cores or more there is room for
    two throughout.
    Where the thread count cannot be changed at run time (``steerable`` False), one thread on 2 cores.
    """
    if cpus is None:
        cpus = os.cpu_count() or 2
    if cpus >= 3:
        return 2, False
    if cpus == 2:
        if steerable is None:
            steerable = bool(blas_controllers())
        return (2, True) if steerable else (1, False)
    return 1, False


@contextmanager
def blas_environment(threads: int, split: bool):
    """While a training process is started: ``threads`` BLAS threads in its environment; ``split``: it
    will run on one of them but for the large products (see ``engine_blas_threads``)."""
    names = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: str(threads) for k in names[:3]})
    if split:
        # An idle OpenBLAS thread spins for 2**28 cycles (~0.1 s) before it sleeps; 2**4 (the least)
        # sends it to sleep at once, so it takes no time from the window between the products using it
        # (2**20, ~0.4 ms: the app trained at 0.77 of headless against 0.84, three short runs each).
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
