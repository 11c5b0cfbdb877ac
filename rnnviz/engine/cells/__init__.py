"""Recurrent cells: vanilla RNN, LSTM and GRU, one module each, all with the same step interface.

Convention (all cells)
----------------------
Row vectors, batched: a batch of B inputs is a ``(B, I)`` array and a weight maps by right
multiplication, so the textbook ``W_xh x_t`` is ``x_t @ W_xh`` here with ``W_xh`` of shape ``(I, G*H)``
(the transpose of the column-vector form). ``G`` is the number of gate blocks (RNN 1, LSTM 4, GRU 3),
stored side by side along the last axis in the order the module's ``GATES`` gives: block k is
``W[:, k*H:(k+1)*H]``. Per layer the parameters are::

    W_xh  (I, G*H)   input -> gate pre-activations
    W_hh  (H, G*H)   previous hidden state -> gate pre-activations
    b_h   (G*H,)     bias added to the input part
    b_hh  (G*H,)     GRU only: bias of the recurrent part (needed because of r * (W_hn h + b_hn))

In the forward pass a step's gate activations are gate-major: a ``(G, B, H)`` array whose ``[k]`` is
gate k for the whole batch, one contiguous block. Elementwise work on contiguous blocks measured about
30% faster than on the column slices of a ``(B, G*H)`` array, and a cell step is elementwise work plus
one small product, which the layer makes gate by gate with ``W4 (G, H, H)``, ``W4[k] = W_hh[:, k*H:(k+1)*H]``.
The gradients of the backward pass stay ``(B, G*H)`` (gate blocks side by side, as in the
parameters): then the products that follow, one per step with ``W_hh.T`` and the weight gradients
over all steps, are each a single large product, which measured faster than one per gate.

Because the input part does not depend on the previous state, the layer prepares it for every step
before the loop (one large product, or a lookup for one-hot input) and a step only receives its input
pre-activation ``ax_t = x_t @ W_xh + b_h`` as ``(G, B, H)``. That is why a step takes ``ax_t``, not
``x_t``.

Step interface (``cell`` is one of the modules below)::

    cell.step_forward(ax_t, W4, b_hh, step)
    dh_prev, dc_prev = cell.step_backward(dh, dc, step, W_hh_T, dax_out, dah_out)

``step`` is a :class:`StepView`: views into the layer's preallocated buffers for one time step. The
forward step reads ``step.h_prev`` (and ``step.c_prev``) and writes ``step.h``, ``step.c`` (LSTM), the
gate activations ``step.act`` (what the app draws) and ``step.extra``, what the backward pass needs
beyond them (LSTM: tanh(c_t); GRU: W_hn h + b_hn). No step allocates its outputs, so a whole sequence
lives in a few arrays that a trace can hand to the app without copying. ``b_hh`` is the GRU's
recurrent bias tiled to ``(G, B, H)`` (``None`` for the other cells).

The backward step writes dL/d(input pre-activation) into ``dax_out`` ``(B, G*H)`` and dL/d(recurrent
pre-activation ``h_prev @ W_hh (+ b_hh)``) into ``dah_out`` (the same array except for the GRU), so the
layer forms every weight gradient afterwards with one product over all steps. ``W_hh_T`` is ``W_hh.T``
made contiguous once per sequence. ``dc`` is the gradient reaching the LSTM cell state from step t+1
(``None`` at the last step, and always for the other cells).
"""

from __future__ import annotations

from types import ModuleType

from rnnviz.engine.cells import gru, lstm, rnn
from rnnviz.engine.cells.common import StepView, gate_view

__all__ = ["CELLS", "StepView", "gate_view", "get_cell"]

CELLS: dict[str, ModuleType] = {"rnn": rnn, "lstm": lstm, "gru": gru}


def get_cell(name: str) -> ModuleType:
    """The cell module called ``name`` ("rnn", "lstm" or "gru")."""
    try:
        return CELLS[name]
    except KeyError:
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(CELLS)}") from None
