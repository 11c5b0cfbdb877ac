"""How the engine runs, as opposed to what it computes: one small object passed in explicitly.

    runtime = Runtime(pool=BufferPool(), wide_context=two_blas_threads)
    fp = forward(params, cfg, x, runtime=runtime)

``pool`` is where the large per-step arrays come from: ``FRESH`` (a new array each time, the default)
or a :class:`~rnnviz.engine.buffers.BufferPool` that hands released arrays out again (a training run
owns one). ``wide_context`` is a factory of context managers that the engine's few large products
run inside, those of a batch with G*H-wide gates: a layer's input projection ``(T*B, I) @ (I, G*H)``,
the weight gradients ``(H or I, T*B) @ (T*B, G*H)`` of W_hh and W_xh (or the one-hot scatter), the
gradient into a lower layer ``(T*B, G*H) @ (G*H, H)``, where a second BLAS thread gains most.
Everything else runs on the BLAS threads the process has: the time loops above all (each step
multiplies small matrices), the head's products (narrower: V or K columns; measured no faster on two
threads with the window busy, see ``rnnviz.lab.blas``), the bias sums and the gradient norms. So
the app's training process, which shares two cores with the window, runs on one BLAS thread and
passes a ``wide_context`` that gives these products two (``rnnviz.lab.blas``): a second thread woken
for a small product costs more than it saves whenever the window holds the other core. Neither
changes a single bit of the results (tests/engine/test_determinism.py). Only one thread of a process
(in the app, the training loop's) may run inside ``wide_context``: the thread count is per process.

The engine never changes a runtime and keeps no runtime of its own: whoever trains decides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from rnnviz.engine.buffers import FRESH


@dataclass(frozen=True)
class Runtime:
    pool: object = FRESH  # .empty(shape, dtype) / .zeros(shape, dtype): FRESH or a BufferPool
    wide_context: Callable[[], AbstractContextManager] = contextlib.nullcontext

    def wide(self, batch: int) -> AbstractContextManager:
        """``wide_context()`` around a product over a batch of ``batch`` rows: one row (the probe, a
        trace's own backward pass) is never large."""
        return self.wide_context() if batch > 1 else contextlib.nullcontext()


DEFAULT = Runtime()  # fresh arrays, every product on whatever BLAS threads the process has
