"""Small array helpers the forward and backward passes share, chosen because they measured fastest."""

from __future__ import annotations

import numpy as np

from rnnviz.engine.buffers import FRESH

# One-hot matrix products beat np.add.at by ~10x for character vocabularies; for large vocabularies
# the one-hot matrix itself becomes the cost and bincount wins (measured: bench/engine.py, README).
ONE_HOT_MAX_ROWS = 512


def matmul_rows(a: np.ndarray, W: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(..., I) @ (I, K) -> (..., K)`` as one 2-D product, into ``out`` if given (C-contiguous).

    ``np.matmul`` on a 3-D array runs one small product per leading index (a batched matmul); folding
    the leading axes into rows is one large product, about four times faster for (T, B, H) inputs.
    """
    shape = (*a.shape[:-1], W.shape[-1])
    if out is None:
        return (a.reshape(-1, a.shape[-1]) @ W).reshape(shape)
    np.matmul(a.reshape(-1, a.shape[-1]), W, out=out.reshape(-1, W.shape[-1]))
    return out


def sum_rows(a: np.ndarray) -> np.ndarray:
    """Sum over every axis but the last: ``(..., C) -> (C,)`` (a bias gradient).

    A matrix-vector product with ones runs on BLAS and is about twice as fast as ``a.sum(axis=0)``
    on the (T*B, G*H) gradients of a training step.
    """
    a2 = a.reshape(-1, a.shape[-1])
    return np.ones(a2.shape[0], a.dtype) @ a2


def scatter_add_rows(ids: np.ndarray, rows: np.ndarray, n_rows: int, pool=FRESH) -> np.ndarray:
    """``out[v] = sum of rows[k] where ids[k] == v``: the gradient of a table lookup ``table[ids]``.

    ``ids (...)`` integer, ``rows (..., C)``; returns ``(n_rows, C)`` in ``rows``' dtype. This is
    ``onehot(ids).T @ rows``, which is what the gradient of ``onehot(ids) @ W_xh`` is.
    """
    flat_ids = ids.reshape(-1)
    rows2 = rows.reshape(flat_ids.shape[0], -1)
    C = rows2.shape[1]
    if n_rows <= ONE_HOT_MAX_ROWS:
        onehot = pool.zeros((flat_ids.shape[0], n_rows), rows.dtype)
        onehot[np.arange(flat_ids.shape[0]), flat_ids] = 1.0
        return onehot.T @ rows2
    # One bincount over (id, column) pairs: the flat index of rows2[k, j] in the output is id*C + j.
    flat = (flat_ids.astype(np.int64)[:, None] * C + np.arange(C)).reshape(-1)
    out = np.bincount(flat, weights=rows2.reshape(-1), minlength=n_rows * C)
    return out.reshape(n_rows, C).astype(rows.dtype, copy=False)


def row_norms(a: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis: ``(..., H) -> (...)``, in the array's own precision.

    For display only (gradient checks and clipping use float64 sums): a float32 sum of squares
    overflows only once an entry passes about 1e19, far beyond where training has already failed.
    """
    return np.sqrt(np.einsum("...h,...h->...", a, a))
