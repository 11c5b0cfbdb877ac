"""Reusing large arrays between training steps.

Why: every training step needs tens of megabytes of scratch arrays (hidden states, gates, their
gradients). Freshly allocated, each is new memory from the operating system, and the first touch of
every 4 KiB page costs a page fault: measured at 10-30% of a whole training step on the benchmark
machine (bench/engine.py). A :class:`BufferPool` hands the same arrays out again on the next step.

Safety: an array is handed out again only when nothing outside the pool refers to it. A trace that
the app still holds keeps its arrays (and every view of them) referenced, so they are never
overwritten; once the app drops the trace, the arrays return to the pool by themselves. CPython's
reference count tells which is which. A pool belongs to one thread (the one that trains).
"""

from __future__ import annotations

import sys

import numpy as np

# Below this size an allocation is cheap (the C allocator keeps small blocks), so it is not pooled.
MIN_BYTES = 64 * 1024
# At most this many arrays per (shape, dtype) are kept; a consumer that holds more (for example a
# history of traces) gets fresh arrays that are simply freed later.
MAX_PER_SHAPE = 4


def _references_when_free() -> int:
    """What ``sys.getrefcount`` reports for a pooled array that nothing else holds, measured with the
    very loop :meth:`BufferPool.empty` uses (interpreters differ: CPython 3.14 counts borrowed
    references differently from 3.11, so the number is measured, not assumed)."""
    bucket = [np.empty(1)]
    for a in bucket:
        return sys.getrefcount(a)
    raise AssertionError("unreachable")


class BufferPool:
    FREE = None  # set below, once: references of an array only the pool holds

    def __init__(self) -> None:
        self._buckets: dict[tuple, list[np.ndarray]] = {}
        self.reused = 0  # for tests and benchmarks
        self.allocated = 0

    def empty(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised array, like ``np.empty``, possibly one handed out before and since released."""
        dtype = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        nbytes = dtype.itemsize * int(np.prod(shape))
        if nbytes < MIN_BYTES:
            return np.empty(shape, dtype)
        bucket = self._buckets.setdefault((shape, dtype.str), [])
        for a in bucket:
            # held by nobody but the pool (a trace, or any view of the array, adds references)
            if sys.getrefcount(a) <= self.FREE:
                a.setflags(write=True)  # a trace may have frozen it; nobody holds that trace now
                self.reused += 1
                return a
        a = np.empty(shape, dtype)
        self.allocated += 1
        if len(bucket) < MAX_PER_SHAPE:
            bucket.append(a)
        return a

    def zeros(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        a = self.empty(shape, dtype)
        a.fill(0)
        return a


class FreshArrays:
    """The no-pool policy: every request is a new array (``np.empty``). The default everywhere."""

    @staticmethod
    def empty(shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    @staticmethod
    def zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
        return np.zeros(shape, dtype)


FRESH = FreshArrays()
BufferPool.FREE = _references_when_free()

if sys.implementation.name != "cpython":  # reference counts are a CPython detail: do not pool elsewhere
    BufferPool = FreshArrays  # type: ignore[misc, assignment]  # noqa: F811
