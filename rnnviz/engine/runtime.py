"""How the engine runs, as opposed to what it computes: one small object passed in explicitly.

    runtime = Runtime(pool=BufferPool(), loop_context=one_blas_thread)
    fp = forward(params, cfg, x, runtime=runtime)

``pool`` is where the large per-step arrays come from: ``FRESH`` (a new array each time, the default)
or a :class:`~rnnviz.engine.buffers.BufferPool` that hands released arrays out again (a training run
owns one). ``loop_context`` is a factory of context managers that every time loop (forward, BPTT,
the one-row BPTT of a trace) runs inside. Each step of a loop multiplies small matrices, where a
second BLAS thread gains little and, idle between the steps, spin-waits on its core, while the large
once-per-step products gain from it; so the app's training process, which shares two cores with the
window, passes one that runs the loops on a single BLAS thread (``rnnviz.lab.blas``). Neither
changes a single bit of the results (tests/engine/test_determinism.py).

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
    loop_context: Callable[[], AbstractContextManager] = contextlib.nullcontext


DEFAULT = Runtime()  # fresh arrays, loops on whatever BLAS threads the process has
