"""The one snapshot type: everything a sequence panel draws, for one sequence, from the engine's arrays.

A :class:`Snapshot` shows either a row of a training batch (``source`` "train", made from the step's
trace) or the probe sentence read so far (``source`` "probe", made from a forward pass over the prefix):
both come from an engine :class:`~rnnviz.engine.trace.Trace` through :func:`make_snapshot`, so every
panel has one ``show(snapshot)`` and the numbers on screen are the engine's own:

    hidden states     Snapshot.layers[l].hs[1:]      <- Trace.layers[l].hs[1:, row]   <- ForwardPass
    gate activations  Snapshot.layers[l].acts        <- Trace.layers[l].acts[:, :, row]
    next-token bars   Snapshot.top_ids / top_probs   <- Trace.probs (lm), Trace.prefix_probs (classify)
    -log p            Snapshot.losses                <- Trace.per_step_loss (model.loss), prefix_loss
    gradients         Snapshot.layers[l].dh_norm, dlast_norm  <- Trace (BPTT and the one-row backward)

Shapes: T is ``length``, the time steps read (the heatmap's columns); H hidden units, G gate blocks,
k = ``TOP_K`` bars, O regression outputs. Arrays are copies of the one row shown (never views of the
engine's batch buffers, which a buffer pool reuses), so a snapshot can be kept (the step history) and
pickled to the app. Nobody writes into them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.infer import most_likely
from rnnviz.engine.trace import Trace

TOP_K = 10  # bars per step: the k most likely tokens (or classes) travel, never a 10,000-word softmax
SOURCES = ("train", "probe")


@dataclass(frozen=True)
class LayerSnapshot:
    hs: np.ndarray  # (T+1, H) hidden states, h_0 first
    cs: np.ndarray | None  # (T+1, H) cell states for a cell that has them (LSTM), c_0 first
    acts: np.ndarray  # (T, G, H) gate activations in the cell's gate order
    dh_norm: np.ndarray | None  # (T,) ||dL/dh_t||: every loss from step t on (None: no loss to differentiate)
    dlast_norm: np.ndarray | None  # (T,) ||dL_T/dh_t||: the last step's loss alone


@dataclass(frozen=True)
class HistoryPlace:
    """Where a snapshot shown from the step history sits: ``index`` of ``count``, the run now at ``newest_step``."""

    index: int
    count: int
    newest_step: int


@dataclass(frozen=True)
class Snapshot:
    run: str  # the run's id
    step: int  # train: this training step's number (made with the weights of step - 1); probe: weights after it
    source: str  # "train" (a batch row) or "probe" (the probe sentence)
    head: str  # "lm", "classify" or "regress"
    row: int  # the batch row (probe: 0)
    clip: str  # the clipping setting of the run ("off", "norm:5"...)
    length: int  # T: time steps read
    inputs: np.ndarray  # (N,) token ids or (N, I) values, N >= T: the whole sequence (the probe's unread part too)
    input_labels: tuple[str, ...]  # (N,) how each input is shown
    layers: tuple[LayerSnapshot, ...]
    losses: np.ndarray  # (T,) the engine's loss at each step; NaN where the step has no target
    top_ids: np.ndarray | None  # (T, k) lm: the most likely next tokens after each step; classify: classes
    top_probs: np.ndarray | None  # (T, k) their probabilities, most likely first
    target_ids: np.ndarray | None  # (T,) the true next token (lm) or class (classify); -1 where unknown
    target_probs: np.ndarray | None  # (T,) the probability given to it; NaN where unknown
    outputs: np.ndarray | None  # regress: (T, O) the predicted next values
    target_values: np.ndarray | None  # regress: (T, O) the true next values; NaN where unknown
    skipped: tuple[str, ...] = ()  # probe: typed characters or words the model does not know (left out)
    live: bool = False  # made while training ran on (the next one follows, up to SNAPSHOT_RATE a second)
    run_label: str = ""  # in a comparison, what tells the run apart ("clip=norm:1"); "" otherwise
    # per layer, why the gradient vanishes or explodes (engine.trace.LayerMechanism); None on the live
    # snapshots between two that carry it (it costs ~10-20 ms: Lab.MECHANISM_RATE)
    mechanism: tuple | None = None
    history: HistoryPlace | None = None  # set when shown from the step history

    @property
    def has_gradients(self) -> bool:
        return self.layers[0].dlast_norm is not None

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (what the step history counts against its budget)."""
        total = 0
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                total += v.nbytes
        for lv in self.layers:
            total += sum(a.nbytes for a in (lv.hs, lv.cs, lv.acts, lv.dh_norm, lv.dlast_norm) if a is not None)
        return total

    def not_live(self) -> Snapshot:
        """The same snapshot, no longer one of a running stream (training paused on it)."""
        return dataclasses.replace(self, live=False) if self.live else self

    def at_history(self, place: HistoryPlace | None, run: str | None = None, run_label: str = "") -> Snapshot:
        """The same snapshot, labelled as shown from the history (arrays shared, not copied), as run
        ``run``'s with ``run_label`` now (a run kept after a comparison is "A", unlabelled, but may have
        been "B (clip=norm:1)" then)."""
        return dataclasses.replace(
            self, history=place, live=False, run=self.run if run is None else run, run_label=run_label
        )


def make_snapshot(
    trace: Trace | None,
    *,
    run: str,
    step: int,
    source: str,
    head: str,
    clip: str,
    inputs: np.ndarray,
    input_labels: tuple[str, ...],
    known_targets: int,
    layer_shapes: tuple[tuple[int, int, bool], ...],
    n_out: int = 1,
    skipped: tuple[str, ...] = (),
    live: bool = False,
) -> Snapshot:
    """The snapshot of ``trace``'s displayed row (``trace`` None: nothing read yet, T = 0).

    ``inputs``/``input_labels``: the whole sequence shown (the trace covers its first T steps).
    ``known_targets``: how many leading steps have a real target (training: all T; the probe's last
    token has no next one; a typed name has no known class): the rest get -1 / NaN.
    ``layer_shapes``: per layer ``(H, G, has_cell_state)`` and ``n_out`` the regression outputs O, for
    the empty snapshot.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    if trace is None:
        return _empty(run, step, source, head, clip, inputs, input_labels, layer_shapes, n_out, skipped)
    r, T = trace.row, trace.length
    known = min(max(known_targets, 0), T)
    layers = tuple(
        LayerSnapshot(
            hs=np.array(lv.hs[: T + 1, r]),
            cs=None if lv.cs is None else np.array(lv.cs[: T + 1, r]),
            acts=np.array(lv.acts[:T, :, r]),
            dh_norm=None if lv.dh_norm is None else np.array(lv.dh_norm[:T, r]),
            dlast_norm=None if lv.dlast_norm is None else np.array(lv.dlast_norm[:T]),
        )
        for lv in trace.layers
    )
    unknown = np.arange(T) >= known  # (T,) steps without a target
    losses = np.full(T, np.nan)
    if trace.per_step_loss is not None and head != "classify":
        losses[:] = trace.per_step_loss[:T, r]
    elif trace.prefix_loss is not None:
        losses[:] = trace.prefix_loss[:T]
    losses[unknown] = np.nan
    top_ids = top_probs = target_ids = target_probs = outputs = target_values = None
    if head == "regress":
        outputs = np.array(trace.outputs[:T])
        target_values = np.full_like(outputs, np.nan, dtype=np.float64)
        if trace.y is not None:
            target_values[:known] = trace.y[:known]
    else:
        probs = trace.probs[:T] if head == "lm" else trace.prefix_probs[:T]  # (T, K)
        top_ids, top_probs = most_likely(probs, TOP_K)
        target_ids = np.full(T, -1, np.int32)
        if trace.y is not None:
            target_ids[:known] = trace.y[:known] if head == "lm" else int(trace.y)
        target_probs = np.full(T, np.nan)
        rows = np.flatnonzero(~unknown)
        target_probs[rows] = probs[rows, target_ids[rows]]
    return Snapshot(
        run=run, step=step, source=source, head=head, row=r if source == "train" else 0, clip=clip, length=T,
        inputs=np.array(inputs), input_labels=tuple(input_labels), layers=layers, losses=losses,
        top_ids=top_ids, top_probs=top_probs, target_ids=target_ids, target_probs=target_probs,
        outputs=outputs, target_values=target_values, skipped=tuple(skipped), live=live,
        mechanism=trace.mechanism,
    )  # fmt: skip


def _empty(run, step, source, head, clip, inputs, input_labels, layer_shapes, n_out, skipped) -> Snapshot:
    layers = tuple(
        LayerSnapshot(
            hs=np.zeros((1, H)),
            cs=np.zeros((1, H)) if has_c else None,
            acts=np.zeros((0, G, H)),
            dh_norm=None,
            dlast_norm=None,
        )  # fmt: skip
        for H, G, has_c in layer_shapes
    )
    k = 0 if head == "regress" else TOP_K
    return Snapshot(
        run=run, step=step, source=source, head=head, row=0, clip=clip, length=0, inputs=np.array(inputs),
        input_labels=tuple(input_labels), layers=layers, losses=np.zeros(0),
        top_ids=None if head == "regress" else np.zeros((0, k), np.int32),
        top_probs=None if head == "regress" else np.zeros((0, k)),
        target_ids=None if head == "regress" else np.zeros(0, np.int32),
        target_probs=None if head == "regress" else np.zeros(0),
        outputs=np.zeros((0, n_out)) if head == "regress" else None,
        target_values=np.zeros((0, n_out)) if head == "regress" else None, skipped=tuple(skipped),
    )  # fmt: skip
