"""The step history: a bounded ring buffer of a run's recent training snapshots, to scrub back through.

Bounded by memory, not by count: snapshots of different models weigh very different amounts (the
default character LSTM's is about 0.2 MB, mostly its gates; a 5-unit RNN's a few kB). The oldest
are dropped while the total is above ``budget`` bytes; the newest is always kept, however large.
With the default budget the default model keeps 327 steps (at least 100 is the promise; measured in
bench/gui.py and checked in tests/lab/test_lab.py).
"""

from __future__ import annotations

from collections import deque

from rnnviz.lab.snapshot import Snapshot

DEFAULT_BUDGET = 64 * 2**20  # bytes


class SnapshotHistory:
    def __init__(self, budget: int = DEFAULT_BUDGET):
        if budget < 0:
            raise ValueError("the history budget must be at least 0 bytes")
        self.budget = budget
        self._items: deque[tuple[Snapshot, int]] = deque()  # (snapshot, its nbytes)
        self.nbytes = 0

    def append(self, snap: Snapshot) -> None:
        """Keep ``snap`` as the newest; drop the oldest until the rest fits the budget."""
        if self._items and self._items[-1][0].step == snap.step:  # the same step again (a pause re-sends it)
            self._drop_newest()
        size = snap.nbytes
        self._items.append((snap, size))
        self.nbytes += size
        while self.nbytes > self.budget and len(self._items) > 1:
            _, old = self._items.popleft()
            self.nbytes -= old

    def _drop_newest(self) -> None:
        _, size = self._items.pop()
        self.nbytes -= size

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Snapshot:
        return self._items[index][0]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    @property
    def steps(self) -> tuple[int, int]:
        """``(first, last)`` step kept; ``(0, 0)`` when empty."""
        if not self._items:
            return 0, 0
        return self._items[0][0].step, self._items[-1][0].step
