"""What the cells share: the per-step view of the layer buffers and a small helper."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class StepView(NamedTuple):
    """The arrays of one time step t (all views into the layer's buffers)."""

    h_prev: np.ndarray  # (B, H)     h_{t-1}
    c_prev: np.ndarray | None  # (B, H)     LSTM c_{t-1}, else None
    h: np.ndarray  # (B, H)     h_t
    c: np.ndarray | None  # (B, H)     LSTM c_t, else None
    act: np.ndarray  # (G, B, H)  gate activations (the vanilla RNN's is h_t itself)
    extra: np.ndarray | None  # (B, H)     LSTM tanh(c_t); GRU W_hn h_{t-1} + b_hn; RNN None


def gate_view(rows: np.ndarray, G: int) -> np.ndarray:
    """A ``(B, G*H)`` array seen gate-major, ``(G, B, H)`` (a view: writing into it writes ``rows``)."""
    B, GH = rows.shape
    return rows.reshape(B, G, GH // G).transpose(1, 0, 2)
