"""One recurrent layer over a whole sequence: the time loops of the forward pass and of BPTT.

All arrays are time-major. The input pre-activations ``ax = X @ W_xh + b_h`` ``(T, B, G*H)`` are
computed by the caller for every step at once; this module runs the part that must go step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType

import numpy as np

from rnnviz.engine.buffers import FRESH
from rnnviz.engine.cells import StepView, get_cell


@dataclass(frozen=True)
class LayerTrace:
    """Everything one layer computed over a sequence; the backward pass and the app both read it.

    ``hs (T+1, B, H)``: ``hs[0]`` is the initial state h_0 and ``hs[1:]`` the heatmap.
    ``cs (T+1, B, H)``: LSTM cell states, same layout (``None`` for other cells).
    ``acts (T, B, G*H)``: gate activations in the cell's gate order (the vanilla RNN's is ``hs[1:]``).
    ``extras (T, B, H)``: LSTM tanh(c_t), GRU W_hn h_{t-1} + b_hn (``None`` for the vanilla RNN).
    """

    cell: str
    hs: np.ndarray
    cs: np.ndarray | None
    acts: np.ndarray
    extras: np.ndarray | None

    def step(self, t: int) -> StepView:
        """Views of time step t (0-based: it maps h_t = hs[t] to hs[t+1])."""
        cs, extras = self.cs, self.extras
        return StepView(
            h_prev=self.hs[t],
            c_prev=None if cs is None else cs[t],
            h=self.hs[t + 1],
            c=None if cs is None else cs[t + 1],
            act=self.acts[t],
            extra=None if extras is None else extras[t],
        )

    def rows(self, rows: slice) -> LayerTrace:
        """The same trace restricted to a slice of batch rows (views, no copy)."""
        cut = lambda a: None if a is None else a[:, rows]  # noqa: E731
        return replace(self, hs=self.hs[:, rows], cs=cut(self.cs), acts=self.acts[:, rows], extras=cut(self.extras))

    def freeze(self) -> None:
        """Make every array read-only (the trace is about to cross a thread)."""
        for a in (self.hs, self.cs, self.acts, self.extras):
            if a is not None:
                a.setflags(write=False)


def layer_forward(
    cell_name: str,
    ax: np.ndarray,
    W_hh: np.ndarray,
    b_hh: np.ndarray | None,
    h0: np.ndarray,
    c0: np.ndarray | None,
    pool=FRESH,
) -> LayerTrace:
    """Run one layer over T steps.

    ``ax (T, B, G*H)`` input pre-activations, ``h0 (B, H)`` initial state (``c0`` likewise for the
    LSTM, else ignored). Buffers come from ``pool`` (see ``buffers``), so a returned trace is never
    overwritten while anyone still holds it.
    """
    cell = get_cell(cell_name)
    T, B, _ = ax.shape
    H = h0.shape[1]
    dtype = ax.dtype
    hs = pool.empty((T + 1, B, H), dtype)
    hs[0] = h0
    cs = None
    if cell.HAS_CELL_STATE:
        cs = pool.empty((T + 1, B, H), dtype)
        cs[0] = 0.0 if c0 is None else c0
    acts = hs[1:] if cell.ACT_IS_H else pool.empty(ax.shape, dtype)
    extras = pool.empty((T, B, H), dtype) if cell.EXTRA else None
    trace = LayerTrace(cell_name, hs, cs, acts, extras)
    step_forward = cell.step_forward
    for t in range(T):
        step_forward(ax[t], W_hh, b_hh, trace.step(t))
    return trace


@dataclass
class LayerGrads:
    """What BPTT through one layer returns.

    ``dax (T, B, G*H)`` dL/d(input pre-activation) and ``dah`` dL/d(recurrent pre-activation) per step
    (the same array except for the GRU); ``dh (T, B, H)`` the total dL/dh_t reaching each state from
    the output above and from the future; ``dh0 (B, H)`` and ``dc0`` the gradient reaching the initial
    state (zero gradient flows further back: that is truncated BPTT).
    """

    dax: np.ndarray
    dah: np.ndarray
    dh: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray | None


def layer_backward(trace: LayerTrace, W_hh: np.ndarray, dh_out: np.ndarray, pool=FRESH) -> LayerGrads:
    """Backpropagate through time through one layer.

    ``dh_out (T, B, H)`` is the gradient the layer's outputs h_1..h_T receive from above (the head or
    the next layer). It is consumed: on return it holds the total gradient dL/dh_t (``LayerGrads.dh``).
    """
    cell: ModuleType = get_cell(trace.cell)
    T, B, GH = trace.acts.shape
    dax = pool.empty((T, B, GH), dh_out.dtype)
    dah = pool.empty((T, B, GH), dh_out.dtype) if cell.HAS_RECURRENT_BIAS else dax
    step_backward = cell.step_backward
    W_hh_T = np.ascontiguousarray(W_hh.T)  # (G*H, H)
    dh_next = None  # dL/dh_t arriving from step t+1; none at the last step
    dc_next = None
    for t in range(T - 1, -1, -1):
        dh = dh_out[t]
        if dh_next is not None:
            dh += dh_next  # total dL/dh_t = from the output at t + from the future
        dh_next, dc_next = step_backward(dh, dc_next, trace.step(t), W_hh_T, dax[t], dah[t])
    return LayerGrads(dax=dax, dah=dah, dh=dh_out, dh0=dh_next, dc0=dc_next)


def layer_backward_states(trace: LayerTrace, W_hh: np.ndarray, dh_out: np.ndarray) -> LayerGrads:
    """BPTT through one layer for the states only, via the cell's precomputed Jacobian coefficients.

    Same result as :func:`layer_backward` (to rounding) but with far fewer operations per step, which
    matters for a single batch row (the app's last-step gradient view), where each NumPy call costs
    more than its arithmetic. ``dax`` is filled; ``dah`` is not formed (no weight gradients here).
    """
    cell = get_cell(trace.cell)
    T, B, GH = trace.acts.shape
    coeffs = cell.jacobian(trace)
    W_hh_T = np.ascontiguousarray(W_hh.T)
    dax = np.empty((T, B, GH), dh_out.dtype)
    jacobian_step = cell.jacobian_step
    dh_next = dc_next = None
    for t in range(T - 1, -1, -1):
        dh = dh_out[t]
        if dh_next is not None:
            dh += dh_next
        dh_next, dc_next = jacobian_step(dh, dc_next, coeffs, t, W_hh_T, dax[t])
    return LayerGrads(dax=dax, dah=None, dh=dh_out, dh0=dh_next, dc0=dc_next)
