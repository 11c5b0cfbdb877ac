"""The numbers of a run over time: every step's loss and gradient norms, every validation pass.

A :class:`TrainingLog` belongs to a Trainer, is filled by every training step and saved with its
checkpoints, so curves survive a restart (the app draws them again after loading; ``rnnviz serve``
can hand them to a client). :class:`Columns` is the bounded storage, shared with the app's curves.
"""

from __future__ import annotations

import numpy as np

# A run keeps at most this many points per curve: beyond it, every other point of the older half is
# dropped (the newest half stays at full resolution). 200,000 steps of 5 columns is 8 MB.
MAX_POINTS = 200_000


class Columns:
    """Growable float64 columns, ``x`` plus named series, at most ``max_points`` rows (see MAX_POINTS)."""

    def __init__(self, names: tuple[str, ...], max_points: int = MAX_POINTS):
        self.names = names
        self.max_points = max_points
        self._cols = {n: np.empty(1024) for n in ("x", *names)}
        self.n = 0
        self.decimated = False

    def append(self, x: float, **values: float) -> None:
        if self.n >= self.max_points:
            self._thin()
        if self.n == len(self._cols["x"]):
            for k, a in self._cols.items():
                self._cols[k] = np.concatenate([a, np.empty(min(len(a), self.max_points - len(a)))])
        self._cols["x"][self.n] = x
        for k in self.names:
            self._cols[k][self.n] = values.get(k, np.nan)
        self.n += 1

    def extend(self, x: np.ndarray, **values: np.ndarray) -> None:
        """Many rows at once (a restored log): what ``append`` row by row would store."""
        n = len(x)
        if self.n + n > self.max_points:  # it will thin on the way: row by row, exactly as append does
            for i in range(n):
                self.append(float(x[i]), **{k: float(v[i]) for k, v in values.items()})
            return
        if self.n + n > len(self._cols["x"]):
            for k, a in self._cols.items():
                grown = np.empty(max(2 * len(a), self.n + n))
                grown[: self.n] = a[: self.n]
                self._cols[k] = grown
        self._cols["x"][self.n : self.n + n] = x
        for k in self.names:
            self._cols[k][self.n : self.n + n] = values[k] if k in values else np.nan
        self.n += n

    def _thin(self) -> None:
        """Keep every other point of the older half: the newest stay exact, memory stays bounded."""
        half = self.n // 2
        for a in self._cols.values():
            kept = np.concatenate([a[:half:2], a[half : self.n]])
            a[: len(kept)] = kept
        self.n = len(kept)
        self.decimated = True

    def put(self, x: float, **values: float) -> None:
        """``append``, for a series that runs forward: a row at the last row's x replaces it, one before
        it is dropped (a paused step shown again, a view of an older step)."""
        if self.n and self["x"][-1] >= x:
            if self["x"][-1] > x:
                return
            self.n -= 1
        self.append(x, **values)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def clear(self) -> None:
        self.n = 0
        self.decimated = False

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The columns as ``{prefix + name: copy}`` (for a checkpoint)."""
        return {prefix + k: np.array(self[k]) for k in ("x", *self.names)}


STEP_COLUMNS = ("loss", "grad_norm", "clipped_norm", "clipped")  # clipped: 1.0 or 0.0
EVAL_COLUMNS = ("loss", "accuracy")  # accuracy NaN where the task has none


def mechanism_columns(gates: tuple[str, ...]) -> tuple[str, ...]:
    """What the log keeps of each mechanism view (``engine.trace.LayerMechanism``) of the first layer, the
    one the lessons are about: the growth factor per step of ||dh_T/dh_t||, the share of saturated units,
    and rho and sigma_max of each gate block of W_hh (``rho_f``, ``sigma_f``: the LSTM's forget gate)."""
    return ("growth", "saturated", *(f"{q}_{g}" for g in gates for q in ("rho", "sigma")))


def mechanism_row(m, gates: tuple[str, ...]) -> dict[str, float]:
    """The :func:`mechanism_columns` values of one view ``m`` (a LayerMechanism; NaN where it has none)."""
    row = {"growth": float(m.growth), "saturated": float(m.saturated)}
    for k, g in enumerate(gates):
        row[f"rho_{g}"] = float(m.block_radius[k]) if k < len(m.block_radius) else float("nan")
        row[f"sigma_{g}"] = float(m.block_sigma[k]) if k < len(m.block_sigma) else float("nan")
    return row


class TrainingLog:
    """``steps``: one row per training step (x is the step); ``evals``: one row per validation pass;
    ``mechanism``: one row per mechanism view of a training step (the app makes one every second or
    two), with the columns of ``mechanism_columns(gates)``, ``gates`` the cell's."""

    def __init__(self, gates: tuple[str, ...] = ("h",)) -> None:
        self.gates = tuple(gates)
        self.steps = Columns(STEP_COLUMNS)
        self.evals = Columns(EVAL_COLUMNS)
        self.mechanism = Columns(mechanism_columns(self.gates))

    def add_step(self, step: int, loss: float, grad_norm: float, clipped_norm: float, clipped: bool) -> None:
        self.steps.append(step, loss=loss, grad_norm=grad_norm, clipped_norm=clipped_norm, clipped=float(clipped))

    def add_eval(self, step: int, loss: float, accuracy: float | None) -> None:
        """A validation at ``step``; another one at the same step replaces it (the command line's final
        report after a validation at the same step, say)."""
        e = self.evals
        if e.n and e["x"][-1] == step:
            e.n -= 1
        e.append(step, loss=loss, accuracy=np.nan if accuracy is None else accuracy)

    def add_mechanism(self, step: int, m) -> None:
        """The mechanism view ``m`` (a LayerMechanism) of training step ``step``; another view of the same
        step replaces it (a pause shows the newest step again, maybe for another row), an older one is
        not kept (the log runs forward)."""
        self.mechanism.put(step, **mechanism_row(m, self.gates))

    def arrays(self) -> dict[str, np.ndarray]:
        """For a checkpoint: ``log.step.<column>``, ``log.eval.<column>``, ``log.mech.<column>``, float64 1-D."""
        return {k: a for cols, prefix in self._groups() for k, a in cols.arrays(prefix).items()}

    def _groups(self) -> tuple[tuple[Columns, str], ...]:
        return (self.steps, "log.step."), (self.evals, "log.eval."), (self.mechanism, "log.mech.")

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], gates: tuple[str, ...] = ("h",)) -> TrainingLog:
        """The log saved by ``arrays`` for a cell with ``gates`` (an empty log, or no mechanism rows, when
        the file has none: older checkpoints).

        Raises ``ValueError`` when the columns are not 1-D float arrays of one length each.
        """
        log = cls(gates)
        for cols, prefix in log._groups():
            names = ("x", *cols.names)
            present = [prefix + n in arrays for n in names]
            if not any(present):
                continue
            if not all(present):
                raise ValueError(f"the training history is incomplete ({prefix}*)")
            data = [np.asarray(arrays[prefix + n]) for n in names]
            n = len(data[0])
            if any(a.ndim != 1 or len(a) != n or a.dtype.kind not in "fiu" for a in data):
                raise ValueError(f"the training history ({prefix}*) is not one column of numbers per name")
            if n > cols.max_points:
                raise ValueError(f"the training history holds {n:,} points, more than {cols.max_points:,}")
            cols.extend(data[0], **dict(zip(cols.names, data[1:], strict=True)))
        return log
