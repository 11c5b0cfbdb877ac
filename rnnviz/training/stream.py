"""A run's training batches, as a stream a checkpoint can save and restore at any batch.

    stream = BatchStream(task, np.random.default_rng(data_seed))
    batch = stream.next()                      # stream.position: batches drawn so far
    saved = stream.saved()                     # {"at": n, "state": ...}: JSON, for the checkpoint
    again = BatchStream(task, rng_in(saved["state"]), start=stream.position)   # the same next batch

Why not replay the stream from its seed to the saved position: that costs one batch's work per batch
of the run, and a file decides how many (a hostile ``batches_used: 10**12`` never finished). Each task
says where its stream can restart (``Task.restart_point``: the batch itself for tasks that draw per
batch, the epoch's first batch for the names' shuffled order, which is drawn there), so the stream
keeps the data random state of that point and a resumed stream starts right at its position, at any
step, for the cost of one batch.
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import Task
from rnnviz.corpus.batch import Batch


class BatchStream:
    """``task``'s training batches from batch ``start``, with ``rng`` in the state the task's
    ``restart_point(start)`` needs (for a new stream: ``start`` 0 and a fresh generator)."""

    def __init__(self, task: Task, rng: np.random.Generator, start: int = 0):
        self.task = task
        self.rng = rng
        self.position = start  # batches of the stream drawn so far (the next one's index)
        self._batches = task.train_batches(rng, start)
        # (batch index, data random state before drawing it) of the newest restart point behind us
        self._mark = (task.restart_point(start), rng.bit_generator.state)

    def next(self) -> Batch:
        n = self.position
        if self.task.restart_point(n + 1) == n:  # the batch after this one restarts here: keep the state
            self._mark = (n, self.rng.bit_generator.state)
        batch = next(self._batches)
        self.position = n + 1
        return batch

    def saved(self) -> dict:
        """Where the stream restarts for its position, and the data random state there (JSON-able)."""
        at = self.task.restart_point(self.position)
        if at == self.position:
            return {"at": at, "state": self.rng.bit_generator.state}
        assert self._mark[0] == at, "a restart point behind the stream was not kept"
        return {"at": at, "state": self._mark[1]}

    @property
    def progress(self) -> float:
        """Epochs done after ``position`` batches (what the newest batch's ``progress`` said, to rounding)."""
        return self.position / self.task.batches_per_epoch
