"""Gated recurrent unit in the formulation of PyTorch's ``nn.GRU`` (and cuDNN), gate order r, z, n.

    r = sigmoid(x_t @ W_ir + b_ir + h_{t-1} @ W_hr + b_hr)        reset gate
    z = sigmoid(x_t @ W_iz + b_iz + h_{t-1} @ W_hz + b_hz)        update gate
    n = tanh(x_t @ W_in + b_in + r * (h_{t-1} @ W_hn + b_hn))     candidate
    h_t = (1 - z) * n + z * h_{t-1}

Stored fused: ``W_xh = [W_ir W_iz W_in]`` ``(I, 3H)``, ``W_hh = [W_hr W_hz W_hn]`` ``(H, 3H)``,
``b_h = [b_ir b_iz b_in]`` and ``b_hh = [b_hr b_hz b_hn]``, each ``(3H,)``. The recurrent bias is kept
separate (``b_hr``/``b_hz`` are redundant with ``b_ir``/``b_iz``, ``b_hn`` is not, because r multiplies
it) so weights map one to one onto PyTorch's ``weight_ih_l0``/``weight_hh_l0``/``bias_ih_l0``/``bias_hh_l0``
(transposed).
"""

from __future__ import annotations

import threading

import numpy as np

from rnnviz.engine.cells.common import gate_view

NAME = "GRU"
GATES = ("r", "z", "n")
HAS_CELL_STATE = False
HAS_RECURRENT_BIAS = True
ACT_IS_H = False
EXTRA = True
GATE_RANGES = ((0.0, 1.0), (0.0, 1.0), (-1.0, 1.0))
# What the app calls each gate block (same order as GATES).
GATE_LABELS = ("reset gate r", "update gate z", "candidate n")
# The gate whose bias ``forget_bias`` sets at initialisation (None: the cell has none).
FORGET_GATE = None
# The walkthrough's formulas (see rnn.EQUATIONS); dz_k is dL/d(input pre-activation of gate k), what
# step_backward writes into dax (its recurrent part, dah, is r * dz_n in the n block).
EQUATIONS = {
    "h": "h_t = (1 - z) * n + z * h_{t-1}",
    "gates": "r, z = sigmoid(x_t W_x[r z] + h_{t-1} W_h[r z] + b),  "
    "n = tanh(x_t W_xn + b_in + r * (h_{t-1} W_hn + b_hn))",
    "dz": (
        "dz_r = dz_n * (h_{t-1} W_hn + b_hn) * r (1 - r)",
        "dz_z = dh * (h_{t-1} - n) * z (1 - z)",
        "dz_n = dh * (1 - z) * (1 - n^2)",
    ),
    "dh_next": "dh_next = [dz_r dz_z r*dz_n] W_hh^T + dh * z",
}

# Constants and scratch arrays per (B, H, dtype), one set per thread: scratch written by two
# threads at once would corrupt both results.
_local = threading.local()


def _scratch(B: int, H: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (B, H, dtype)  # a np.dtype: no conversion on this per-step path
    if key not in cache:
        if len(cache) >= 2:  # keep the newest shapes only: a long session may try many sizes
            cache.clear()
        cache[key] = (np.empty((3, B, H), dtype), np.empty((3, B, H), dtype))  # forward, backward
    return cache[key]


def step_forward(ax_t, W4, b_hh, step):
    """One step forward.

    ``ax_t (3, B, H)`` is ``x_t @ W_xh + b_h`` and ``b_hh`` the recurrent bias tiled to ``(3, B, H)``.
    Writes ``[r z n]`` into ``step.act (3, B, H)``, ``h_{t-1} @ W_hn + b_hn`` into ``step.extra
    (B, H)`` and ``h_t`` into ``step.h``.
    """
    h_prev, a = step.h_prev, step.act
    B, H = h_prev.shape
    ah, _ = _scratch(B, H, a.dtype)  # the recurrent part h @ W_hh + b_hh
    np.matmul(h_prev, W4, out=ah)  # (3, B, H) recurrent part, gate by gate
    ah += b_hh
    rz = a[:2]
    # sigmoid(v) = 0.5 + 0.5 tanh(v / 2): never overflows
    np.add(ax_t[:2], ah[:2], out=rz)
    rz *= 0.5
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    r, z, n = a
    step.extra[...] = ah[2]  # W_hn h + b_hn, kept for the backward pass
    np.multiply(r, ah[2], out=n)
    n += ax_t[2]
    np.tanh(n, out=n)
    # h = (1 - z) n + z h_prev = n + z (h_prev - n)
    h = step.h
    np.subtract(h_prev, n, out=h)
    h *= z
    h += n


def step_backward(dh, dc, step, W_hh_T, dax_out, dah_out):
    """One step backward.

    ``dh (B, H)`` is the total dL/dh_t. Writes dL/d(input pre-activation) ``(B, 3H)`` into
    ``dax_out`` and dL/d(recurrent pre-activation ``h @ W_hh + b_hh``) into ``dah_out``; they differ
    only in the n block, where the recurrent part is multiplied by r. Returns ``(dL/dh_{t-1}, None)``.
    """
    a, ah_n, h_prev = step.act, step.extra, step.h_prev
    B, H = dh.shape
    _, d = _scratch(B, H, a.dtype)  # gate-major scratch, copied into the (B, 3H) outputs at the end
    r, z, n = a
    dr, dz, dn = d
    # h = n + z (h_prev - n)
    np.subtract(h_prev, n, out=dz)
    dz *= dh  # dL/dz
    np.subtract(1.0, z, out=dn)
    dn *= dh  # dL/dn
    # n = tanh(v): dL/dv = dL/dn (1 - n^2)
    dn *= 1.0 - n * n
    np.multiply(dn, ah_n, out=dr)  # dL/dr = dL/dv * (W_hn h + b_hn)
    # r, z = sigmoid: slope a (1 - a)
    d[:2] *= a[:2]
    d[:2] *= 1.0 - a[:2]
    np.copyto(gate_view(dax_out, 3), d)
    dn *= r  # the recurrent part of v is r * (W_hn h + b_hn)
    np.copyto(gate_view(dah_out, 3), d)
    dh_prev = dah_out @ W_hh_T  # (B, H)
    dh_prev += dh * z  # the direct path z * h_prev
    return dh_prev, None


# The backward pass as a linear recurrence with precomputed coefficients (see rnn.jacobian):
#   dv_n = dh (1 - z)(1 - n^2),  dz_pre = dh (h_prev - n) z (1 - z),  dr_pre = dv_n (W_hn h + b_hn) r (1 - r)
#   dax = dh * Kx,  dah = dh * Kh  (Kh differs from Kx only in the n block, times r)
#   dh_{t-1} = dah @ W_hh.T + dh * z


def jacobian(trace):
    """Coefficients per step: ``Kx, Kh (T, 3, B, H)`` and ``z (T, B, H)``."""
    a, ah_n, h_prev = trace.acts, trace.extras, trace.hs[:-1]
    r, z, n = a[:, 0], a[:, 1], a[:, 2]
    Kx = np.empty(a.shape, a.dtype)
    np.multiply(1.0 - z, 1.0 - n * n, out=Kx[:, 2])
    np.multiply(Kx[:, 2] * ah_n, r * (1.0 - r), out=Kx[:, 0])
    np.multiply(h_prev - n, z * (1.0 - z), out=Kx[:, 1])
    Kh = Kx.copy()
    Kh[:, 2] *= r
    return Kx, Kh, np.ascontiguousarray(z)


def jacobian_step(dh, dc, k, t, W_hh_T, dax_out):
    """One step back with the coefficients ``k[..][t]`` of step t. Returns ``(dL/dh_{t-1}, None)``."""
    Kx, Kh, z = k[0][t], k[1][t], k[2][t]
    B, H = dh.shape
    np.multiply(Kx, dh, out=gate_view(dax_out, 3))
    dah = np.empty_like(dax_out)
    np.multiply(Kh, dh, out=gate_view(dah, 3))
    dh_prev = dah @ W_hh_T
    dh_prev += dh * z
    return dh_prev, None
