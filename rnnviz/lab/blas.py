"""BLAS threads for a training process that shares its cores with a window (no Qt here).

The app's window needs about a third of a core. Measured on 2 cores (bench/gui.py, LSTM H=128, panels
live): one BLAS thread throughout, 52-54k tokens/s; two throughout, 48k (between the small products of
the time loops the idle thread spin-waits on the window's core); two for the large once-per-step
products, one in the time loops and idle threads asleep at once (OPENBLAS_THREAD_TIMEOUT), 56-58k.
Measured again with the current, faster engine (60 s runs in turns, five each): the split 77.5k, one
thread throughout 80.4k on 0.17 fewer cores, the same within this machine's noise (±5k); two
throughout (two shorter runs) 66-70k. The split stays: no measurement has put
one thread ahead by more than the noise, though it uses fewer cores (worth measuring again).
The split is a ``Runtime.loop_context`` (``rnnviz.engine.runtime``) made here with threadpoolctl.
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


def one_blas_thread_context():
    """A ``loop_context`` that runs the engine's time loops on one BLAS thread and restores the thread
    count after; None (change nothing) where no BLAS library can be steered."""
    blas = blas_controllers()
    if not blas:
        return None
    threads = [c.num_threads for c in blas]

    @contextmanager
    def one_thread():
        for c in blas:
            c.set_num_threads(1)
        try:
            yield
        finally:
            for c, n in zip(blas, threads, strict=True):
                c.set_num_threads(n)

    return one_thread


def engine_blas_threads(cpus: int | None = None, steerable: bool | None = None) -> tuple[int, bool]:
    """``(threads, split)``: BLAS threads for the training process, and whether its time loops run on
    one of them (see the module docstring). With 3 cores or more there is room for two throughout.
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
    """While a training process is started: ``threads`` BLAS threads in its environment; ``split``: its
    time loops will run on one (see ``engine_blas_threads``)."""
    names = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: str(threads) for k in names[:3]})
    if split:
        # An idle OpenBLAS thread spins for 2**28 cycles (~0.1 s) before it sleeps; 2**4 (the least)
        # sends it to sleep at once, so it takes no time from the window between the products using it.
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
