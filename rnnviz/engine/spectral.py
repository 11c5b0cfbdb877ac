"""Spectral view of the recurrent weights: why gradients vanish or explode.

Backpropagating one step multiplies the gradient by the step's Jacobian, which for the vanilla RNN is
``W_hh @ diag(1 - h_t^2)`` (row-vector form). Its size is governed by ``W_hh``: if the largest singular
value sigma_max is below 1, every step can only shrink the gradient (it vanishes); if the spectral
radius rho (largest |eigenvalue|) is above 1, repeated products grow along the leading eigenvector
(it can explode, until tanh saturation stops it). For the LSTM and GRU each gate's H x H block of
``W_hh`` is reported.

Cost: an eigen-decomposition and a singular-value decomposition per block (milliseconds for H = 128),
so callers compute this every few steps, not every step (see ``training.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.engine.config import ModelConfig


@dataclass(frozen=True)
class BlockSpectrum:
    layer: int
    gate: str  # the cell's gate name ("h" for the vanilla RNN)
    spectral_radius: float  # max |eigenvalue| of the H x H block
    sigma_max: float  # largest singular value
    eigenvalues: np.ndarray | None = field(default=None, compare=False)  # (H,) complex; None if not finite


def spectral_stats(params: dict[str, np.ndarray], cfg: ModelConfig) -> tuple[BlockSpectrum, ...]:
    """rho and sigma_max of every gate block of every layer's ``W_hh``."""
    H = cfg.hidden_size
    gates = get_cell(cfg.cell).GATES
    out = []
    for layer in range(cfg.num_layers):
        W = params[f"layer{layer}.W_hh"].astype(np.float64)
        for k, gate in enumerate(gates):
            block = W[:, k * H : (k + 1) * H]
            if not np.isfinite(block).all():
                out.append(BlockSpectrum(layer, gate, float("nan"), float("nan")))
                continue
            eigenvalues = np.linalg.eigvals(block)
            eigenvalues.setflags(write=False)
            rho = float(np.abs(eigenvalues).max())
            sigma = float(np.linalg.svd(block, compute_uv=False)[0])
            out.append(BlockSpectrum(layer, gate, rho, sigma, eigenvalues))
    return tuple(out)
