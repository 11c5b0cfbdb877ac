"""Why gradients vanish or explode, measured on the network itself and independent of the loss.

Backpropagation carries dL/dh_T back to h_t through the Jacobian of the recurrence,

    dL/dh_t = dL/dh_T @ (dh_T/dh_t),    dh_T/dh_t = J_T J_{T-1} ... J_{t+1},   J_s = dh_s/dh_{s-1},

so whatever the loss, a gradient arriving at the last step can reach step t only as large as the spectral
norm (largest singular value) of ``dh_T/dh_t`` allows. This module measures that norm for every lag
``T - t`` (:func:`state_jacobian_norms`), condenses the curve into one per-step growth factor
(:func:`growth_factor`), counts the saturated units that make tanh' ~ 0 (:func:`saturation`) and puts the
three together with sigma_max(W_hh) (``spectral.spectral_stats``) into a regime and a caption
(:func:`classify_regime`), after Pascanu, Mikolov & Bengio (2013), "On the difficulty of training
recurrent neural networks".

Indexing: ``h_t = LayerTrace.hs[t]`` (h_0 first), and arrays over the lags are in *time* order,
``[t]`` for t = 0..T-1, i.e. lags ``T - t = T, T-1, ..., 1`` (``StateJacobianNorms.lags``), so they line
up with the states ``hs[:-1]`` that a gradient from h_T reaches. Each layer's Jacobian is that of its own
recurrence: its input from the layer below is held fixed (the gradient that leaves a layer through its
input is a separate path).

Cost and accuracy of :func:`state_jacobian_norms` (H = 128, T = 64, float32, one layer, one BLAS thread
as the app's training process runs; best of 15 runs in each of three sessions on the development
machine, a 2-core VM that other jobs were using at the time, so read them as upper bounds):

    cell   spectral (default)          of which the products   norm="rms"   SVD of every lag instead
    rnn    14-18 ms                    2.6 ms                  4-5 ms       ~65 ms
    gru    12-15 ms                    4.2 ms                  5 ms         ~65 ms
    lstm   29-32 ms (two curves),      8.2 ms                  10 ms        ~130 ms (two curves)
           20-21 ms with cell_state=False

Against an SVD of the same matrices the spectral norms were within 4e-6 relative for uniform- and
orthogonal-initialised rnn, lstm and gru nets (gains 1 and 2, H = 32 and 128), except where the top two
singular values lie within 1% of each other and swap places between lags (a vanilla RNN with orthogonal
W_hh at gain 1): there a value can be sigma_2 instead of sigma_1, measured up to 4e-3 low. Most of the
time goes into the norms: a vanilla RNN's products keep sigma_2/sigma_1 ~ 0.9-0.98 over all 64 lags,
and each lag costs a dozen NumPy calls per iteration whatever the method.

Pure NumPy, no Qt: the app's mechanism panel draws what this returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.engine.layer import LayerTrace
from rnnviz.engine.model import ForwardPass
from rnnviz.engine.spectral import BlockSpectrum

NORMS = ("spectral", "rms")

# Power iteration (spectral_norm) stops once its estimate of the relative error left is below POWER_RTOL,
# or after POWER_MAX_ITER iterations; a Rayleigh-Ritz step then checks or improves it and starts again,
# at most POWER_RESTARTS times. 1e-6 is far below what a log-scale plot can show; caps of 3 to 8 with
# Rayleigh-Ritz measured about equally fast and accurate, and much better than iterating on alone (the
# vanilla RNN's products keep sigma_2 / sigma_1 ~ 0.9-0.98 over 64 steps: slow for plain power).
POWER_RTOL = 1e-6
POWER_MAX_ITER = 6
POWER_RESTARTS = 2
# Runners-up carried from lag to lag into the Rayleigh-Ritz step.
POWER_TRACKED = 2
# The Jacobian products are formed in the model's dtype; whenever their norm leaves
# [2**-RESCALE_EXP, 2**RESCALE_EXP] they are multiplied by a power of two (exact: no rounding) and the
# exponent is kept aside, so float32 neither overflows on an exploding net nor flushes a vanishing
# one to zero (0.5**200 is below float32's range, not float64's).
RESCALE_EXP = 30

# Largest slopes of the activations: gamma in Pascanu et al.'s bound ||dh_t/dh_{t-1}|| <= gamma *
# sigma_max(W_hh). A vanilla tanh RNN vanishes for sure when sigma_max(W_hh) < 1/gamma, and can
# explode only when sigma_max(W_hh) > 1/gamma.
TANH_GAMMA = 1.0  # tanh'(0) = 1
SIGMOID_GAMMA = 0.25  # sigmoid'(0) = 1/4

# A unit is saturated when its activation is within SATURATION_MARGIN of an end of its range: |h| > 0.95
# for tanh, a < 0.05 or a > 0.95 for a sigmoid gate. There tanh' = 1 - 0.95^2 < 0.1 (a tenth of its
# largest value) and sigmoid' < 0.048 (a fifth of its largest, 1/4): the unit passes almost no gradient.
SATURATION_MARGIN = 0.05

# Growth factor per step back in time above which gradients count as exploding, below which as vanishing.
# +-2% per step is a factor e^(+-1) after 50 steps, about x3.6 / x0.27 over the default 64-step BPTT
# window: inside that band the gradient from the far end of the window still arrives within a small
# factor of the near end's, outside it the gap grows by orders of magnitude over a few hundred steps.
EXPLODING_GROWTH = 1.02
VANISHING_GROWTH = 0.98
# "Saturated" rather than merely "vanishing": at least half of the units pinned near +-1 while
# sigma_max(W_hh) > 1/gamma, i.e. the weights would let gradients grow but most units pass none.
SATURATED_FRACTION = 0.5

REGIMES = ("exploding", "vanishing", "saturated", "stable", "unknown")
_PASCANU = "Pascanu, Mikolov & Bengio 2013"


@dataclass(frozen=True)
class StateJacobianNorms:
    """Norms of the Jacobians from earlier states to the last state of one row, for one layer.

    All arrays ``(T,)`` in time order (``[t]`` for t = 0..T-1, see the module docstring); T is the row's
    own length (a classification row that ends early stops at its end).

    ``lags``: ``T - t`` (T, T-1, ..., 1), the number of steps between h_t and h_T.
    ``dhT_dh``: ``||dh_T/dh_t||``, float64, with c_t held fixed for the LSTM (the state is (h, c)).
    ``dhT_dc``: LSTM only, ``||dh_T/dc_t||``: the path through the cell state (None for other cells).
    ``norm``: "spectral" (largest singular value: the most any unit-size gradient at h_T can be scaled
    by on its way back) or "rms" (``||J||_F / sqrt(H)``: the root-mean-square gain of a random one).
    """

    norm: str
    lags: np.ndarray
    dhT_dh: np.ndarray
    dhT_dc: np.ndarray | None


@dataclass(frozen=True)
class LayerSaturation:
    """Fractions of saturated activations in one layer (over the units, steps and rows counted).

    ``h``: fraction of ``|h_t| > 1 - SATURATION_MARGIN`` (0.95). For the LSTM, h = o * tanh(c) reaches
    0.95 only when both o and tanh(c) do, so this undercounts its saturation; ``c`` counts tanh(c) alone.
    ``c``: LSTM only, fraction of ``|tanh(c_t)| > 0.95`` (None for other cells).
    ``gates``: per gate block of the cell (``cell.GATES``), the fraction within SATURATION_MARGIN of an
    end of the block's range (``cell.GATE_RANGES``): a sigmoid gate (range 0..1) counts a < 0.05 or
    a > 0.95; a tanh block (-1..1: LSTM g, GRU n, the vanilla RNN's h) counts |a| > 0.95.
    """

    h: float
    c: float | None
    gates: dict[str, float]


@dataclass(frozen=True)
class Regime:
    """A named regime of gradient flow and a one- or two-sentence caption that explains it."""

    name: str  # one of REGIMES
    explanation: str


# ---------------------------------------------------------------------------------------------------
# Jacobians through time


def _row_trace(lt: LayerTrace, row: int, T: int) -> LayerTrace:
    """One row's trace cut to its first T steps (views), coefficients then come out as (.., 1, H)."""
    one = lt.rows(slice(row, row + 1))
    return replace(
        one,
        hs=one.hs[: T + 1],
        cs=None if one.cs is None else one.cs[: T + 1],
        acts=one.acts[:T],
        extras=None if one.extras is None else one.extras[:T],
    )


# A chain yields ``(t, dh, dc)`` for t = T-1 down to 0: ``dh (H, H)`` is dh_T/dh_t and ``dc`` dh_T/dc_t
# (LSTM; else None), in the model's dtype, row j = output unit j of h_T, column i = unit i of h_t (the
# usual Jacobian layout: the cells' backward steps map row vectors dL/dh, and row j of the identity
# is dL/dh_T for L = h_T[j]). The consumer may multiply both in place by the same power of two: the
# chain goes on from the scaled arrays (the recurrence is linear in them).
Chain = Iterator[tuple[int, np.ndarray, np.ndarray | None]]


def _chain_generic(cell, trace: LayerTrace, W_hh: np.ndarray) -> Chain:
    """Through the cell's own ``jacobian_step`` with H row vectors at once: G*H^3 per step, any cell."""
    T, G = trace.acts.shape[:2]
    H = W_hh.shape[0]
    coeffs = cell.jacobian(trace)
    W_hh_T = np.ascontiguousarray(W_hh.T)
    dax = np.empty((H, G * H), W_hh.dtype)
    dh, dc = np.eye(H, dtype=W_hh.dtype), None
    for t in range(T - 1, -1, -1):
        dh, dc = cell.jacobian_step(dh, dc, coeffs, t, W_hh_T, dax)
        yield t, dh, dc


def _chain_lstm(cell, trace: LayerTrace, W_hh: np.ndarray) -> Chain:
    """The LSTM's chain with each step's coefficients folded into the weights first (2 H^3 per step).

    From ``lstm.jacobian``'s ``A, K, f`` (the recurrence is written there), with ``Wk = W_hh[:, k*H:(k+1)*H]``
    and one step back from the gradients ``dh``, ``dc`` at step t's output (``dc_t = dh * A + dc``):
    ``dh_prev = dc_t @ (sum_{k=i,f,g} diag(K_k) Wk.T) + dh @ (diag(K_o) Wo.T)``, ``dc_prev = dc_t * f``.
    Two H x H products instead of the generic step's (H, 4H) @ (4H, H), and no strided gate blocks:
    measured 8 ms instead of 15-18 ms for H = 128, T = 64.
    """
    A, K, f = cell.jacobian(trace)  # (T, 1, H), (T, 4, 1, H), (T, 1, H)
    T = A.shape[0]
    H = W_hh.shape[0]
    WT = np.ascontiguousarray(W_hh.T).reshape(4, H, H)  # WT[k] = Wk.T: row j is gate unit j
    K = K.transpose(0, 1, 3, 2)  # (T, 4, H, 1): K[t, k] scales the rows of WT[k]
    P = np.empty((H, H), W_hh.dtype)
    Q = np.empty((H, H), W_hh.dtype)
    scratch = np.empty((H, H), W_hh.dtype)
    dh, dc = np.eye(H, dtype=W_hh.dtype), None
    for t in range(T - 1, -1, -1):
        Kt = K[t]
        np.multiply(Kt[0], WT[0], out=P)
        P += np.multiply(Kt[1], WT[1], out=scratch)
        P += np.multiply(Kt[2], WT[2], out=scratch)
        np.multiply(Kt[3], WT[3], out=Q)
        dc_t = dh * A[t]  # dh_T/dc at step t's output: through h = o tanh(c), and from the future
        if dc is not None:
            dc_t += dc
        dh_prev = dc_t @ P
        dh_prev += dh @ Q
        dh, dc = dh_prev, np.multiply(dc_t, f[t], out=dc_t)
        yield t, dh, dc


def _chain_gru(cell, trace: LayerTrace, W_hh: np.ndarray) -> Chain:
    """The GRU's chain with each step's Jacobian formed first (H^3 per step instead of 3 H^3).

    From ``gru.jacobian``'s ``Kh, z``: ``dh_prev = dh @ (sum_k diag(Kh_k) Wk.T + diag(z))`` (4 ms instead
    of 11 ms for H = 128, T = 64).
    """
    _, Kh, z = cell.jacobian(trace)  # (T, 3, 1, H), (T, 1, H)
    T = z.shape[0]
    H = W_hh.shape[0]
    WT = np.ascontiguousarray(W_hh.T).reshape(3, H, H)
    Kh = Kh.transpose(0, 1, 3, 2)  # (T, 3, H, 1)
    J = np.empty((H, H), W_hh.dtype)
    scratch = np.empty((H, H), W_hh.dtype)
    diagonal = J.reshape(-1)[:: H + 1]  # a view of J's diagonal
    dh = np.eye(H, dtype=W_hh.dtype)
    for t in range(T - 1, -1, -1):
        Kt = Kh[t]
        np.multiply(Kt[0], WT[0], out=J)
        J += np.multiply(Kt[1], WT[1], out=scratch)
        J += np.multiply(Kt[2], WT[2], out=scratch)
        diagonal += z[t, 0]  # the direct path h = ... + z h_{t-1}
        dh = dh @ J
        yield t, dh, None


# The vanilla RNN's generic step is already one H x H product per step. A cell not listed here runs
# through its own jacobian_step (exact for any cell, just G times the work).
_FUSED_CHAINS: dict[str, Callable[..., Chain]] = {"lstm": _chain_lstm, "gru": _chain_gru}


def _chain(params: dict[str, np.ndarray], fp: ForwardPass, row: int, layer: int) -> tuple[Chain, int, bool]:
    cell_name = fp.cfg.cell
    cell = get_cell(cell_name)
    if not 0 <= row < fp.B:
        raise ValueError(f"row must be in 0..{fp.B - 1}, not {row}")
    T = int(fp.lengths[row]) if fp.lengths is not None else fp.T
    trace = _row_trace(fp.layers[layer], row, T)
    make = _FUSED_CHAINS.get(cell_name, _chain_generic)
    return make(cell, trace, params[f"layer{layer}.W_hh"]), T, cell.HAS_CELL_STATE


def _ldexp(x: float, e: int) -> float:
    """``x * 2**e`` in float64, inf past its range (math.ldexp raises instead)."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.inf


def _top_eigenpair(M: np.ndarray) -> tuple[float, np.ndarray]:
    """sigma_max of M and its left singular vector, exactly: from ``M @ M.T``.

    The value from ``eigvalsh`` (about 0.9 ms for 128 x 128, against 2.2 ms for ``eigh``), the vector by
    one step of inverse iteration with a shift just above it: solving with ``A - shift I`` scales each
    eigen-direction by ``1 / (shift - lambda_i)``, ~1e10 / lambda_1 for the top one against ~100 / lambda_1
    for one 1% below it (within a cluster narrower than 1e-10 any of its vectors is as good).
    """
    m = M.shape[0]
    if not np.isfinite(M).all():
        return math.nan, np.full(m, 1.0 / math.sqrt(m))
    A = M @ M.T
    lam = float(np.linalg.eigvalsh(A)[-1])
    if not lam > 0.0:
        return 0.0, np.full(m, 1.0 / math.sqrt(m))
    A.flat[:: m + 1] -= lam * (1.0 + 1e-10)
    x = np.linalg.solve(A, np.random.default_rng(0).standard_normal(m))
    return math.sqrt(lam), x / math.sqrt(x @ x)


def spectral_norm(
    M: np.ndarray,
    start: np.ndarray | None = None,
    *,
    rtol: float = POWER_RTOL,
    max_iter: int = POWER_MAX_ITER,
    restarts: int = POWER_RESTARTS,
) -> tuple[float, np.ndarray]:
    """Largest singular value of a float64 matrix ``M (m, n)``, and a warm start for the next matrix.

    ``start``: what the previous call returned, for a matrix whose top left singular vectors are
    related (the next lag of a Jacobian product: its output space is the same). A ``(k, m)`` array of
    unit rows, the first the top left singular vector's estimate, the others the next Ritz vectors (up
    to POWER_TRACKED).

    Without ``start`` (or with ``max_iter=0``): exactly (:func:`_top_eigenpair`, ~1 ms for 128 x 128).
    With it: power iteration on ``M @ M.T`` from ``start[0]``. Each estimate (``||M.T u||``, ``||M v||``,
    alternately) is a lower bound of sigma_max, rising geometrically; the loop stops when the error
    left, extrapolated from the last two changes (Aitken), is below ``rtol`` relative, or after
    ``max_iter`` iterations. Then a Rayleigh-Ritz step on the span of the iterates and of the other rows
    of ``start`` (a Krylov space, where Lanczos would look, plus the previous matrix's runners-up)
    confirms the estimate to ``rtol`` or gives a better vector to iterate from again (at most
    ``restarts`` times; a restarted loop that converges is accepted: it started from the best vector of
    a wide span). That catches the two ways power iteration fails: close top singular values (slow
    convergence that looks finished), and a start that is the *second* singular vector when the top
    two swap places between lags (no change at all). The result is always a lower bound; when the top
    singular values are within ~1% and the new top is none of the runners-up, it can be sigma_2.
    """
    if start is None or max_iter < 1:
        s, u = _top_eigenpair(M)
        return s, u[None, :]
    u = start[0]
    others = start[1 : 1 + POWER_TRACKED]
    basis = np.empty((max_iter + 1 + POWER_TRACKED, M.shape[0]))
    s = 0.0
    for restart in range(restarts + 1):
        basis[0] = u
        n = 1
        s = 0.0
        converged = False
        for k in range(max_iter):
            # two half-steps, each a lower bound: ||M.T u|| <= ||M v|| <= ||M.T u'|| <= ... <= sigma_max
            v = u @ M  # M.T u
            nv = math.sqrt(v @ v)
            if not nv > 0.0:  # zero (and so at all further lags) or not finite
                return (0.0 if nv == 0.0 else math.nan), start
            d_prev = nv - s  # the change over the previous half-step (meaningless at k = 0)
            v /= nv
            u = M @ v
            s = math.sqrt(u @ u)
            u /= s
            basis[n] = u
            n += 1
            d = s - nv
            # stop when nothing changes, or when the error left if the changes keep shrinking by
            # q = d / d_prev per half-step, d q / (1 - q), is below rtol
            if d <= 1e-3 * rtol * s or (k >= 1 and 0.0 < d < d_prev and d * d / (d_prev - d) <= rtol * s):
                converged = True
                break
        if converged and restart > 0:  # from a Ritz vector, the best of a wide span: no second check
            return s, np.concatenate([u[None, :], others])
        basis[n : n + others.shape[0]] = others
        n += others.shape[0]
        Q, R = np.linalg.qr(basis[:n].T)  # an orthonormal basis of the span
        r = np.abs(np.diag(R))
        Q = Q[:, r > 1e-10 * r.max()]
        B = Q.T @ M
        lam, W = np.linalg.eigh(B @ B.T)
        ritz = (Q @ W[:, ::-1][:, : 1 + POWER_TRACKED]).T  # Ritz vectors, largest Ritz value first
        others = ritz[1:]
        s_ritz = math.sqrt(max(float(lam[-1]), 0.0))
        if s_ritz <= s * (1.0 + rtol):  # nothing better in the span: converged
            best = ritz[0] if s_ritz > s else u
            return max(s, s_ritz), np.concatenate([best[None, :], others])
        u, s = ritz[0], s_ritz
    return s, np.concatenate([u[None, :], others])


def _rms_norm(M: np.ndarray) -> float:
    return math.sqrt(float(np.einsum("ij,ij->", M, M)) / M.shape[1])


def state_jacobian_norms(
    params: dict[str, np.ndarray],
    fp: ForwardPass,
    row: int = 0,
    *,
    norm: str = "spectral",
    cell_state: bool = True,
    rtol: float = POWER_RTOL,
    max_iter: int = POWER_MAX_ITER,
) -> tuple[StateJacobianNorms, ...]:
    """``||dh_T/dh_t||`` (and the LSTM's ``||dh_T/dc_t||``) of one batch row at every lag, per layer.

    ``params`` must be the weights ``fp`` was run with. The Jacobian products are formed in the model's
    dtype, one step back at a time from the identity at h_T, as BPTT would carry H gradients at once
    (rescaled by powers of two to stay in range, see RESCALE_EXP); their norms in float64:
    ``norm="spectral"`` by :func:`spectral_norm`, exactly at lag 1 (no warm start yet) and warm-started
    from the previous lag after that (also exactly at lag 2 after a diagonal lag 1, as the LSTM's
    dh_T/dc_{T-1} = diag(o (1 - tanh^2 c) f): its top singular vector, a unit axis, is a poor start);
    ``norm="rms"`` exactly (``||J||_F / sqrt(H)``, a lower bound of the spectral norm).
    ``cell_state=False`` skips the LSTM's ``dhT_dc`` (None), half the cost of its norms.
    ``rtol``, ``max_iter``: see :func:`spectral_norm` (``max_iter=0``: exact at every lag, ~1 ms each).
    A non-finite forward pass gives NaN from the lag where it enters.

    Cost and accuracy: see the module docstring (H = 128, T = 64, one layer: rnn 14-18 ms, gru 12-15 ms,
    lstm 29-32 ms with both curves; within 4e-6 of SVD except for near-equal top singular values).
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")
    out = []
    for layer in range(len(fp.layers)):
        chain, T, has_c = _chain(params, fp, row, layer)
        out.append(_measure(chain, T, has_c and cell_state, norm, rtol, max_iter))
    return tuple(out)


def _rescale(dh: np.ndarray, dc: np.ndarray | None, size: float) -> int:
    """Bring ``size`` (a norm of dh, dc) back near 1 by a power of two, in place; returns the exponent e.

    Only when it has left [2**-RESCALE_EXP, 2**RESCALE_EXP] (the true matrices are then 2**e times the
    arrays): a power of two changes no bit of the mantissas, so the chain goes on exactly as before.
    """
    if not (size > 0.0 and math.isfinite(size)) or 2.0**-RESCALE_EXP <= size <= 2.0**RESCALE_EXP:
        return 0
    e = min(max(math.frexp(size)[1], -100), 100)  # size ~ 2**e; 2**-e is exact in float32 too
    scale = dh.dtype.type(2.0**-e)
    dh *= scale
    if dc is not None:
        dc *= scale
    return e


def _is_diagonal(M: np.ndarray) -> bool:
    return np.count_nonzero(M) == np.count_nonzero(np.diagonal(M))


def _measure(chain: Chain, T: int, with_c: bool, norm: str, rtol: float, max_iter: int) -> StateJacobianNorms:
    dh_norm = np.full(T, np.nan)
    dc_norm = np.full(T, np.nan) if with_c else None
    exponent = 0  # the chain's arrays are 2**-exponent times the true Jacobians
    start_h = start_c = None  # warm starts from the previous lag

    def measure(M: np.ndarray, start, last_step: bool):
        """The norm of one lag's matrix and the warm start for the next lag."""
        M = M.astype(np.float64)
        if norm != "spectral":
            return _rms_norm(M), None
        s, start = spectral_norm(M, start, rtol=rtol, max_iter=max_iter)
        if last_step and _is_diagonal(M):
            start = None  # after a diagonal lag 1 (the LSTM cell path): lag 2 exact, its warm start was 2e-2 off
        return s, start

    for t, dh, dc in chain:
        s_h, start_h = measure(dh, start_h, t == T - 1)
        dh_norm[t] = _ldexp(s_h, exponent)
        size = s_h
        if with_c:
            s_c, start_c = measure(dc, start_c, t == T - 1)
            dc_norm[t] = _ldexp(s_c, exponent)
            size = max(s_h, s_c)
        elif dc is not None:  # not measured, but it must stay in range too
            size = max(s_h, float(np.max(np.abs(dc))))
        if math.isnan(s_h):
            break  # NaN from here on back (the product only propagates it): left as NaN
        exponent += _rescale(dh, dc, size)
    lags = np.arange(T, 0, -1)
    for a in (lags, dh_norm, dc_norm):
        if a is not None:
            a.setflags(write=False)
    return StateJacobianNorms(norm=norm, lags=lags, dhT_dh=dh_norm, dhT_dc=dc_norm)


def state_jacobians(
    params: dict[str, np.ndarray], fp: ForwardPass, row: int = 0, layer: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """The full Jacobians ``dh_T/dh_t`` and (LSTM) ``dh_T/dc_t``, each ``(T, H, H)`` float64.

    ``[t, j, i]`` = d h_T[j] / d h_t[i] (time order as everywhere here; T the row's length), in the
    layer's own recurrence with its input held fixed: what :func:`state_jacobian_norms` takes the
    norms of, for inspection and tests (the norms never keep all T matrices). Entries beyond float64's
    range come out as inf or 0.
    """
    chain, T, has_c = _chain(params, fp, row, layer)
    H = fp.cfg.hidden_size
    dh_all = np.empty((T, H, H))
    dc_all = np.empty((T, H, H)) if has_c else None
    exponent = 0
    with np.errstate(over="ignore"):
        for t, dh, dc in chain:
            np.ldexp(dh, exponent, out=dh_all[t], dtype=np.float64)
            size = float(np.max(np.abs(dh)))
            if dc is not None:
                np.ldexp(dc, exponent, out=dc_all[t], dtype=np.float64)
                size = max(size, float(np.max(np.abs(dc))))
            exponent += _rescale(dh, dc, size)
    return dh_all, dc_all


def growth_factor(norms: np.ndarray, lags: np.ndarray | None = None) -> float:
    """Per-step growth of a norm curve: ``exp(slope)`` of the least-squares line through log(norm) vs lag.

    ``norms (n,)`` at ``lags (n,)``; any curve works, e.g. ``StateJacobianNorms.dhT_dh`` with its
    ``lags``. The default lags are this module's time order, ``n, n-1, ..., 1``. The fit uses every lag
    whose norm is finite and > 0 (pass a slice to fit a window). If ||dh_T/dh_t|| ~ C g^(T-t), this is
    g: an estimate of exp(top Lyapunov exponent) of the recurrence, > 1 exploding, < 1 vanishing. Fewer
    than two usable lags: 0.0 if some norm is exactly 0 (the product collapsed: nothing gets through),
    else NaN.
    """
    norms = np.asarray(norms, np.float64)
    lags = np.arange(norms.shape[0], 0, -1) if lags is None else np.asarray(lags, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_norm = np.log(norms)
    use = np.isfinite(log_norm)
    if use.sum() < 2:
        return 0.0 if (norms == 0.0).any() else math.nan
    x = lags[use] - lags[use].mean()
    y = log_norm[use]
    denom = float(x @ x)
    if denom == 0.0:
        return math.nan
    return math.exp(float(x @ (y - y.mean())) / denom)


# ---------------------------------------------------------------------------------------------------
# Saturation


def trace_saturation(trace: LayerTrace, valid: np.ndarray | None = None) -> LayerSaturation:
    """Saturated fractions of one layer's trace over the steps where ``valid (T, B)`` is True (default all).

    Counts the computed states h_1..h_T (not h_0, which the layer was given), see :class:`LayerSaturation`.
    """
    cell = get_cell(trace.cell)
    hs = trace.hs[1:]  # (T, B, H)
    T, B, H = hs.shape
    mask = np.ones((T, B), bool) if valid is None else np.asarray(valid, bool)
    if mask.shape != (T, B):
        raise ValueError(f"valid must be (T, B) = ({T}, {B}), got {mask.shape}")
    n = float(mask.sum()) * H

    def fraction(hit: np.ndarray) -> float:  # hit (T, B, H) bool
        return float(np.count_nonzero(hit & mask[:, :, None])) / n if n else math.nan

    hi = 1.0 - SATURATION_MARGIN
    c = None
    if cell.HAS_CELL_STATE:
        c = fraction(np.abs(trace.cs[1:]) > math.atanh(hi))  # |tanh c| > 0.95 without computing tanh
    gates = {}
    for k, (gate, (lo, top)) in enumerate(zip(cell.GATES, cell.GATE_RANGES, strict=True)):
        a = trace.acts[:, k]
        gates[gate] = fraction((a < lo + SATURATION_MARGIN) | (a > top - SATURATION_MARGIN))
    return LayerSaturation(h=fraction(np.abs(hs) > hi), c=c, gates=gates)


def saturation(fp: ForwardPass, row: int | None = None) -> tuple[LayerSaturation, ...]:
    """:func:`trace_saturation` of every layer, for one batch ``row`` or (None) the whole batch.

    A classification row counts only its real steps (``fp.lengths``), not the padding after its end.
    """
    T, B = fp.T, fp.B
    valid = np.ones((T, B), bool)
    if fp.lengths is not None:
        valid = np.arange(T)[:, None] < fp.lengths[None, :]
    if row is not None:
        if not 0 <= row < B:
            raise ValueError(f"row must be in 0..{B - 1}, not {row}")
        one = fp.rows(slice(row, row + 1))
        return tuple(trace_saturation(lt, valid[:, row : row + 1]) for lt in one.layers)
    return tuple(trace_saturation(lt, valid) for lt in fp.layers)


# ---------------------------------------------------------------------------------------------------
# Regime


def recurrent_sigma_max(spectrum: tuple[BlockSpectrum, ...], layer: int) -> float:
    """The largest sigma_max over the gate blocks of one layer's ``W_hh`` (from ``spectral_stats``)."""
    values = [b.sigma_max for b in spectrum if b.layer == layer]
    if not values:
        raise ValueError(f"no block of layer {layer} in the spectrum")
    return max(values)


def classify_regime(growth: float, sigma_max: float, saturated: float, *, gamma: float = TANH_GAMMA) -> Regime:
    """Name the regime of gradient flow and explain it in plain words (Pascanu, Mikolov & Bengio 2013).

    ``growth``: per-step growth factor (:func:`growth_factor` of ``dhT_dh``); ``sigma_max``: of
    ``W_hh`` (:func:`recurrent_sigma_max`); ``saturated``: fraction of saturated units
    (``LayerSaturation.h``); ``gamma``: the largest slope of the activation (TANH_GAMMA, SIGMOID_GAMMA).
    The measured growth decides (EXPLODING_GROWTH, VANISHING_GROWTH); sigma_max and saturation say why.
    "saturated": shrinking although sigma_max > 1/gamma, with at least SATURATED_FRACTION of the units
    pinned. "unknown": no growth could be measured (NaN: fewer than two usable lags).
    Pascanu et al.'s bounds are proven for the vanilla RNN; for the LSTM and GRU the additive cell and
    update paths can keep gradients alive whatever W_hh is, so there sigma_max is only a hint.
    """
    limit = 1.0 / gamma
    if math.isnan(growth):
        return Regime("unknown", "Too few steps with a finite, nonzero Jacobian to measure a growth rate.")
    rate = f"×{growth:.3g} per step back in time"
    bound = f"σ_max(W_hh) = {sigma_max:.2f}"
    if growth > EXPLODING_GROWTH:
        if sigma_max > limit:
            return Regime(
                "exploding", f"Gradients grow {rate}. That needs {bound} > 1/γ = {limit:g}, as here ({_PASCANU})."
            )
        return Regime(
            "exploding",
            f"Gradients grow {rate} although {bound} ≤ 1/γ = {limit:g}, which rules that out in a vanilla RNN "
            f"({_PASCANU}): the gated paths add to the Jacobian.",
        )
    if growth < VANISHING_GROWTH:
        if sigma_max > limit and saturated >= SATURATED_FRACTION:
            slope = "tanh' ≈ 0" if gamma == TANH_GAMMA else "the slope is ≈ 0"
            return Regime(
                "saturated",
                f"W_hh is large ({bound} > 1/γ = {limit:g}) but {saturated:.0%} of the units are pinned at the ends "
                f"of their range, where {slope}, so gradients still shrink {rate} ({_PASCANU}).",
            )
        if sigma_max < limit:
            return Regime(
                "vanishing",
                f"Gradients shrink {rate}. {bound} < 1/γ = {limit:g}, which guarantees that in a vanilla RNN "
                f"({_PASCANU}).",
            )
        return Regime(
            "vanishing",
            f"Gradients shrink {rate} although {bound} ≥ 1/γ = {limit:g}: the activations' slopes (below γ away "
            "from 0) and the gates make each step's Jacobian smaller than W_hh.",
        )
    band = f"±{max(EXPLODING_GROWTH - 1.0, 1.0 - VANISHING_GROWTH):.0%}"
    return Regime(
        "stable",
        f"Gradients keep their size ({rate}, within {band}): a signal from far back still arrives, so "
        "long-range dependencies can be learned.",
    )
