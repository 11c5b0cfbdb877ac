"""Recurrent cells: vanilla RNN, LSTM and GRU, one module each, all with the same step interface.

Convention (all cells)
----------------------
Row vectors, batched: a batch of B inputs is a ``(B, I)`` array and a weight maps by right
multiplication, so the textbook ``W_xh x_t`` is ``x_t @ W_xh`` here with ``W_xh`` of shape ``(I, G*H)``
(the transpose of the column-vector form). ``G`` is the number of gate blocks (RNN 1, LSTM 4, GRU 3),
stored side by side along the last axis in the order the module's ``GATES`` gives.

Per layer the parameters are::

    W_xh  (I, G*H)   input -> gate pre-activations
    W_hh  (H, G*H)   previous hidden state -> gate pre-activations
    b_h   (G*H,)     bias added to the input part
    b_hh  (G*H,)     GRU only: bias of the recurrent part (needed because of r * (W_hn h + b_hn))

Because the input part does not depend on the previous state, the layer computes it for every time
step in one large matrix product, ``ax = X @ W_xh + b_h`` of shape ``(T, B, G*H)``, and a cell step
only receives its row ``ax_t`` of shape ``(B, G*H)``. That is the fast path (one big product instead of
T small ones) and the reason a step takes ``ax_t`` rather than ``x_t``.

Step interface (``cell`` is one of the modules below)::

    cell.step_forward(ax_t, W_hh, b_hh, step)
    dh_prev, dc_prev = cell.step_backward(dh, dc, step, W_hh_T, dax_out, dah_out)

``step`` is a :class:`StepView`: views into the layer's preallocated ``(T+1, B, H)`` / ``(T, B, G*H)``
buffers for one time step. The forward step reads ``step.h_prev`` (and ``step.c_prev``) and writes
``step.h``, ``step.c`` (LSTM), the gate activations ``step.act`` (what the app draws) and
``step.extra``, what the backward pass needs beyond them (LSTM: tanh(c_t); GRU: W_hn h + b_hn). No
step allocates its outputs, so a whole sequence lives in a few contiguous arrays that the trace can
hand to the app without copying.

The backward step writes the gradient of the loss with respect to the input pre-activation into
``dax_out`` and with respect to the recurrent pre-activation ``h_prev @ W_hh (+ b_hh)`` into
``dah_out`` (the same array except for the GRU), so the layer forms every weight gradient afterwards
with one product over all steps. ``dc`` is the gradient reaching the LSTM cell state from step t+1
(``None`` at the last step, and always ``None`` for the other cells). ``W_hh_T`` is ``W_hh.T`` made
contiguous once per sequence: a product with the transposed view measured 30% slower.
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

import numpy as np

from rnnviz.engine.cells import gru, lstm, rnn

CELLS: dict[str, ModuleType] = {"rnn": rnn, "lstm": lstm, "gru": gru}


class StepView(NamedTuple):
    """The arrays of one time step t (all ``(B, ...)`` views into the layer's buffers)."""

    h_prev: np.ndarray  # (B, H)    h_{t-1}
    c_prev: np.ndarray | None  # (B, H)    LSTM c_{t-1}, else None
    h: np.ndarray  # (B, H)    h_t
    c: np.ndarray | None  # (B, H)    LSTM c_t, else None
    act: np.ndarray  # (B, G*H)  gate activations (the vanilla RNN's is h_t itself)
    extra: np.ndarray | None  # (B, H)    LSTM tanh(c_t); GRU W_hn h_{t-1} + b_hn; RNN None


def get_cell(name: str) -> ModuleType:
    """The cell module called ``name`` ("rnn", "lstm" or "gru")."""
    try:
        return CELLS[name]
    except KeyError:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(CELLS)}") from None
