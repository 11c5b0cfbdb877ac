"""Vanilla (Elman) RNN cell.

    h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)

Shapes: ``W_xh (I, H)``, ``W_hh (H, H)``, ``b_h (H,)``. One gate block (G = 1) whose activation is
``h_t`` itself, so the layer passes ``hs[t+1]`` seen as ``(1, B, H)`` as ``step.act`` (``ACT_IS_H``).
"""

from __future__ import annotations

import numpy as np

NAME = "vanilla RNN"
GATES = ("h",)
HAS_CELL_STATE = False
HAS_RECURRENT_BIAS = False
ACT_IS_H = True
EXTRA = False
# Activation ranges of the gate blocks, for fixed colour levels in the app.
GATE_RANGES = ((-1.0, 1.0),)
# What the app calls each gate block (same order as GATES).
GATE_LABELS = ("hidden state h",)
# The gate whose bias ``forget_bias`` sets at initialisation (None: the cell has none).
FORGET_GATE = None
# The walkthrough's formulas (row vectors, as everywhere here), in the names of the numbers it shows:
# the forward step, then per gate block what the backward step computes, then what it sends back.
EQUATIONS = {
    "h": "h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)",
    "dz": ("dh_raw = (1 - h_t^2) * dh",),
    "dh_next": "dh_next = dh_raw W_hh^T",
}


def step_forward(ax_t, W4, b_hh, step):
    """One step forward. ``ax_t (1, B, H)`` is ``x_t @ W_xh + b_h``; writes ``h_t`` into ``step.h``."""
    h = step.h
    np.matmul(step.h_prev, W4[0], out=h)  # (B, H)
    h += ax_t[0]
    np.tanh(h, out=h)


def step_backward(dh, dc, step, W_hh_T, dax_out, dah_out):
    """One step backward: ``dh (B, H)`` is the total dL/dh_t. Returns ``(dL/dh_{t-1}, None)``."""
    dz = dax_out  # (B, H); the input and recurrent parts share z, so dah_out is dax_out
    h = step.h
    # d tanh(z) / dz = 1 - tanh(z)^2 = 1 - h_t^2
    np.multiply(h, h, out=dz)
    np.subtract(1.0, dz, out=dz)
    dz *= dh  # dL/dz_t
    return dz @ W_hh_T, None


# The backward pass of one sequence written as a linear recurrence with precomputed coefficients
# (the nonzero part of each step's Jacobian). Same numbers as step_backward; used for the app's
# one-row "gradient of the last step's loss" view, where the per-call overhead of step_backward on a
# single row would dominate. Tested against step_backward (tests/engine/test_jacobian.py).


def jacobian(trace):
    """Per-step coefficients ``(T, B, H)``: dL/dz_t = dL/dh_t * (1 - h_t^2)."""
    h = trace.hs[1:]
    return (1.0 - h * h,)


def jacobian_step(dh, dc, k, t, W_hh_T, dax_out):
    """One step back with the coefficients ``k[..][t]`` of step t. Returns ``(dL/dh_{t-1}, None)``."""
    np.multiply(dh, k[0][t], out=dax_out)
    return dax_out @ W_hh_T, None
