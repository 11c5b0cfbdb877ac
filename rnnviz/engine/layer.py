"""One recurrent layer over a whole sequence: the time loops of the forward pass and of BPTT.

Layouts (time-major; see ``cells`` for why the forward pass is gate-major and the backward not):

    hs, cs   (T+1, B, H)     states, h_0 first
    acts     (T, G, B, H)    gate activations per step
    ax       (G, T, B, H)    input pre-activations (``[k]``: gate k over the whole sequence)
    dax      (T, B, G*H)     their gradients, gate blocks side by side as in the parameters
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import NamedTuple

import numpy as np

from rnnviz.engine.cells import StepView, get_cell
from rnnviz.engine.runtime import DEFAULT, Runtime


def gate_major(W: np.ndarray, G: int) -> np.ndarray:
    """``(R, G*H) -> (G, R, H)``, contiguous: ``[k]`` is gate block ``W[:, k*H:(k+1)*H]``."""
    R, GH = W.shape
    return np.ascontiguousarray(W.reshape(R, G, GH // G).transpose(1, 0, 2))


class OneHotInput(NamedTuple):
    """Input of a one-hot first layer: its pre-activation at step t is a lookup, ``table[:, ids[t]]``.

    Looking rows up step by step from the small ``(G, V, H)`` table (it stays in the CPU cache) beat
    preparing the whole ``(G, T, B, H)`` array before the loop (cold in the cache when each step reads it).
    """

    table: np.ndarray  # (G, V, H) gate-major W_xh + b_h
    ids: np.ndarray  # (T, B) token ids


@dataclass(frozen=True)
class LayerTrace:
    """Everything one layer computed over a sequence; the backward pass and the app both read it.

    ``hs (T+1, B, H)``: ``hs[0]`` is the initial state h_0 and ``hs[1:]`` the heatmap.
    ``cs (T+1, B, H)``: LSTM cell states, same layout (``None`` for other cells).
    ``acts (T, G, B, H)``: gate activations in the cell's gate order (the vanilla RNN's is ``hs[1:]``).
    ``extras (T, B, H)``: LSTM tanh(c_t), GRU W_hn h_{t-1} + b_hn (``None`` for the vanilla RNN).
    """

    cell: str
    hs: np.ndarray
    cs: np.ndarray | None
    acts: np.ndarray
    extras: np.ndarray | None

    def step(self, t: int) -> StepView:
        """Views of time step t (0-based: it maps h_t = hs[t] to hs[t+1])."""
        return self._steps[t]

    @cached_property
    def _steps(self) -> tuple[StepView, ...]:
        # made once and shared by the forward and the backward loop (cheaper than slicing twice)
        hs, cs, acts, extras = self.hs, self.cs, self.acts, self.extras
        return tuple(
            StepView(
                h_prev=hs[t],
                c_prev=None if cs is None else cs[t],
                h=hs[t + 1],
                c=None if cs is None else cs[t + 1],
                act=acts[t],
                extra=None if extras is None else extras[t],
            )
            for t in range(acts.shape[0])
        )

    def rows(self, rows: slice) -> LayerTrace:
        """The same trace restricted to a slice of batch rows (views, no copy)."""
        cut = lambda a: None if a is None else a[:, rows]  # noqa: E731
        return replace(self, hs=self.hs[:, rows], cs=cut(self.cs), acts=self.acts[:, :, rows], extras=cut(self.extras))


def layer_forward(
    cell_name: str,
    ax: np.ndarray | OneHotInput,
    W_hh: np.ndarray,
    b_hh: np.ndarray | None,
    h0: np.ndarray,
    c0: np.ndarray | None,
    runtime: Runtime = DEFAULT,
) -> LayerTrace:
    """Run one layer over T steps.

    ``ax``: input pre-activations ``(G, T, B, H)``, or a :class:`OneHotInput`. ``h0 (B, H)`` initial
    state (``c0`` likewise for the LSTM, else ignored). Buffers come from ``runtime.pool`` (see
    ``buffers``), so a returned trace is never overwritten while anyone still holds it.
    """
    cell = get_cell(cell_name)
    G = len(cell.GATES)
    B, H = h0.shape
    T = ax.ids.shape[0] if isinstance(ax, OneHotInput) else ax.shape[1]
    dtype = W_hh.dtype
    pool = runtime.pool
    hs = pool.empty((T + 1, B, H), dtype)
    hs[0] = h0
    cs = None
    if cell.HAS_CELL_STATE:
        cs = pool.empty((T + 1, B, H), dtype)
        cs[0] = 0.0 if c0 is None else c0
    acts = hs[1:, None] if cell.ACT_IS_H else pool.empty((T, G, B, H), dtype)
    extras = pool.empty((T, B, H), dtype) if cell.EXTRA else None
    trace = LayerTrace(cell_name, hs, cs, acts, extras)
    W4 = gate_major(W_hh, G)  # (G, H, H)
    b4 = None if b_hh is None else np.ascontiguousarray(np.broadcast_to(b_hh.reshape(G, 1, H), (G, B, H)))
    step_forward = cell.step_forward
    if isinstance(ax, OneHotInput):
        ax_t = np.empty((G, B, H), dtype)
        for t in range(T):
            np.take(ax.table, ax.ids[t], axis=1, out=ax_t)
            step_forward(ax_t, W4, b4, trace.step(t))
    else:
        for t in range(T):
            step_forward(ax[:, t], W4, b4, trace.step(t))
    return trace


@dataclass
class LayerGrads:
    """What BPTT through one layer returns.

    ``dax (T, B, G*H)`` dL/d(input pre-activation) and ``dah`` dL/d(recurrent pre-activation) per step
    (the same array except for the GRU; ``None`` from :func:`layer_backward_states`); ``dh (T, B, H)``
    the total dL/dh_t reaching each state from the output above and from the future; ``dh0 (B, H)``
    and ``dc0`` the gradient reaching the initial state (zero gradient flows further back: that is
    truncated BPTT).

    Recorded only when asked (``layer_backward(record=True)``, the walkthrough of a small model): the
    gradient from above alone, ``dh_above (T, B, H)`` (the head's ``dy @ W_hy.T``, before the future's
    share is added), and what each step's backward returns, ``dh_prev (T, B, H)``: ``dh_prev[t]`` is
    dL/dh_{t-1} through step t (the tutorial's ``dh_next`` computed at step t; ``dh_prev[0]`` is
    ``dh0``), with the LSTM's ``dc_prev`` likewise (``None`` for the other cells).
    """

    dax: np.ndarray
    dah: np.ndarray | None
    dh: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray | None
    dh_above: np.ndarray | None = None
    dh_prev: np.ndarray | None = None
    dc_prev: np.ndarray | None = None


def layer_backward(
    trace: LayerTrace, W_hh: np.ndarray, dh_out: np.ndarray, runtime: Runtime = DEFAULT, record: bool = False
) -> LayerGrads:
    """Backpropagate through time through one layer.

    ``dh_out (T, B, H)`` is the gradient the layer's outputs h_1..h_T receive from above (the head or
    the next layer). It is consumed: on return it holds the total gradient dL/dh_t (``LayerGrads.dh``).
    ``record``: also keep ``dh_above``, ``dh_prev`` and ``dc_prev`` (see ``LayerGrads``): copies of what
    the loop computes anyway, for the walkthrough; training never asks for them.
    """
    cell = get_cell(trace.cell)
    T, G, B, H = trace.acts.shape
    pool = runtime.pool
    dax = pool.empty((T, B, G * H), dh_out.dtype)
    dah = pool.empty((T, B, G * H), dh_out.dtype) if cell.HAS_RECURRENT_BIAS else dax
    step_backward = cell.step_backward
    W_hh_T = np.ascontiguousarray(W_hh.T)  # (G*H, H)
    dh_next = None  # dL/dh_t arriving from step t+1; none at the last step
    dc_next = None
    dh_above = dh_out.copy() if record else None
    dh_prev = np.empty_like(dh_out) if record else None
    dc_prev = np.empty_like(dh_out) if record and cell.HAS_CELL_STATE else None
    for t in range(T - 1, -1, -1):
        dh = dh_out[t]
        if dh_next is not None:
            dh += dh_next  # total dL/dh_t = from the output at t + from the future
        dh_next, dc_next = step_backward(dh, dc_next, trace.step(t), W_hh_T, dax[t], dah[t])
        if record:
            dh_prev[t] = dh_next
            if dc_prev is not None:
                dc_prev[t] = dc_next
    return LayerGrads(
        dax=dax, dah=dah, dh=dh_out, dh0=dh_next, dc0=dc_next, dh_above=dh_above, dh_prev=dh_prev, dc_prev=dc_prev
    )


def layer_backward_states(trace: LayerTrace, W_hh: np.ndarray, dh_out: np.ndarray) -> LayerGrads:
    """BPTT through one layer for the states only, via the cell's precomputed Jacobian coefficients.

    Same result as :func:`layer_backward` (to rounding) but with far fewer operations per step, which
    matters for a single batch row (the app's last-step gradient view), where each NumPy call costs
    more than its arithmetic. ``dax`` is filled; ``dah`` is not formed (no weight gradients here).
    """
    cell = get_cell(trace.cell)
    T, G, B, H = trace.acts.shape
    coeffs = cell.jacobian(trace)
    # One row multiplies a vector by W_hh.T at each step: a gemv, as fast on the transposed view, so the
    # contiguous copy (~0.15 ms at H = 128, on every trace the app makes) is made only for a batch.
    W_hh_T = W_hh.T if B == 1 else np.ascontiguousarray(W_hh.T)
    dax = np.empty((T, B, G * H), dh_out.dtype)
    jacobian_step = cell.jacobian_step
    dh_next = dc_next = None
    for t in range(T - 1, -1, -1):
        dh = dh_out[t]
        if dh_next is not None:
            dh += dh_next
        dh_next, dc_next = jacobian_step(dh, dc_next, coeffs, t, W_hh_T, dax[t])
    return LayerGrads(dax=dax, dah=None, dh=dh_out, dh0=dh_next, dc0=dc_next)
