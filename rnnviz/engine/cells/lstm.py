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
``exp`` of a large number), so all four gates go through one ``tanh`` call with a per-column scale.
"""

from __future__ import annotations

import numpy as np

NAME = "LSTM"
GATES = ("i", "f", "g", "o")
HAS_CELL_STATE = True
HAS_RECURRENT_BIAS = False
ACT_IS_H = False
EXTRA = True
GATE_RANGES = ((0.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 1.0))

_cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _gate_constants(shape: tuple[int, int], dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column constants for the fused activation, tiled to the full ``(B, 4H)`` shape.

    ``a = tanh(z * scale) * scale + offset`` is sigmoid on the i, f, o blocks (scale 1/2, offset 1/2)
    and tanh on the g block (scale 1, offset 0). ``low`` is the lower end of each activation's range,
    used for the derivative ``da/dz = (a - low) * (1 - a)``: sigmoid' = a (1 - a), tanh' = (1 + a)(1 - a).
    Tiled rather than broadcast from ``(4H,)``: same-shape operations measured about twice as fast.
    """
    key = (shape, np.dtype(dtype).str)
    if key not in _cache:
        B, H4 = shape
        H = H4 // 4
        scale = np.full(shape, 0.5, dtype=dtype)
        offset = np.full(shape, 0.5, dtype=dtype)
        low = np.zeros(shape, dtype=dtype)
        scale[:, 2 * H : 3 * H] = 1.0
        offset[:, 2 * H : 3 * H] = 0.0
        low[:, 2 * H : 3 * H] = -1.0
        for a in (scale, offset, low):
            a.setflags(write=False)
        _cache[key] = (scale, offset, low)
    return _cache[key]


def step_forward(ax_t, W_hh, b_hh, step):
    """One step forward.

    ``ax_t (B, 4H)`` is ``x_t @ W_xh + b_h``. Writes the gates ``[i f g o]`` into ``step.act (B, 4H)``,
    ``c_t`` into ``step.c``, ``tanh(c_t)`` into ``step.extra`` and ``h_t`` into ``step.h``.
    """
    H = step.h.shape[1]
    a, c = step.act, step.c
    scale, offset, _ = _gate_constants(a.shape, a.dtype)
    np.matmul(step.h_prev, W_hh, out=a)  # (B, 4H) recurrent part
    a += ax_t
    a *= scale
    np.tanh(a, out=a)
    a *= scale
    a += offset  # i, f, o = sigmoid; g = tanh
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    np.multiply(f, step.c_prev, out=c)  # (B, H)
    c += i * g
    np.tanh(c, out=step.extra)  # tanh(c_t)
    np.multiply(o, step.extra, out=step.h)


def step_backward(dh, dc, step, W_hh_T, dax_out, dah_out):
    """One step backward.

    ``dh (B, H)`` is the total dL/dh_t, ``dc (B, H)`` the gradient reaching c_t from step t+1 (or
    None at the last step). Writes dL/dz ``(B, 4H)`` into ``dax_out`` (RNN and LSTM share one
    pre-activation, so ``dah_out`` is the same array). Returns ``(dL/dh_{t-1}, dL/dc_{t-1})``.
    """
    H = dh.shape[1]
    a, tanh_c = step.act, step.extra
    _, _, low = _gate_constants(a.shape, a.dtype)
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    dz = dax_out
    # h = o * tanh(c)  ->  dc += dh * o * (1 - tanh(c)^2)
    dc_t = tanh_c * tanh_c
    np.subtract(1.0, dc_t, out=dc_t)
    dc_t *= o
    dc_t *= dh
    if dc is not None:
        dc_t += dc
    # dL/d(gate activation), written block by block into dz, then times the activation's slope.
    np.multiply(dc_t, g, out=dz[:, :H])  # di = dc * g
    np.multiply(dc_t, step.c_prev, out=dz[:, H : 2 * H])  # df = dc * c_{t-1}
    np.multiply(dc_t, i, out=dz[:, 2 * H : 3 * H])  # dg = dc * i
    np.multiply(dh, tanh_c, out=dz[:, 3 * H :])  # do = dh * tanh(c)
    slope = a - low
    slope *= 1.0 - a  # sigmoid' = a(1-a) on i, f, o;  tanh' = (1+a)(1-a) on g
    dz *= slope
    dc_prev = dc_t * f  # c_t = f * c_{t-1} + ...
    return dz @ W_hh_T, dc_prev


# The backward pass as a linear recurrence with precomputed coefficients (see rnn.jacobian):
#   dc_t  = dc_{t+1} * f_{t+1} + dh_t * o_t (1 - tanh^2 c_t)
#   dz_t  = [dc_t * K_i, dc_t * K_f, dc_t * K_g, dh_t * K_o]   K = activation slope * the other factor
#   dh_{t-1} = dz_t @ W_hh.T,   dc_{t-1} = dc_t * f_t


def jacobian(trace):
    """Coefficients per step: ``A (T, B, H)``, ``K (T, B, 4, H)``, ``f (T, B, H)``."""
    a, tanh_c = trace.acts, trace.extras
    T, B, H4 = a.shape
    H = H4 // 4
    a4 = a.reshape(T, B, 4, H)
    i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]
    A = o * (1.0 - tanh_c * tanh_c)
    low = np.array([0.0, 0.0, -1.0, 0.0], a.dtype)[:, None]  # (4, 1): see _gate_constants
    K = (a4 - low) * (1.0 - a4)  # activation slopes
    K[:, :, 0] *= g  # di = dc * g
    K[:, :, 1] *= trace.cs[:-1]  # df = dc * c_{t-1}
    K[:, :, 2] *= i  # dg = dc * i
    K[:, :, 3] *= tanh_c  # do = dh * tanh(c)
    return A, K, np.ascontiguousarray(f)


def jacobian_step(dh, dc, k, t, W_hh_T, dax_out):
    """One step back with the coefficients ``k[..][t]`` of step t. Returns ``(dL/dh_{t-1}, dL/dc_{t-1})``."""
    A, K, f = k[0][t], k[1][t], k[2][t]
    B, H = dh.shape
    dc_t = dh * A
    if dc is not None:
        dc_t += dc
    dz = dax_out.reshape(B, 4, H)  # dax_out is one contiguous (B, 4H) step: a view
    np.multiply(K[:, :3], dc_t[:, None, :], out=dz[:, :3])
    np.multiply(K[:, 3], dh, out=dz[:, 3])
    return dax_out @ W_hh_T, dc_t * f
