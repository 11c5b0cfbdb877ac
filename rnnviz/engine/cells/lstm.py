"""Long short-term memory cell, gate order i, f, g, o (as PyTorch and cuDNN).

    [z_i z_f z_g z_o] = x_t @ W_xh + h_{t-1} @ W_hh + b_h          (B, 4H)
    i = sigmoid(z_i)   input gate        f = sigmoid(z_f)   forget gate
    g = tanh(z_g)      cell candidate    o = sigmoid(z_o)   output gate
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Shapes: ``W_xh (I, 4H)``, ``W_hh (H, 4H)``, ``b_h (4H,)``; block k of the last axis,
``[:, k*H:(k+1)*H]``, belongs to gate ``GATES[k]``. The forget-gate bias (block f of ``b_h``) is
usually started at 1 so the cell remembers by default (Jozefowicz et al., 2015).

Sigmoid is computed as ``0.5 + 0.5 * tanh(z / 2)``: the same function, but it never overflows (no
``exp`` of a large number), so all four gates go through one ``tanh`` call with per-gate scales.
"""

from __future__ import annotations

import threading

import numpy as np

from rnnviz.engine.cells.common import gate_view

NAME = "LSTM"
GATES = ("i", "f", "g", "o")
HAS_CELL_STATE = True
HAS_RECURRENT_BIAS = False
ACT_IS_H = False
EXTRA = True
GATE_RANGES = ((0.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
# What the app calls each gate block (same order as GATES).
GATE_LABELS = ("input gate i", "forget gate f", "candidate g", "output gate o")
# The gate whose bias ``forget_bias`` sets at initialisation (None: the cell has none).
FORGET_GATE = "f"
# The walkthrough's formulas (see rnn.EQUATIONS); dz_k is dL/d(pre-activation of gate k), what
# step_backward writes into dax, and dc = dh * o * (1 - tanh(c_t)^2) + dc_next its cell-state gradient.
EQUATIONS = {
    "h": "h_t = o * tanh(c_t),  c_t = f * c_{t-1} + i * g",
    "gates": "[i f g o] = [sigmoid sigmoid tanh sigmoid](x_t W_xh + h_{t-1} W_hh + b_h)",
    "c": "c_t = f * c_{t-1} + i * g",
    "dz": (
        "dz_i = dc * g * i (1 - i)",
        "dz_f = dc * c_{t-1} * f (1 - f)",
        "dz_g = dc * i * (1 - g^2)",
        "dz_o = dh * tanh(c_t) * o (1 - o)",
    ),
    "dh_next": "dh_next = [dz_i dz_f dz_g dz_o] W_hh^T",
    "dc_next": "dc_next = dc * f,  dc = dh * o * (1 - tanh(c_t)^2) + dc_next(t+1)",
}

# Constants and scratch arrays per (B, H, dtype), one set per thread: scratch written by two
# threads at once would corrupt both results.
_local = threading.local()


def _constants(B: int, H: int, dtype) -> tuple[np.ndarray, ...]:
    """Per-gate constants tiled to ``(4, B, H)``, and scratch arrays, cached per shape.

    ``a = tanh(z * scale) * scale + offset`` is sigmoid on the i, f, o blocks (scale 1/2, offset 1/2)
    and tanh on the g block (scale 1, offset 0). Tiled rather than broadcast: same-shape operations
    measured about twice as fast. Returns ``(scale, offset, slope, one_minus_a, ig, dz)``, the last
    four scratch arrays. ``dtype`` must be a ``np.dtype`` (the key is built without converting it:
    this runs twice per time step).
    """
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (B, H, dtype)
    if key not in cache:
        if len(cache) >= 2:  # keep the newest shapes only: a long session may try many sizes
            cache.clear()
        scale = np.full((4, B, H), 0.5, dtype)
        offset = np.full((4, B, H), 0.5, dtype)
        scale[2], offset[2] = 1.0, 0.0
        for a in (scale, offset):
            a.setflags(write=False)
        scratch = (
            np.empty((4, B, H), dtype),
            np.empty((4, B, H), dtype),
            np.empty((B, H), dtype),
            np.empty((4, B, H), dtype),
        )
        cache[key] = (scale, offset, *scratch)
    return cache[key]


def step_forward(ax_t, W4, b_hh, step):
    """One step forward.

    ``ax_t (4, B, H)`` is ``x_t @ W_xh + b_h``. Writes the gates ``[i f g o]`` into ``step.act
    (4, B, H)``, ``c_t`` into ``step.c``, ``tanh(c_t)`` into ``step.extra`` and ``h_t`` into ``step.h``.
    """
    a, c = step.act, step.c
    B, H = c.shape
    scale, offset, _, _, ig, _ = _constants(B, H, a.dtype)
    np.matmul(step.h_prev, W4, out=a)  # (4, B, H) recurrent part, gate by gate
    a += ax_t
    a *= scale
    np.tanh(a, out=a)
    a *= scale
    a += offset  # i, f, o = sigmoid; g = tanh
    i, f, g, o = a
    np.multiply(f, step.c_prev, out=c)
    np.multiply(i, g, out=ig)
    c += ig  # c_t = f c_{t-1} + i g
    np.tanh(c, out=step.extra)  # tanh(c_t)
    np.multiply(o, step.extra, out=step.h)


def step_backward(dh, dc, step, W_hh_T, dax_out, dah_out):
    """One step backward.

    ``dh (B, H)`` is the total dL/dh_t, ``dc (B, H)`` the gradient reaching c_t from step t+1 (or
    None at the last step). Writes dL/dz ``(B, 4H)`` into ``dax_out`` (RNN and LSTM share one
    pre-activation, so ``dah_out`` is the same array). Returns ``(dL/dh_{t-1}, dL/dc_{t-1})``.
    """
    a, tanh_c = step.act, step.extra
    B, H = dh.shape
    _, _, slope, one_minus_a, scratch, dz = _constants(B, H, a.dtype)
    i, f, g, o = a
    # h = o * tanh(c)  ->  dc += dh * o * (1 - tanh(c)^2)
    dc_t = tanh_c * tanh_c
    np.subtract(1.0, dc_t, out=dc_t)
    dc_t *= o
    dc_t *= dh
    if dc is not None:
        dc_t += dc
    # dL/d(gate activation), block by block, then times each activation's slope
    np.multiply(dc_t, g, out=dz[0])  # di = dc * g
    np.multiply(dc_t, step.c_prev, out=dz[1])  # df = dc * c_{t-1}
    np.multiply(dc_t, i, out=dz[2])  # dg = dc * i
    np.multiply(dh, tanh_c, out=dz[3])  # do = dh * tanh(c)
    # activation slopes: sigmoid' = a (1 - a) on i, f, o; tanh' = (1 - g)(1 + g) on g
    np.subtract(1.0, a, out=one_minus_a)
    np.multiply(a, one_minus_a, out=slope)
    np.add(g, 1.0, out=scratch)
    np.multiply(one_minus_a[2], scratch, out=slope[2])
    dz *= slope
    # dz was built in a small contiguous scratch (it stays in cache); one strided copy puts it into
    # the (B, 4H) layout of dax_out: measured faster than writing each block into dax_out directly.
    np.copyto(gate_view(dax_out, 4), dz)
    return dax_out @ W_hh_T, dc_t * f  # c_t = f * c_{t-1} + ...


# The backward pass as a linear recurrence with precomputed coefficients (see rnn.jacobian):
#   dc_t  = dc_{t+1} * f_{t+1} + dh_t * o_t (1 - tanh^2 c_t)
#   dz_t  = [dc_t * K_i, dc_t * K_f, dc_t * K_g, dh_t * K_o]   K = activation slope * the other factor
#   dh_{t-1} = dz_t @ W_hh.T,   dc_{t-1} = dc_t * f_t


def jacobian(trace):
    """Coefficients per step: ``A (T, B, H)``, ``K (T, 4, B, H)``, ``f (T, B, H)``."""
    a, tanh_c = trace.acts, trace.extras
    i, f, g, o = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    A = o * (1.0 - tanh_c * tanh_c)
    low = np.array([0.0, 0.0, -1.0, 0.0], a.dtype)[:, None, None]  # (4, 1, 1): the ranges' lower ends
    K = (a - low) * (1.0 - a)  # activation slopes: a (1 - a) for sigmoid, (1 + g)(1 - g) for tanh
    K[:, 0] *= g  # di = dc * g
    K[:, 1] *= trace.cs[:-1]  # df = dc * c_{t-1}
    K[:, 2] *= i  # dg = dc * i
    K[:, 3] *= tanh_c  # do = dh * tanh(c)
    return A, K, np.ascontiguousarray(f)


def jacobian_step(dh, dc, k, t, W_hh_T, dax_out):
    """One step back with the coefficients ``k[..][t]`` of step t. Returns ``(dL/dh_{t-1}, dL/dc_{t-1})``."""
    A, K, f = k[0][t], k[1][t], k[2][t]
    dc_t = dh * A
    if dc is not None:
        dc_t += dc
    dz = gate_view(dax_out, 4)
    np.multiply(K[:3], dc_t, out=dz[:3])
    np.multiply(K[3], dh, out=dz[3])
    return dax_out @ W_hh_T, dc_t * f
